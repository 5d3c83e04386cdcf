// What the stages need from the manager: one lease request at create, its end at poststop.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "hook/config/hook_config.h"
#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets::hook {

class LeaseClient {
 public:
  virtual ~LeaseClient() = default;
  // One POST /v1/leases, bounded by the configured deadline.
  virtual Result<LeaseGrant> Lease(const LeaseRequest& request) = 0;
  // DELETE /v1/leases/ID; OK also when there was no such lease.
  virtual Status EndLease(std::string_view container_id) = 0;
};

// Makes a client for the manager named in the config. Called only for opted-in containers.
using LeaseClientFactory =
    std::function<Result<std::unique_ptr<LeaseClient>>(const HookConfig& config)>;

// The real client: shared/api_client.h over the configured unix socket.
Result<std::unique_ptr<LeaseClient>> MakeApiLeaseClient(const HookConfig& config);

}  // namespace ocisecrets::hook
