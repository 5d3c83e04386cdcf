// The CDI spec the daemon keeps for engines that add devices from CDI specs (Podman 4.1+,
// Docker 25+, containerd 2; DESIGN.md "Installing into runtimes"): one device per service,
// `oci-secrets.io/service=NAME`, whose container edits add OCI_SECRETS_SERVICE=NAME to
// the container's environment and our hook entries (shared/hook_entry.h) for the mounting
// stage and poststop. The spec holds no secret. Thread-safe: no state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/hook_entry.h"
#include "shared/status.h"

namespace ocisecrets {

inline constexpr std::string_view kCdiVersion = "0.5.0";
// CDI's "vendor/class": devices are named oci-secrets.io/service=NAME.
inline constexpr std::string_view kCdiKind = "oci-secrets.io/service";
// The spec's file name in the spec dir.
inline constexpr std::string_view kCdiSpecFileName = "oci-secrets.json";
// The stage whose hook entry mounts the secrets (the hooks.d files' and the shim's).
inline constexpr std::string_view kCdiMountStage = "prestart";

// The spec document: cdiVersion kCdiVersion, kind kCdiKind, one device per distinct name
// of `services` in sorted order, each with containerEdits {"env":
// ["OCI_SECRETS_SERVICE=NAME"], "hooks": [HookEntry(hook, kCdiMountStage) and
// HookEntry(hook, "poststop"), each with "hookName" first]}. No services: "devices" is
// empty. Two-space indented, final newline; the same input always gives the same text.
std::string CdiSpecJson(std::vector<std::string> services, const HookEntryOptions& hook);

// SPEC_DIR/oci-secrets.json.
std::string CdiSpecPath(std::string_view spec_dir);

// Makes `path` hold `content` (mode 0644): nothing is written when it already holds
// exactly that; else a temporary file in the same directory is renamed over it, so that
// an engine reads the old spec or the new one, never part of one. Creates the directory
// (0755) when missing, not its parents. Returns whether it wrote; else the errno's
// Status (PosixError) naming the path: NotFound "CDI spec dir DIR: ..." without a parent.
Result<bool> WriteCdiSpec(const std::string& path, const std::string& content);

// Removes `path`. Returns whether it existed; else the errno's Status naming it.
Result<bool> RemoveCdiSpec(const std::string& path);

}  // namespace ocisecrets
