#include "manager/node/local_uplink.h"

#include <algorithm>
#include <set>

namespace ocisecrets {

namespace {
constexpr std::chrono::milliseconds kSlice{250};
}  // namespace

Result<ChangesResponse> LocalUplink::Wait(const ChangesRequest& request,
                                          std::chrono::steady_clock::time_point deadline) {
  std::set<std::string> interest(request.secrets.begin(), request.secrets.end());
  interest.insert(request.services.begin(), request.services.end());
  const auto end = std::min(deadline, std::chrono::steady_clock::now() +
                                          std::chrono::milliseconds(request.wait_ms));
  const std::uint64_t nudges = nudges_.load();
  for (;;) {
    auto slice_end = std::min(end, std::chrono::steady_clock::now() + kSlice);
    ChangesResponse r = feed_->Wait(request.epoch, request.since, interest, slice_end);
    if (r.reset || !r.changed.empty() || interrupted_ || nudges_.load() != nudges ||
        std::chrono::steady_clock::now() >= end) {
      return r;
    }
  }
}

Result<LeaseGrant> LocalUplink::Renew(const LeaseRequest& request) {
  LeaseRequest local = request;
  local.node_id = node_id_;
  ASSIGN_OR_RETURN(LeaseOutcome outcome, registry_->Lease(local), "");
  return std::move(outcome.grant);
}

Status LocalUplink::ReportHeld(const HeldReport& report) {
  return registry_->RecordHeld(node_id_, report);
}

Status LocalUplink::End(std::string_view container_id) {
  return registry_->EndLease(container_id, node_id_).status();
}

}  // namespace ocisecrets
