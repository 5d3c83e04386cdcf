// The hook's stages. prestart and createRuntime mount the secrets (install the hook at
// one of them, not both); poststop ends the lease.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "hook/stages/lease_client.h"

namespace ocisecrets::hook {

// kFromState: no stage on the command line (a hooks.d file has one argument list for both
// of its stages): "creating"/"created" in the state means prestart, "stopped" poststop.
enum class Stage { kPrestart, kCreateRuntime, kPoststop, kFromState };

// "prestart", "createRuntime", "poststop"; nullopt for anything else.
std::optional<Stage> ParseStage(std::string_view name);
const char* StageName(Stage stage);

// Where the hook's configuration comes from.
struct ConfigSource {
  std::string path{kDefaultConfigPath};
  bool must_exist = false;  // true when named by --config or OCI_SECRETS_HOOK_CONFIG
};

// Runs `stage` on the state JSON read from `state_fd`. Returns the exit code: 0 on success
// and for containers without the opt-in annotation (no config read, no connection);
// 1 on any failure at create, after writing one line
// "oci-secrets-hook: <stage>: <step>: <cause>" to `err` and to the log. poststop returns 0
// even when the manager cannot be reached (the lease then expires on its own).
int RunStage(Stage stage, int state_fd, const ConfigSource& source,
             const LeaseClientFactory& make_client, std::FILE* err);

}  // namespace ocisecrets::hook
