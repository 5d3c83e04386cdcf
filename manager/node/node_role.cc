#include "manager/node/node_role.h"

#include <utility>

namespace ocisecrets {

NodeRole::NodeRole(NodeRoleOptions options)
    : options_(std::move(options)),
      tracker_(options_.state_dir),
      local_(options_.registry, options_.feed, options_.local_node_id),
      cluster_(options_.worker),
      uplink_(options_.worker, &local_, &cluster_) {
  if (options_.runner == nullptr) return;
  refresher_ = std::make_unique<HookRefresher>(options_.runner);
  LiveUpdaterOptions live;
  live.uplink = &uplink_;
  live.tracker = &tracker_;
  live.refresher = refresher_.get();
  live.audit = options_.audit;
  live.metrics = options_.metrics;
  live.start_time = HostProcessStartTime;
  live.signal_number = UpdateSignalNumber;
  live.log = options_.log;
  updater_ = std::make_unique<LiveUpdater>(std::move(live));
}

Result<std::unique_ptr<NodeRole>> NodeRole::Open(NodeRoleOptions options) {
  std::unique_ptr<NodeRole> role(new NodeRole(std::move(options)));
  RETURN_IF_ERROR(role->tracker_.Load(), "node role");
  return role;
}

NodeRole::~NodeRole() { Stop(); }

Status NodeRole::Track(const LeaseRequest& request, const LeaseGrant& grant) {
  if (updater_ == nullptr) return Status::Ok();  // live updates off: nothing to follow
  ASSIGN_OR_RETURN(std::uint64_t start_time, HostProcessStartTime(request.pid),
                   "container pid " + std::to_string(request.pid));
  RETURN_IF_ERROR(tracker_.Track(request, grant, grant.service_id, start_time, Clock::now()), "");
  uplink_.Nudge();  // the long-poll in progress asks again, naming this container's secrets
  return Status::Ok();
}

void NodeRole::Untrack(std::string_view container_id) { (void)tracker_.Untrack(container_id); }

void NodeRole::Start() {
  if (updater_ != nullptr) updater_->Start();
}

void NodeRole::Stop() {
  if (updater_ != nullptr) updater_->Stop();
}

}  // namespace ocisecrets
