// The cluster of a fault run, all on loopback: 3 etcd members (EtcdCluster), 2 managers on
// the etcd store (the second joined with the manager token) and 2 workers joined through
// both managers (Cluster). Worker slots can be replaced (after `node rm`, a new worker
// joins in the slot), so the run keeps two. Everything is stopped by the destructor, in
// the order workers, managers, etcd.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shared/status.h"
#include "tests/integration/cluster_harness.h"
#include "tests/integration/harness.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::faults {

class RunCluster {
 public:
  // Brings the cluster up; `daemon_env` ("K=V") goes to every daemon. The Status names the
  // part that did not come up (etcd, manager 0, manager 1, worker N) and why.
  static Result<std::unique_ptr<RunCluster>> Start(std::vector<std::string> daemon_env);
  ~RunCluster();
  RunCluster(const RunCluster&) = delete;
  RunCluster& operator=(const RunCluster&) = delete;

  testing::EtcdCluster& etcd() { return *etcd_; }
  itest::Cluster& cluster() { return *cluster_; }
  itest::Daemon& manager(int i) { return cluster_->manager(static_cast<std::size_t>(i)); }
  const std::string& manager_addr(int i) const {
    return cluster_->manager_addr(static_cast<std::size_t>(i));
  }

  // The daemon in worker slot `slot` now. Thread-safe; the pointer stays valid for the
  // cluster's life (a replaced worker is stopped, not freed).
  itest::Daemon* worker(int slot) const;
  // A new worker, started and joined through both managers, into `slot` (at the start,
  // and after a `node rm`: the caller stops the old one first).
  Status ReplaceWorker(int slot);
  // Every daemon ever started here (managers and workers, replaced ones too).
  std::vector<const itest::Daemon*> Daemons() const;
  // Where the etcd members keep their data dirs and logs.
  const std::string& etcd_dir() const { return etcd_dir_; }
  // Restarts every daemon with `env` from now on (Daemon::set_env, Stop, Start), and
  // workers that join later too: a test-only switch armed after the set-up. The Status
  // names the daemon that failed.
  Status RestartAllWith(const std::vector<std::string>& env);

 private:
  RunCluster() = default;

  itest::TempDir dir_;
  std::string etcd_dir_;
  std::unique_ptr<testing::EtcdCluster> etcd_;
  std::unique_ptr<itest::Cluster> cluster_;
  mutable std::mutex mu_;
  std::vector<itest::Daemon*> slots_;
  std::vector<itest::Daemon*> all_workers_;
  std::vector<std::string> armed_env_;  // RestartAllWith's, for workers that join later
};

}  // namespace ocisecrets::faults
