// The load of a fault run, on threads, recorded into a Recorder: on each worker slot a
// starter keeps up to three runc containers of service "fault-app" running (one start at
// a time, the oldest stopped to make room), reading their granted secrets at the start;
// a sampler reads every running container's secrets; on each manager a writer creates,
// rotates and grants (service update) secrets through the CLI; a reader runs `secret ps`.
// Every payload is unique and printable, begins with the run's marker and is padded, so
// that a partial read is visible and a scan for the marker finds any copy.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shared/status.h"
#include "tests/faults/history.h"
#include "tests/faults/run_cluster.h"
#include "tests/integration/running_container.h"

namespace ocisecrets::faults {

// The two secrets every workload container holds: "fault-g0" (written through manager 0)
// and "fault-g1" (through manager 1).
std::string GrantedSecret(int manager);
inline constexpr char kAppService[] = "fault-app";

// Sleeps `ms` in steps of 50 ms, less once stop() is true; false when it was. Every wait
// of a run goes through it, so a signal or a stopping load cuts it short.
bool NapUnless(std::int64_t ms, const std::function<bool()>& stop);

class Workload {
 public:
  // `marker` begins every payload (and is what the payload scans look for).
  Workload(RunCluster& cluster, Recorder& recorder, std::string marker);
  ~Workload();  // Stop()
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // Milliseconds since the run began (the History's clock).
  std::int64_t Now() const;
  // A fresh payload for `secret`: the marker, the secret, a counter, padding, "-END".
  std::string NewPayload(const std::string& secret);
  const std::string& marker() const { return marker_; }

  // The granted secrets and the services (fault-app and one fault-aux-M per manager),
  // through the CLI and recorded; then one container on each worker must read them.
  // The Status says which step failed.
  Status Arrange();
  // "K=V" added to the env of the hook's entries of every container started from now on
  // (the hook's fault points). Call it before Start().
  void set_hook_env(std::vector<std::string> env) { hook_env_ = std::move(env); }
  // Starts every thread.
  void Start();
  // Stops every thread (the containers keep running).
  void Stop();

  // While paused a slot's starter starts nothing; Pause returns once it is idle.
  void Pause(int slot);
  void Resume(int slot);
  // The containers running on `slot` now.
  std::vector<std::shared_ptr<itest::RunningContainer>> Containers(int slot) const;
  // Stops every container of `slot` (each scanned for payloads after its stop).
  void StopContainers(int slot);
  // Starts one container of `service` on `slot`'s worker now (recorded as a start); null
  // when it did not start.
  std::shared_ptr<itest::RunningContainer> StartOne(int slot, const std::string& service);
  // Reads c's granted secrets now, recorded as ReadOps of `when`.
  void ReadAll(const itest::RunningContainer& c, ReadWhen when);
  // Stops `c` and scans its dir (bundle, rootfs, hook log) for the marker.
  void Retire(const std::shared_ptr<itest::RunningContainer>& c);

  // One CLI write through manager m, recorded; true when acknowledged.
  bool Create(int m, const std::string& name);
  bool Rotate(int m, const std::string& name);
  bool UpdateService(int m, const std::string& service, const std::string& secret, bool add);

  // The files under `roots` holding the marker or its base64, recorded as PayloadHits;
  // counts the files looked at.
  void Scan(const std::vector<std::string>& roots);
  // The same for a text (a CLI's output, etcd's keyspace) that came from `where`.
  void ScanText(const std::string& text, const std::string& where);

 private:
  struct Slot {
    std::vector<std::shared_ptr<itest::RunningContainer>> running;
    bool paused = false;
    bool busy = false;
  };
  void StarterLoop(int slot);
  void SamplerLoop();
  void WriterLoop(int m);
  void PsLoop();
  bool Nap(int ms) { return NapUnless(ms, [this] { return stop_.load(); }); }

  RunCluster& cluster_;
  Recorder& rec_;
  std::string marker_;
  std::string marker_b64_;
  std::vector<std::string> hook_env_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<bool> stop_{false};
  std::atomic<int> counter_{0};
  mutable std::mutex mu_;
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
};

}  // namespace ocisecrets::faults
