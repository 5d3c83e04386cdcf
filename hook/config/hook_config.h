// The hook's own configuration, /etc/oci-secrets/hook.json. Read only from the path given
// by --config or OCI_SECRETS_HOOK_CONFIG or the default: never from the container.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/names.h"
#include "shared/status.h"
#include "shared/validation.h"

namespace ocisecrets::hook {

inline constexpr std::string_view kDefaultConfigPath = kDefaultHookConfigPath;
inline constexpr std::string_view kConfigEnv = kHookConfigEnv;

struct HookConfig {
  // Where the manager listens: "unix:///path" (or a bare absolute path).
  std::string manager{kDefaultManagerAddress};
  // Bound on the lease request. Runtimes kill a hook at its `timeout` (10 s as installed).
  std::chrono::milliseconds deadline{5000};
  // Where secrets go when the service names no secrets dir.
  std::string secrets_dir{kDefaultSecretsDir};
  // The same for Windows containers (validated; this Linux hook refuses them).
  std::string windows_secrets_dir{kWindowsDefaultSecretsDir};
  // Size limit of the secrets tmpfs.
  std::uint64_t tmpfs_size_bytes = 16 << 20;
  // One line per start and per failure; "" disables the log file.
  std::string log_file{kDefaultHookLogPath};
};

// Parses hook.json. Every key is optional; an unknown key, a wrong type or a value out of
// range (deadline_ms 1..60000, tmpfs_size_bytes 4096..1 GiB, secrets_dir absolute without
// "..", windows_secrets_dir a valid Windows path) is InvalidArgument naming the key.
Result<HookConfig> ParseHookConfig(std::string_view json);

// Reads and parses the file at `path`. When the file does not exist: the defaults if
// `must_exist` is false (the built-in default path), NotFound otherwise.
Result<HookConfig> LoadHookConfig(const std::string& path, bool must_exist);

// Checks an absolute Linux directory path inside the container: starts with '/', no ".",
// ".." or empty component (a trailing '/' is fine), no NUL or newline, components at most
// 255 bytes, not "/" itself. InvalidArgument otherwise.
Status ValidateContainerDir(std::string_view path);

}  // namespace ocisecrets::hook
