#include "tests/faults/report.h"

#include <gtest/gtest.h>

namespace ocisecrets::faults {
namespace {

History TwoWindows() {
  History h;
  h.windows = {{1, {FaultKind::kManagerKill, 0}, "manager 0", 1000, 4000, 6000},
               {2, {FaultKind::kNodeRm, 1}, "worker 1", 7000, 9000, 10000}};
  // In the manager kill: two starts (one refused with the hook's line), a write that failed
  // and one acked after the restart; a ps.
  h.starts = {{"a", 0, "n", true, "", 1500, 2000},
              {"b", 0, "n", false, "oci-secrets-hook: prestart: lease: cannot reach", 2100, 5100},
              {"c", 0, "n", true, "", 4200, 4700},
              {"d", 1, "n", false, "runc: exec failed", 7500, 7600}};
  WriteOp failed = NewWrite(WriteKind::kRotate, 0, "s", "p1");
  failed.outcome = Outcome::kFailed;
  failed.start_ms = 1200;
  failed.end_ms = 1300;
  WriteOp acked = NewWrite(WriteKind::kRotate, 1, "s", "p2");
  acked.outcome = Outcome::kAcked;
  acked.start_ms = 4100;
  acked.end_ms = 4500;
  h.writes = {failed, acked};
  h.ps = {{0, true, 1100, 1150}};
  return h;
}

TEST(ReportTest, RowsCountEachWindowsOperations) {
  const History h = TwoWindows();
  const std::vector<InvariantResult> results = CheckAll(h, CheckOptions{});
  const std::vector<FaultRow> rows = FaultRows(h, results, CheckOptions{});
  ASSERT_EQ(rows.size(), kAllFaultKinds.size());
  const FaultRow& kill = rows[0];
  EXPECT_EQ(kill.kind, FaultKind::kManagerKill);
  EXPECT_EQ(kill.runs, 1);
  EXPECT_EQ(kill.tried, 6);
  EXPECT_EQ(kill.succeeded, 4);
  EXPECT_EQ(kill.failed_closed, 2);
  EXPECT_EQ(kill.lost, 0);
  EXPECT_EQ(kill.recover_ms, 700) << "the start after the restart ended at 4700";
  const FaultRow& rm = rows[4];
  EXPECT_EQ(rm.runs, 1);
  EXPECT_EQ(rm.lost, 1) << "a start that failed open is lost";
  EXPECT_EQ(rm.recover_ms, -1);
  EXPECT_EQ(rows[1].runs, 0);
}

TEST(ReportTest, StartsDuringAManagerKillCountFromTheKillToTheRestart) {
  StartsDuringKill s = StartsDuringManagerKill(TwoWindows());
  EXPECT_EQ(s.tried, 2);
  EXPECT_EQ(s.succeeded, 1);
}

TEST(ReportTest, TheReportHasTheSeedTheTableTheInvariantsAndTheVerdict) {
  const History h = TwoWindows();
  const std::vector<InvariantResult> results = CheckAll(h, CheckOptions{});
  const std::string report =
      FormatReport(77, false, FaultRows(h, results, CheckOptions{}), results, StartsDuringManagerKill(h));
  EXPECT_NE(report.find("seed: 77 (replay: packaging/faults.sh --seed 77)"), std::string::npos)
      << report;
  EXPECT_NE(report.find("| fault | runs | tried | succeeded | failed closed | lost | time to recover |"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("| manager-kill | 1 | 6 | 4 | 2 | 0 | 700 ms |"), std::string::npos) << report;
  EXPECT_NE(report.find("| node-rm | 1 | 1 | 0 | 0 | 1 | - |"), std::string::npos) << report;
  EXPECT_NE(report.find("PASS acknowledged-writes: "), std::string::npos) << report;
  EXPECT_NE(report.find("FAIL starts-fail-closed (first-violated): the start of d on worker 1 "
                        "failed without the hook's line"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("starts during a manager kill: 1/2 succeeded (50.0 %)"), std::string::npos)
      << report;
  EXPECT_EQ(report.substr(report.rfind("fault run:")), "fault run: FAIL seed=77\n");
}

TEST(ReportTest, ACleanRunPasses) {
  History h;
  const std::vector<InvariantResult> results = CheckAll(h, CheckOptions{});
  const std::string report =
      FormatReport(5, true, FaultRows(h, results, CheckOptions{}), results, StartsDuringManagerKill(h));
  EXPECT_EQ(report.substr(report.rfind("fault run:")), "fault run: PASS seed=5\n");
  EXPECT_EQ(report.find("FAIL"), std::string::npos) << report;
  // A quick run's seed replays only with --quick.
  EXPECT_NE(report.find("seed: 5 (replay: packaging/faults.sh --quick --seed 5)"), std::string::npos)
      << report;
  const std::string noted = FormatReport(5, true, FaultRows(h, results, CheckOptions{}), results,
                                         StartsDuringManagerKill(h), "mounts left behind\n");
  EXPECT_EQ(noted.substr(noted.rfind("fault run:")), "fault run: FAIL seed=5\n");
}

}  // namespace
}  // namespace ocisecrets::faults
