// The shim's settings: which real runtime to exec and which hook entries to add.
// Read from /etc/oci-secrets/runtime.json (or the file OCI_SECRETS_RUNTIME_CONFIG names).
#pragma once

#include <string>
#include <string_view>

#include "shared/hook_entry.h"
#include "shared/names.h"
#include "shared/status.h"

namespace ocisecrets {

struct ShimConfig {
  // The real runtime; a bare name is looked up in PATH, then the system directories.
  std::string runtime_path = "runc";
  // The hook binary the added entries run (absolute).
  std::string hook_path = std::string(kInstalledHookPath);
  // Passed to the hook as "--config FILE" when not empty; else the hook's default.
  std::string hook_config;
  // "prestart" (runc, crun) or "createRuntime": the stage of the mounting entry.
  std::string hook_stage = "prestart";
  // Seconds the runtime gives each hook entry before killing it.
  int hook_timeout = kDefaultHookTimeoutSeconds;

  // The entries' shape for the shared builder (shared/hook_entry.h).
  HookEntryOptions EntryOptions() const { return {hook_path, hook_config, hook_timeout}; }
};

// Parses runtime.json: an object with the optional keys runtime_path, hook_path,
// hook_config, hook_stage, hook_timeout. Unknown keys, wrong types, a relative hook_path,
// an unknown stage or a timeout outside 1..300 are InvalidArgument.
Result<ShimConfig> ParseShimConfig(std::string_view json);

// Loads the configuration: the file named by OCI_SECRETS_RUNTIME_CONFIG (which must
// exist), else the default path (defaults when it is missing). OCI_SECRETS_RUNTIME, when
// set and not empty, overrides runtime_path.
Result<ShimConfig> LoadShimConfig();

}  // namespace ocisecrets
