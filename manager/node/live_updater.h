// The node role's live updates (DESIGN.md "Live updates", plan steps 3 and 5): a thread
// long-polls the uplink for changes to the secrets and services the tracked containers
// hold; each affected container's lease is renewed (Renewal), and when the grant's files
// differ from what it holds, its tmpfs is swapped by `oci-secrets-hook refresh` (up to
// `parallel` at once). Then: refreshed -> tracked anew, reported (ReportHeld), audited
// ("live.update"; "live.revoke" for a secret taken away) and counted; skipped (the
// container is gone) -> untracked, its lease ended; failed -> retried with backoff, one
// log line per container until it succeeds. A grant's RefreshAt schedules a renewal at
// that time; every liveness period, containers whose pid is gone or whose start time
// differs are untracked and their leases ended. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "manager/api/audit.h"
#include "manager/api/metrics.h"
#include "manager/node/container_tracker.h"
#include "manager/node/uplink.h"
#include "shared/refresh_plan.h"

namespace ocisecrets {

// Runs one refresh plan (the launcher and the hook in the daemon; a fake in tests).
// Thread-safe.
class Refresher {
 public:
  virtual ~Refresher() = default;
  virtual RefreshOutcome Refresh(const RefreshPlan& plan,
                                 std::chrono::steady_clock::time_point deadline) = 0;
};

struct LiveUpdaterOptions {
  Uplink* uplink = nullptr;            // required
  ContainerTracker* tracker = nullptr; // required
  Refresher* refresher = nullptr;      // required
  AuditSink* audit = nullptr;          // may be null
  Metrics* metrics = nullptr;          // may be null
  // Field 22 of /proc/PID/stat (NotFound when the process is gone). Required.
  std::function<Result<std::uint64_t>(int pid)> start_time;
  // The number of a signal named as a service's UpdateSignal; 0 for none or unknown.
  std::function<int(std::string_view name)> signal_number;
  std::function<TimePoint()> clock;                 // default: the system clock
  std::function<void(const std::string&)> log;      // default: stderr
  std::chrono::milliseconds wait{25000};            // the long-poll's WaitMs
  std::chrono::milliseconds liveness_period{10000};
  std::chrono::milliseconds refresh_deadline{15000};  // one hook run (it stops itself at 10 s)
  std::chrono::seconds max_backoff{60};
  int parallel = 4;
};

class LiveUpdater {
 public:
  explicit LiveUpdater(LiveUpdaterOptions options);
  ~LiveUpdater();  // Stop()
  LiveUpdater(const LiveUpdater&) = delete;
  LiveUpdater& operator=(const LiveUpdater&) = delete;

  // Starts the long-poll and the timer threads. Stop() interrupts the uplink's wait and
  // joins them (a ClusterUplink's wait may take up to its WaitMs to end).
  void Start();
  void Stop();

  // One long-poll: waits up to `wait` for a change, then updates every affected container
  // (all on a Reset and on the first call, which also learns where the feed is: changes
  // missed while the daemon was down are applied then). The
  // uplink's error when it cannot be reached. (The poll thread's body; tests call it.)
  Status PollOnce(std::chrono::milliseconds wait);
  // What is due at clock(): the liveness check (every liveness_period), the renewals of
  // RefreshAt and of failed refreshes whose backoff has passed. (The timer thread's body.)
  void Tick();
  // Checks every tracked container now: pid gone or start time differs -> untracked, lease
  // ended.
  void CheckLiveness();

 private:
  struct Retry {
    TimePoint at{};
    std::chrono::seconds backoff{0};
    bool logged = false;
  };
  // Renews and refreshes each of ids' containers, up to `parallel` at once.
  void UpdateAll(const std::vector<std::string>& container_ids, TimePoint changed_at);
  void UpdateOne(const std::string& container_id, TimePoint changed_at);
  void Forget(const std::string& container_id, const std::string& why);
  void Failed(const std::string& container_id, const std::string& why);
  void Audit(const TrackedContainer& before, const LeaseGrant& after);
  ChangesRequest Interest() const;
  void PollLoop();
  void TimerLoop();

  LiveUpdaterOptions options_;
  std::mutex update_mu_;  // one round of updates at a time

  mutable std::mutex mu_;
  std::string epoch_;
  std::uint64_t since_ = 0;
  bool started_poll_ = false;
  std::map<std::string, Retry> retries_;
  TimePoint next_liveness_{};

  std::condition_variable cv_;
  bool stop_ = false;
  std::thread poll_thread_;
  std::thread timer_thread_;
};

}  // namespace ocisecrets
