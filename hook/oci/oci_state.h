// What the runtime tells the hook: the OCI state JSON on stdin and the bundle's config.json.
// Only the fields the hook needs are kept. Parsing never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/names.h"
#include "shared/opt_in.h"
#include "shared/status.h"

namespace ocisecrets::hook {

// The opt-in annotation (shared/names.h): its value names the service whose secrets the
// container gets.
using ::ocisecrets::kServiceAnnotation;

// Documents the hook reads (state, config.json, hook.json) are refused above this size.
inline constexpr std::size_t kMaxDocumentBytes = 1 << 20;

using Annotations = std::map<std::string, std::string>;

// The OCI runtime state (runtime-spec "state"), as runc and crun write it to a hook's stdin.
struct ContainerState {
  std::string id;
  std::string status;   // "creating", "created", "running", "stopped"
  int pid = 0;          // 0 when absent (poststop)
  std::string bundle;   // absolute path of the bundle directory
  bool has_annotations = false;
  Annotations annotations;
};

// One line of linux.uidMappings / gidMappings: container ids [container_id,
// container_id + size) are host ids [host_id, host_id + size).
struct IdMapping {
  std::uint32_t container_id = 0;
  std::uint32_t host_id = 0;
  std::uint32_t size = 0;
};

// The parts of BUNDLE/config.json the hook uses.
struct BundleConfig {
  std::string root_path;     // absolute: root.path, joined to the bundle when relative
  bool root_readonly = false;
  Annotations annotations;
  // kServiceEnv's value in process.env (shared/opt_in.h ServiceFromEnv), when set.
  std::optional<std::string> env_service;
  bool has_user_namespace = false;  // linux.namespaces has a "user" entry
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  bool is_windows = false;          // the config has a "windows" section
};

// Parses the state JSON. InvalidArgument names the bad field: missing or empty "id",
// missing or relative "bundle", a negative or non-integer "pid", non-string annotations.
Result<ContainerState> ParseState(std::string_view json);

// Parses config.json. `bundle` (absolute) anchors a relative root.path. A missing
// root.path is InvalidArgument, so is a process.env that is not an array of strings or
// sets kServiceEnv badly (ServiceFromEnv). Mappings with size 0 or that overflow 32 bits are refused.
Result<BundleConfig> ParseBundleConfig(std::string_view json, std::string_view bundle);

// Reads BUNDLE/config.json (at most kMaxDocumentBytes) and parses it.
// NotFound when the file is missing; InvalidArgument when too large or malformed.
Result<BundleConfig> LoadBundleConfig(std::string_view bundle);

// The text of BUNDLE/config.json, at most kMaxDocumentBytes; errors as LoadBundleConfig's.
Result<std::string> ReadBundleConfigText(std::string_view bundle);

// False only when `config_json` cannot hold kServiceAnnotation or kServiceEnv anywhere:
// neither name's bytes are there and no \u escape could spell them (their characters have
// no other escape). A
// container that did not opt in then passes without its config.json being parsed: Docker's
// and Podman's hold a seccomp profile, about 17 KB of JSON and 0.35 ms of parsing a stage.
bool MayNameService(std::string_view config_json);

// Reads all of fd up to `limit` bytes; InvalidArgument "larger than N bytes" beyond it.
Result<std::string> ReadAllBounded(int fd, std::size_t limit);

// The service the container opted in to: the annotation from the state, else from
// config.json (`config` may be null when not yet read). nullopt: not opted in.
std::optional<std::string> ServiceAnnotation(const ContainerState& state,
                                             const BundleConfig* config);

// The container's opt-in (shared/opt_in.h ChooseOptIn): ServiceAnnotation, and
// kServiceEnv from config.json's process.env (`config` null: only the annotation).
// The two naming different services is InvalidArgument.
Result<std::optional<OptIn>> ServiceOptIn(const ContainerState& state, const BundleConfig* config);

}  // namespace ocisecrets::hook
