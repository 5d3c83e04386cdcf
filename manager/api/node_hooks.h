// What the router tells the node role (manager/node) about the local hook's leases, so
// that it can keep those containers up to date (DESIGN.md "Live updates").
#pragma once

#include <string_view>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

class NodeHooks {
 public:
  virtual ~NodeHooks() = default;
  // A hook on this machine was granted a lease: request as the hook sent it (Pid > 0,
  // DefaultSecretsDir, TmpfsSize) and the grant (its ServiceID names the service). An
  // error refuses the start (the router ends the lease again): a container the node role
  // cannot follow would miss a revoke.
  virtual Status Track(const LeaseRequest& request, const LeaseGrant& grant) = 0;
  // The container's lease ended (its poststop): it is no longer followed.
  virtual void Untrack(std::string_view container_id) = 0;
};

}  // namespace ocisecrets
