// The names and default paths every binary agrees on: the opt-in annotation, the
// environment variables, where the daemon, the hook and the shim live and keep their files.
// Written once here; the hook, the shim, the daemon, the CLI and `oci-secrets install` use
// these constants, and the files under runtime-config/ spell the same values.
#pragma once

#include <string_view>

namespace ocisecrets {

// The opt-in annotation: its value names the service whose secrets the container gets.
inline constexpr std::string_view kServiceAnnotation = "org.oci-secrets.service";

// ---- environment variables ----

// The service, in the container's process.env, for engines that cannot pass annotations.
inline constexpr std::string_view kServiceEnv = "OCI_SECRETS_SERVICE";
// The CLI's manager address (as --host).
inline constexpr std::string_view kHostEnv = "OCI_SECRETS_HOST";
// The hook's configuration file (as --config).
inline constexpr std::string_view kHookConfigEnv = "OCI_SECRETS_HOOK_CONFIG";
// The shim's configuration file, and the real runtime it execs.
inline constexpr std::string_view kShimConfigEnv = "OCI_SECRETS_RUNTIME_CONFIG";
inline constexpr std::string_view kShimRuntimeEnv = "OCI_SECRETS_RUNTIME";

// ---- default paths ----

// The daemon's socket, and the same as a manager address.
inline constexpr std::string_view kDefaultSocketPath = "/run/oci-secrets/manager.sock";
inline constexpr std::string_view kDefaultManagerAddress = "unix:///run/oci-secrets/manager.sock";
inline constexpr std::string_view kDefaultStateDir = "/var/lib/oci-secrets";
// Where the package installs the hook and the shim; engine configurations name these.
inline constexpr std::string_view kInstalledHookPath = "/usr/libexec/oci-secrets/oci-secrets-hook";
inline constexpr std::string_view kInstalledShimPath =
    "/usr/libexec/oci-secrets/oci-secrets-runtime";
// The hook's configuration (optional: defaults when missing) and its log.
inline constexpr std::string_view kDefaultHookConfigPath = "/etc/oci-secrets/hook.json";
inline constexpr std::string_view kDefaultHookLogPath = "/var/log/oci-secrets/hook.log";
// The shim's configuration (optional: defaults when missing).
inline constexpr std::string_view kDefaultShimConfigPath = "/etc/oci-secrets/runtime.json";
// What `oci-secrets install` recorded (under its --root).
inline constexpr std::string_view kInstallManifestPath =
    "/var/lib/oci-secrets/install-manifest.json";

// The shim's first argument binding a runtime to one service (Docker < 24).
inline constexpr std::string_view kShimServiceFlag = "--oci-secrets-service";

}  // namespace ocisecrets
