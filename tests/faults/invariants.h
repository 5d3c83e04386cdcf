// The six invariants of a fault run (names fixed by the plan, in report order), each a
// pure function of a History: what held, with counts, or the first thing that did not and
// the fault events that led to it. No result ever holds a payload: a wrong value is told
// by its length and what it is (a prefix of a written value, another secret's, none).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/faults/history.h"

namespace ocisecrets::faults {

inline constexpr const char* kInvariantNames[] = {
    "acknowledged-writes", "no-lease-after-node-rm", "whole-reads",
    "convergence",         "no-payload-at-rest",     "starts-fail-closed"};

struct CheckOptions {
  std::int64_t convergence_bound_ms = 15000;
  // A start must succeed or fail with the hook's line within this (hook deadline + margin).
  std::int64_t start_limit_ms = 8000;
};

struct InvariantResult {
  std::string name;
  bool held = true;
  std::string counts;  // what was checked, e.g. "412 reads, 412 whole"
  std::string what;    // when it failed: the first violation and the events that led to it
  // When the violating operations happened (ms since the run began), earliest first; a
  // write lost or a start that failed open is one "lost" operation of the report's table.
  std::vector<std::int64_t> event_ms;
};

InvariantResult CheckAcknowledgedWrites(const History& h);
InvariantResult CheckNoLeaseAfterNodeRm(const History& h);
InvariantResult CheckWholeReads(const History& h);
InvariantResult CheckConvergence(const History& h, const CheckOptions& options);
InvariantResult CheckNoPayloadAtRest(const History& h);
InvariantResult CheckStartsFailClosed(const History& h, const CheckOptions& options);

// All six, in kInvariantNames order.
std::vector<InvariantResult> CheckAll(const History& h, const CheckOptions& options);

// The index of the invariant violated first: the failing one whose earliest violating
// event came first (ties: the earlier in the list); -1 when all held.
int FirstViolated(const std::vector<InvariantResult>& results);

// The fault windows of h that were open at t_ms or ended in the 10 s before it, as
// "after manager-kill of manager 0 (step 1, 12.3 s to 15.9 s)"; "no fault before it"
// when none.
std::string EventsBefore(const History& h, std::int64_t t_ms);

// A start's error names the hook's one line: "oci-secrets-hook: <stage>: ...".
bool HasHookLine(const std::string& error);

}  // namespace ocisecrets::faults
