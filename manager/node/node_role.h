// The node role of oci-secretsd (DESIGN.md "The daemon", "Live updates"): it follows the
// containers the local hook leased (NodeHooks, from the router) in the ContainerTracker
// and keeps them up to date with the LiveUpdater, through the uplink that applies at the
// time: the cluster's managers while this machine is a worker, else this process's own
// registry and change feed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "manager/api/audit.h"
#include "manager/api/metrics.h"
#include "manager/api/node_hooks.h"
#include "manager/live/change_feed.h"
#include "manager/node/cluster_uplink.h"
#include "manager/node/container_tracker.h"
#include "manager/node/launcher.h"
#include "manager/node/live_updater.h"
#include "manager/node/local_uplink.h"
#include "manager/node/plan_glue.h"
#include "manager/registry/registry.h"
#include "manager/worker/worker.h"

namespace ocisecrets {

struct NodeRoleOptions {
  std::string state_dir;          // containers.json lives here
  Registry* registry = nullptr;   // required: the local uplink
  ChangeFeed* feed = nullptr;     // required: the local uplink
  std::string local_node_id;      // the registry's local node
  Worker* worker = nullptr;       // required: the cluster uplink while it is active
  // Runs `oci-secrets-hook refresh` (the launcher). Null: live updates are off: no
  // container is followed, Start does nothing.
  RefreshRunner* runner = nullptr;
  AuditSink* audit = nullptr;     // may be null
  Metrics* metrics = nullptr;     // may be null
  std::function<void(const std::string&)> log;  // default stderr
};

class NodeRole final : public NodeHooks {
 public:
  // Loads STATE_DIR/containers.json (a damaged one is refused, naming it).
  static Result<std::unique_ptr<NodeRole>> Open(NodeRoleOptions options);
  ~NodeRole() override;  // Stop()

  // NodeHooks. Track reads the pid's start time now (the container is being created: its
  // init waits for the runtime's start), then records it. Untrack forgets it.
  Status Track(const LeaseRequest& request, const LeaseGrant& grant) override;
  void Untrack(std::string_view container_id) override;

  // Starts and stops the live updater (call Stop before the registry goes).
  void Start();
  void Stop();

  bool live_updates() const { return options_.runner != nullptr; }
  ContainerTracker& tracker() { return tracker_; }

 private:
  explicit NodeRole(NodeRoleOptions options);

  // The uplink of the moment: the worker's managers while it is active, else local.
  class ActiveUplink final : public Uplink {
   public:
    ActiveUplink(Worker* worker, Uplink* local, Uplink* cluster)
        : worker_(worker), local_(local), cluster_(cluster) {}
    Result<ChangesResponse> Wait(const ChangesRequest& request,
                                 std::chrono::steady_clock::time_point deadline) override {
      return Pick()->Wait(request, deadline);
    }
    Result<LeaseGrant> Renew(const LeaseRequest& request) override { return Pick()->Renew(request); }
    Status ReportHeld(const HeldReport& report) override { return Pick()->ReportHeld(report); }
    Status End(std::string_view container_id) override { return Pick()->End(container_id); }
    void Interrupt() override {
      local_->Interrupt();
      cluster_->Interrupt();
    }
    void Nudge() override {
      local_->Nudge();
      cluster_->Nudge();
    }
    std::string node_id() const override { return Pick()->node_id(); }

   private:
    Uplink* Pick() const { return worker_->active() ? cluster_ : local_; }
    Worker* worker_;
    Uplink* local_;
    Uplink* cluster_;
  };

  NodeRoleOptions options_;
  ContainerTracker tracker_;
  LocalUplink local_;
  ClusterUplink cluster_;
  ActiveUplink uplink_;
  std::unique_ptr<HookRefresher> refresher_;
  std::unique_ptr<LiveUpdater> updater_;
};

}  // namespace ocisecrets
