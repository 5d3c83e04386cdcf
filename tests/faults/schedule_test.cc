#include "tests/faults/schedule.h"

#include <gtest/gtest.h>

#include <set>

namespace ocisecrets::faults {
namespace {

using std::chrono::seconds;

TEST(ScheduleTest, TheSameSeedGivesTheSameSchedule) {
  EXPECT_EQ(MakeSchedule(42, false, seconds(600)), MakeSchedule(42, false, seconds(600)));
  EXPECT_EQ(MakeSchedule(42, true, seconds(0)), MakeSchedule(42, true, seconds(0)));
}

TEST(ScheduleTest, AnotherSeedGivesAnotherSchedule) {
  EXPECT_NE(MakeSchedule(1, false, seconds(600)), MakeSchedule(2, false, seconds(600)));
}

TEST(ScheduleTest, TheOneAtATimePhaseComesFirstWithEveryKindOnceInTheFixedOrder) {
  const std::vector<FaultStep> steps = MakeSchedule(7, false, seconds(600));
  ASSERT_GT(steps.size(), kAllFaultKinds.size());
  for (std::size_t i = 0; i < kAllFaultKinds.size(); ++i) {
    EXPECT_EQ(steps[i].kind, kAllFaultKinds[i]) << i;
    EXPECT_FALSE(steps[i].random_phase) << i;
  }
  for (std::size_t i = kAllFaultKinds.size(); i < steps.size(); ++i) {
    EXPECT_TRUE(steps[i].random_phase) << i;
  }
}

TEST(ScheduleTest, AFullRunsRandomPhaseHoldsEveryKind) {
  const std::vector<FaultStep> steps = MakeSchedule(11, false, seconds(600));
  std::set<FaultKind> random_kinds;
  for (const FaultStep& s : steps) {
    if (s.random_phase) random_kinds.insert(s.kind);
  }
  EXPECT_EQ(random_kinds.size(), kAllFaultKinds.size());
}

TEST(ScheduleTest, QuickIsTheOneAtATimePhaseAlone) {
  const std::vector<FaultStep> steps = MakeSchedule(3, true, seconds(0));
  ASSERT_EQ(steps.size(), kAllFaultKinds.size());
  for (const FaultStep& s : steps) EXPECT_FALSE(s.random_phase);
}

TEST(ScheduleTest, TargetsStayInRange) {
  for (const FaultStep& s : MakeSchedule(5, false, seconds(3600))) {
    const int limit = s.kind == FaultKind::kEtcdKill ? kEtcdMembers
                      : (s.kind == FaultKind::kManagerKill || s.kind == FaultKind::kRotateKeyKill)
                          ? kManagers
                          : kWorkers;
    EXPECT_GE(s.target, 0) << Describe(s);
    EXPECT_LT(s.target, limit) << Describe(s);
    EXPECT_GT(s.hold.count(), 0) << Describe(s);
  }
}

TEST(ScheduleTest, DescribeNamesTheKindTheTargetAndTheLengths) {
  FaultStep s{FaultKind::kWorkerCut, 1, std::chrono::milliseconds(2000),
              std::chrono::milliseconds(4000), false};
  EXPECT_EQ(Describe(s), "worker-cut of worker 1 for 4000 ms after 2000 ms");
}

}  // namespace
}  // namespace ocisecrets::faults
