// What the router asks of the daemon's CDI spec keeper (manager/node/cdi_keeper.h), as an
// interface so that the router needs no manager/node: the routes GET, PUT and DELETE
// /v1/node/cdi (docs/API.md "CDI"). Implementations are thread-safe.
#pragma once

#include <string_view>

#include "shared/cdi_client.h"
#include "shared/status.h"

namespace ocisecrets {

// What the CDI routes answer (409) on a worker's daemon: its registry does not hold the
// cluster's services.
inline constexpr std::string_view kCdiOnWorkerMessage =
    "this node is a worker: the CDI spec is kept by a manager's daemon (run oci-secrets "
    "install cdi on a manager)";
// What they answer (409) on a daemon without a keeper.
inline constexpr std::string_view kCdiNotServedMessage = "CDI specs are not kept by this daemon";

class CdiHooks {
 public:
  virtual ~CdiHooks() = default;
  // Keeps the spec current in settings.spec_dir from now on (replacing the spec of a
  // previous dir), recorded so that a restarted daemon goes on. InvalidArgument for bad
  // settings (CheckCdiSettings); IOError naming the file it cannot write.
  virtual Result<CdiStatus> Enable(const CdiSettings& settings) = 0;
  // Removes the spec and the record. Not enabled: Ok, Changed false.
  virtual Result<CdiStatus> Disable() = 0;
  // As of now (Changed false).
  virtual Result<CdiStatus> Current() = 0;
};

}  // namespace ocisecrets
