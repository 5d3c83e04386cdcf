// The faults themselves: each FaultStep applied to the run's cluster under load, held,
// and healed (a restart, a SIGCONT, a new worker in a removed one's place), with what the
// step must record on the way (reads while a worker's daemon is down, the node removal,
// the key rotation and whether it completed).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "shared/status.h"
#include "tests/faults/history.h"
#include "tests/faults/run_cluster.h"
#include "tests/faults/schedule.h"
#include "tests/faults/workload.h"

namespace ocisecrets::faults {

class Injector {
 public:
  // `interrupted` says when to cut a hold short (a signal): the heal still runs.
  Injector(RunCluster& cluster, Workload& workload, Recorder& recorder,
           std::function<bool()> interrupted);

  // What the step hits, for the report: "manager 1 (127.0.0.1:PORT)", "etcd member 2",
  // "worker 0 (node ID)".
  std::string Target(const FaultStep& step) const;

  // Injects the fault (at *begin_ms), holds it for step.hold, heals it (at *heal_ms).
  // A Status that is not ok means the heal failed (a daemon that did not come back): the
  // run cannot go on; it names what and why.
  Status Apply(const FaultStep& step, std::int64_t* begin_ms, std::int64_t* heal_ms);

 private:
  void Hold(std::int64_t ms);
  Status Restart(itest::Daemon& daemon, const std::string& what);
  Status ManagerKill(const FaultStep& step);
  Status EtcdKill(const FaultStep& step);
  Status WorkerKill(const FaultStep& step);
  Status WorkerCut(const FaultStep& step);
  Status NodeRm(const FaultStep& step, std::int64_t* heal_ms);
  Status RotateKeyKill(const FaultStep& step);

  RunCluster& cluster_;
  Workload& workload_;
  Recorder& rec_;
  std::function<bool()> interrupted_;
};

}  // namespace ocisecrets::faults
