// CDI (DESIGN.md "Installing into runtimes"): the daemon keeps a CDI spec, one device per
// service, current in a spec dir. What `oci-secrets install cdi` sends the daemon
// (PUT /v1/node/cdi), what the daemon reports (GET, PUT and DELETE /v1/node/cdi), and
// those calls over an ApiClient. The spec's own names live with its builder
// (manager/node/cdi_spec.h). Thread-safe: no state (the ApiClient is not).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/api_client.h"
#include "shared/hook_entry.h"
#include "shared/status.h"

namespace ocisecrets {

// Where CDI engines look for specs besides /etc/cdi; `install cdi`'s default.
inline constexpr std::string_view kDefaultCdiSpecDir = "/var/run/cdi";

// PUT /v1/node/cdi: {"SpecDir", "HookPath", "HookConfig", "HookTimeout"}. The daemon
// persists it (STATE_DIR/cdi.json) and writes the spec's hook entries from it.
struct CdiSettings {
  std::string spec_dir = std::string(kDefaultCdiSpecDir);
  std::string hook_path = std::string(kInstalledHookPath);
  std::string hook_config;  // empty: the hook's own default
  int hook_timeout = kDefaultHookTimeoutSeconds;
};

// Ok, or InvalidArgument naming the field: SpecDir and HookPath absolute without "..",
// HookConfig empty or absolute, HookTimeout within the hook's range.
Status CheckCdiSettings(const CdiSettings& settings);
// The hook entry options the spec's entries are built with.
HookEntryOptions CdiHookOptions(const CdiSettings& settings);

std::string ToJson(const CdiSettings& settings);
// Absent fields keep CdiSettings' defaults; a wrong type is InvalidArgument naming the
// field. Does not check the values (CheckCdiSettings).
Result<CdiSettings> ParseCdiSettings(std::string_view text);

// The answer of every /v1/node/cdi route: {"Enabled", "SpecDir", "SpecFile", "Devices",
// "Changed"}. SpecDir and SpecFile are empty when not enabled; Devices are the device
// names (= service names) the spec holds, sorted; Changed says whether this call changed
// the settings or a file (always false for GET).
struct CdiStatus {
  bool enabled = false;
  std::string spec_dir;
  std::string spec_file;
  std::vector<std::string> devices;
  bool changed = false;
};

std::string ToJson(const CdiStatus& status);
Result<CdiStatus> ParseCdiStatus(std::string_view text);

// PUT /v1/node/cdi: the daemon keeps the spec current in settings.spec_dir from now on.
// FailedPrecondition on a worker's daemon, PermissionDenied for a caller that is not an
// admin on the daemon's unix socket.
Result<CdiStatus> EnableCdi(ApiClient& client, const CdiSettings& settings);
// DELETE /v1/node/cdi: the spec and the daemon's record of it removed. Not enabled: Ok,
// Changed false.
Result<CdiStatus> DisableCdi(ApiClient& client);
// GET /v1/node/cdi.
Result<CdiStatus> GetCdi(ApiClient& client);

}  // namespace ocisecrets
