// The Uplink of a single machine: this process's registry and change feed, in process.
#pragma once

#include <atomic>
#include <string>

#include "manager/live/change_feed.h"
#include "manager/node/uplink.h"
#include "manager/registry/registry.h"

namespace ocisecrets {

class LocalUplink final : public Uplink {
 public:
  // registry and feed must outlive it; node_id: the local node's (RegistryOptions).
  LocalUplink(Registry* registry, ChangeFeed* feed, std::string node_id)
      : registry_(registry), feed_(feed), node_id_(std::move(node_id)) {}

  // ChangeFeed::Wait in slices, so that Interrupt ends it within a slice.
  Result<ChangesResponse> Wait(const ChangesRequest& request,
                               std::chrono::steady_clock::time_point deadline) override;
  // Registry::Lease for the local node.
  Result<LeaseGrant> Renew(const LeaseRequest& request) override;
  Status ReportHeld(const HeldReport& report) override;
  Status End(std::string_view container_id) override;
  void Interrupt() override { interrupted_ = true; }
  void Nudge() override { nudges_.fetch_add(1); }
  std::string node_id() const override { return node_id_; }

 private:
  Registry* registry_;
  ChangeFeed* feed_;
  const std::string node_id_;
  std::atomic<bool> interrupted_{false};
  std::atomic<std::uint64_t> nudges_{0};
};

}  // namespace ocisecrets
