// A whole fault run: the cluster up, the load on, the schedule's faults one after the
// other with the invariants checked after each, the final checks, the report, teardown.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ocisecrets::faults {

struct RunOptions {
  bool quick = false;
  std::uint64_t seed = 1;
  std::chrono::seconds random_phase{540};  // --duration: the random phase of a full run
  std::string report_file;                  // also write the report there
  std::string expect_violation;             // stop at the first violation; it must be this
  // The test-only fault points to arm after the set-up ("NAME[,NAME...]"; empty: none):
  // in every daemon (restarted with OCI_SECRETS_FAULT_POINTS) and in every hook entry.
  std::string fault_points;
};

struct RunOutcome {
  // 0: every invariant held (or the expected one was violated first); 1: an invariant was
  // violated (or not the expected one); 2: the cluster did not come up; 128+N: signal N.
  int exit_code = 0;
  std::string report;
};

// Runs it. `signal` is set (to the signal's number) by whoever catches SIGINT/SIGTERM:
// the run then stops, tears everything down and returns 128+N. Progress goes to stderr,
// the report to stdout (and options.report_file).
RunOutcome RunFaults(const RunOptions& options, const std::atomic<int>& signal);

}  // namespace ocisecrets::faults
