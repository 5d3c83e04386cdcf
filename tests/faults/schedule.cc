#include "tests/faults/schedule.h"

#include <random>

namespace ocisecrets::faults {
namespace {

using std::chrono::milliseconds;

int TargetsOf(FaultKind kind) {
  switch (kind) {
    case FaultKind::kManagerKill:
    case FaultKind::kRotateKeyKill:
      return kManagers;
    case FaultKind::kEtcdKill:
      return kEtcdMembers;
    case FaultKind::kWorkerKill:
    case FaultKind::kWorkerCut:
    case FaultKind::kNodeRm:
      return kWorkers;
  }
  return 1;
}

// A draw in [lo, hi] milliseconds.
milliseconds Between(std::mt19937_64& rng, int lo, int hi) {
  return milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng));
}

FaultStep Draw(std::mt19937_64& rng, FaultKind kind, bool quick, bool random_phase) {
  FaultStep step;
  step.kind = kind;
  step.target = std::uniform_int_distribution<int>(0, TargetsOf(kind) - 1)(rng);
  step.gap = quick ? Between(rng, 1500, 2500) : Between(rng, 2000, 6000);
  step.hold = quick ? Between(rng, 2500, 3500) : Between(rng, 3000, 8000);
  step.random_phase = random_phase;
  return step;
}

}  // namespace

std::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kManagerKill:
      return "manager-kill";
    case FaultKind::kEtcdKill:
      return "etcd-kill";
    case FaultKind::kWorkerKill:
      return "worker-kill";
    case FaultKind::kWorkerCut:
      return "worker-cut";
    case FaultKind::kNodeRm:
      return "node-rm";
    case FaultKind::kRotateKeyKill:
      return "rotate-key-kill";
  }
  return "unknown";
}

bool operator==(const FaultStep& a, const FaultStep& b) {
  return a.kind == b.kind && a.target == b.target && a.gap == b.gap && a.hold == b.hold &&
         a.random_phase == b.random_phase;
}

std::vector<FaultStep> MakeSchedule(std::uint64_t seed, bool quick,
                                    std::chrono::seconds random_phase,
                                    milliseconds per_step_overhead) {
  std::mt19937_64 rng(seed);
  std::vector<FaultStep> steps;
  for (FaultKind kind : kAllFaultKinds) steps.push_back(Draw(rng, kind, quick, false));
  milliseconds planned{0};
  std::uniform_int_distribution<std::size_t> pick(0, kAllFaultKinds.size() - 1);
  while (planned < random_phase) {
    FaultStep step = Draw(rng, kAllFaultKinds[pick(rng)], quick, true);
    planned += step.gap + step.hold + per_step_overhead;
    steps.push_back(step);
  }
  return steps;
}

std::string Describe(const FaultStep& step) {
  const char* what = "manager ";
  if (step.kind == FaultKind::kEtcdKill) what = "etcd member ";
  if (step.kind == FaultKind::kWorkerKill || step.kind == FaultKind::kWorkerCut ||
      step.kind == FaultKind::kNodeRm) {
    what = "worker ";
  }
  return std::string(FaultKindName(step.kind)) + " of " + what + std::to_string(step.target) +
         " for " + std::to_string(step.hold.count()) + " ms after " +
         std::to_string(step.gap.count()) + " ms" + (step.random_phase ? " (random phase)" : "");
}

}  // namespace ocisecrets::faults
