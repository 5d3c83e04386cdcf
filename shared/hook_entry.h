// The hook entry every installer writes: `oci-secrets install` (hooks.d files, runc's
// config.json, through the shim for containerd and Docker) and the shim when it adds the
// hook to BUNDLE/config.json. One builder, so that every entry names the same fixed
// environment and a timeout. Thread-safe: no state.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "shared/names.h"

namespace ocisecrets {

// The only environment a hook entry gets: a fixed PATH, never the container's.
inline constexpr std::string_view kHookEnvPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
// Seconds a runtime gives the hook before killing it: the default and the accepted range.
inline constexpr int kDefaultHookTimeoutSeconds = 10;
inline constexpr int kMinHookTimeoutSeconds = 1;
inline constexpr int kMaxHookTimeoutSeconds = 300;

struct HookEntryOptions {
  // The hook binary (absolute; not checked here).
  std::string hook_path = std::string(kInstalledHookPath);
  // Passed as "--config FILE" when not empty; else the hook reads its default, which may
  // be missing (then the hook's built-in defaults apply).
  std::string hook_config;
  int timeout_seconds = kDefaultHookTimeoutSeconds;
};

// The runtime-spec hook object {path, args, env, timeout}: args are "oci-secrets-hook",
// then "--config FILE" when options.hook_config is set, then `stage` when not empty (with
// no stage the hook takes it from the state's status, for one entry serving several
// stages); env is exactly {kHookEnvPath}. Members in that order.
nlohmann::ordered_json HookEntry(const HookEntryOptions& options, std::string_view stage);

// Which containers a hooks.d document runs the hook for.
enum class HooksDWhen {
  kAnnotated,  // those with the annotation kServiceAnnotation (any value)
  kAlways,     // every container: the hook looks for the opt-in itself, so that the
               // environment variable kServiceEnv (podman-compose) works too
};

// A hooks.d document (Podman, CRI-O; format 1.0.0) that runs HookEntry for `stages` for the
// containers `when` selects. With exactly one stage the entry names it; with several it
// names none. Two-space indented, final newline.
std::string HooksDJson(const HookEntryOptions& options, const std::vector<std::string>& stages,
                       HooksDWhen when = HooksDWhen::kAnnotated);

}  // namespace ocisecrets
