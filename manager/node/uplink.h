// How the node role reaches its manager (DESIGN.md "Live updates"): the long-poll for
// changes, the renewal of a running container's lease, the report of what it applied and
// the end of a container's lease. LocalUplink (local_uplink.h) is the registry and change
// feed of this same process (a single machine); ClusterUplink (cluster_uplink.h) the
// managers of a worker's cluster over mutual TLS. Implementations are thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

class Uplink {
 public:
  virtual ~Uplink() = default;
  // What changed after request.since among its secrets and services (both empty: any),
  // held until a change or until request.wait_ms (or deadline, the sooner) passed; an
  // answer with nothing changed at the end. Unavailable when the manager cannot be had.
  virtual Result<ChangesResponse> Wait(const ChangesRequest& request,
                                       std::chrono::steady_clock::time_point deadline) = 0;
  // Renews the lease of a container that runs (request.renewal set by the caller): the
  // grant, with every payload (wiped with it). The manager's refusal as its Status.
  virtual Result<LeaseGrant> Renew(const LeaseRequest& request) = 0;
  // Records what this node's containers hold now.
  virtual Status ReportHeld(const HeldReport& report) = 0;
  // Ends a container's lease (it is gone). OK when there was none.
  virtual Status End(std::string_view container_id) = 0;
  // Makes a Wait in progress return soon (the daemon stops). May do nothing when the
  // transport cannot be interrupted: the Wait then ends at its own deadline.
  virtual void Interrupt() {}
  // Makes a Wait in progress return soon, to be asked again (a container was tracked: the
  // next Wait names its secrets too). May do nothing when the transport cannot be
  // interrupted: such an uplink keeps its waits short instead.
  virtual void Nudge() {}
  // The node these containers run on (for the audit log).
  virtual std::string node_id() const = 0;
};

}  // namespace ocisecrets
