// The Uplink of a worker: its cluster's managers over mutual TLS, through the Worker
// (POST /v1/changes, POST /v1/leases, POST /v1/leases/held, DELETE /v1/leases/C).
#pragma once

#include "manager/node/uplink.h"
#include "manager/worker/worker.h"

namespace ocisecrets {

class ClusterUplink final : public Uplink {
 public:
  // worker must outlive it and be active while it is used.
  explicit ClusterUplink(Worker* worker) : worker_(worker) {}

  // The long-poll: its read deadline is WaitMs plus a margin, so that a manager holding
  // the request for WaitMs is not taken for a dead one. Not interruptible: WaitMs is capped
  // at 5 s, so a container tracked meanwhile is covered by the next poll within that.
  Result<ChangesResponse> Wait(const ChangesRequest& request,
                               std::chrono::steady_clock::time_point deadline) override;
  Result<LeaseGrant> Renew(const LeaseRequest& request) override;
  Status ReportHeld(const HeldReport& report) override;
  Status End(std::string_view container_id) override;
  std::string node_id() const override;

 private:
  Worker* worker_;
};

}  // namespace ocisecrets
