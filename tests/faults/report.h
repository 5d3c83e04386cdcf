// The report of a fault run: the seed, one table row per fault kind (operations tried in
// that fault's windows, succeeded, failed closed, lost, time to recover), one line per
// invariant, the starts during a manager kill, and the verdict. Pure functions of a
// History and the invariants' results; nothing here holds a payload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/faults/history.h"
#include "tests/faults/invariants.h"

namespace ocisecrets::faults {

struct FaultRow {
  FaultKind kind = FaultKind::kManagerKill;
  int runs = 0;           // how many times the fault was injected
  int tried = 0;          // starts, writes and secret ps begun in its windows
  int succeeded = 0;
  int failed_closed = 0;  // a start refused with the hook's line, a write or ps that failed
  int lost = 0;           // an acknowledged write not found, a start that failed open or hung
  std::int64_t recover_ms = -1;  // the slowest: heal until a start and a write succeeded; -1 none
};

// One row per kind, kAllFaultKinds order (a kind that never ran has runs 0).
std::vector<FaultRow> FaultRows(const History& h, const std::vector<InvariantResult>& results,
                                const CheckOptions& options);

// Starts begun while a manager was down (manager-kill windows, from the kill to the
// restart): how many, and how many succeeded.
struct StartsDuringKill {
  int tried = 0;
  int succeeded = 0;
};
StartsDuringKill StartsDuringManagerKill(const History& h);

// The whole report (its replay command has --quick for a quick run), ending in "fault run: PASS seed=N" or "fault run: FAIL seed=N". It
// passes when every invariant held, no row lost anything and `notes` is empty (notes are
// failures outside the invariants, a line each: a daemon that did not come back, mounts
// left behind).
std::string FormatReport(std::uint64_t seed, bool quick, const std::vector<FaultRow>& rows,
                         const std::vector<InvariantResult>& results,
                         const StartsDuringKill& starts, const std::string& notes = {});

// Whether a report of these rows and results passes (see FormatReport).
bool Passed(const std::vector<FaultRow>& rows, const std::vector<InvariantResult>& results);

}  // namespace ocisecrets::faults
