// Adding the oci-secrets hook entries to an OCI bundle's config.json.
#pragma once

#include <string>
#include <string_view>

#include "hook/runtime/shim_config.h"
#include "shared/names.h"
#include "shared/status.h"

namespace ocisecrets {

enum class EditOutcome {
  kNotOptedIn,      // not an oci-secrets container: nothing to do
  kAlreadyPresent,  // both entries are there already: nothing to do
  kAdded,           // entries added; new_config holds the new text
};

struct ConfigEdit {
  EditOutcome outcome = EditOutcome::kNotOptedIn;
  std::string new_config;  // only for kAdded
};

// Decides what config.json needs. Without an opt-in (the annotation, or kServiceEnv in
// process.env: shared/opt_in.h; the two naming different services is refused), or when
// an entry with the hook's path and stage is already in both the mounting stage and
// poststop, nothing changes. Otherwise the missing entries (shared/hook_entry.h's HookEntry: path, args, a
// fixed env and a timeout) are appended to hooks.<stage> and hooks.poststop, every other
// member kept in its order.
// Invalid JSON, or hooks of the wrong shape, is InvalidArgument.
// `service`, when not empty, is the service this runtime is bound to (the shim's
// --oci-secrets-service, for engines that cannot pass annotations, e.g. Docker < 24): the
// annotation is set to it when absent; an annotation or variable naming another service
// is refused.
Result<ConfigEdit> AddHookEntries(std::string_view config_json, const ShimConfig& config,
                                  std::string_view service = {});

// Reads BUNDLE/config.json (bounded), applies AddHookEntries and, for kAdded, rewrites
// the file atomically with the same mode and owner. Returns the outcome.
Result<EditOutcome> InjectHooksIntoBundle(const std::string& bundle_dir,
                                          const ShimConfig& config,
                                          std::string_view service = {});

}  // namespace ocisecrets
