// The faults of a fault run and the order they come in: first each kind once, in a fixed
// order (the one-at-a-time phase), then, in a full run, a random sequence of the same kinds
// drawn from a std::mt19937_64 seeded with --seed. The schedule is a pure function of the
// seed and the phase lengths, so a seed printed by one run replays the same schedule.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ocisecrets::faults {

enum class FaultKind {
  kManagerKill,    // kill -9 of a manager, then Start again on its state dir
  kEtcdKill,       // kill -9 of an etcd member, then Restart
  kWorkerKill,     // kill -9 of a worker's daemon (its containers keep running), then restart
  kWorkerCut,      // SIGSTOP of a worker's daemon for a while (rotations meanwhile), SIGCONT
  kNodeRm,         // `node rm --force` of a worker while it starts containers; a new one joins
  kRotateKeyKill,  // `cluster rotate-key`, the manager killed right after; restarted
};

// Every kind, in the order of the one-at-a-time phase (and of the report's table).
inline constexpr std::array<FaultKind, 6> kAllFaultKinds = {
    FaultKind::kManagerKill, FaultKind::kEtcdKill, FaultKind::kWorkerKill,
    FaultKind::kWorkerCut,   FaultKind::kNodeRm,   FaultKind::kRotateKeyKill};

// "manager-kill", "etcd-kill", "worker-kill", "worker-cut", "node-rm", "rotate-key-kill".
std::string_view FaultKindName(FaultKind kind);

// How many targets each kind picks from: managers, etcd members, worker slots.
inline constexpr int kManagers = 2;
inline constexpr int kEtcdMembers = 3;
inline constexpr int kWorkers = 2;

struct FaultStep {
  FaultKind kind = FaultKind::kManagerKill;
  int target = 0;                     // manager, etcd member or worker slot (0-based)
  std::chrono::milliseconds gap{0};   // quiet load before the fault
  std::chrono::milliseconds hold{0};  // how long the fault lasts before the heal
  bool random_phase = false;          // false: the one-at-a-time phase
};

// Two steps are the same when every field is.
bool operator==(const FaultStep& a, const FaultStep& b);

// The schedule of a run: the one-at-a-time phase (every kind once, kAllFaultKinds order,
// targets and lengths drawn from the seed), then steps of random kinds until their gaps,
// holds and `per_step_overhead` (the time a step's heal and checks take besides) add up to
// `random_phase` (zero: none, as --quick). `quick` shortens the gaps and holds. Pure.
std::vector<FaultStep> MakeSchedule(std::uint64_t seed, bool quick,
                                    std::chrono::seconds random_phase,
                                    std::chrono::milliseconds per_step_overhead =
                                        std::chrono::seconds(8));

// One line for a step: "worker-cut of worker 1 for 4000 ms after 2000 ms".
std::string Describe(const FaultStep& step);

}  // namespace ocisecrets::faults
