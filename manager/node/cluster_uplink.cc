#include "manager/node/cluster_uplink.h"

#include <algorithm>

namespace ocisecrets {

namespace {
// How much longer than WaitMs the long-poll's answer may take to arrive.
constexpr std::chrono::milliseconds kWaitMargin{5000};
// The longest a worker's long-poll is held. Its HTTP call cannot be interrupted, so a
// container started meanwhile has its secrets asked about by the next poll, this soon.
constexpr std::uint64_t kMaxWaitMs = 5000;
}  // namespace

Result<ChangesResponse> ClusterUplink::Wait(const ChangesRequest& request,
                                            std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
  ChangesRequest wire = request;
  wire.wait_ms = std::min<std::uint64_t>(
      {wire.wait_ms, kMaxWaitMs, static_cast<std::uint64_t>(std::max<long long>(0, left.count()))});
  ASSIGN_OR_RETURN(HttpResponse r,
                   worker_->Call(HttpRequest{"POST", "/v1/changes", ToJson(wire)},
                                 milliseconds(wire.wait_ms) + kWaitMargin),
                   "changes");
  RETURN_IF_ERROR(StatusFromHttp(r.status, r.body), "changes");
  ASSIGN_OR_RETURN(ChangesResponse changes, ParseChangesResponse(r.body), "the manager's changes");
  return changes;
}

Result<LeaseGrant> ClusterUplink::Renew(const LeaseRequest& request) {
  return worker_->Lease(request);
}

Status ClusterUplink::ReportHeld(const HeldReport& report) {
  ASSIGN_OR_RETURN(HttpResponse r,
                   worker_->Call(HttpRequest{"POST", "/v1/leases/held", ToJson(report)},
                                 std::chrono::milliseconds(4000)),
                   "report held versions");
  return StatusFromHttp(r.status, r.body).WithContext("report held versions");
}

Status ClusterUplink::End(std::string_view container_id) { return worker_->EndLease(container_id); }

std::string ClusterUplink::node_id() const {
  auto info = worker_->Inspect();
  return info.ok() ? info->node_id : std::string();
}

}  // namespace ocisecrets
