#include "hook/runtime/bundle_edit.h"

#include <sys/stat.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "shared/file_util.h"
#include "shared/opt_in.h"

namespace ocisecrets {
namespace {

using Json = nlohmann::ordered_json;

// Docker's config.json with its seccomp profile is ~40 KiB; this leaves a wide margin.
constexpr std::size_t kMaxConfigJsonBytes = 16 * 1024 * 1024;

// True when `list` holds an entry running our hook for `stage`.
bool HasEntry(const Json& list, const ShimConfig& config, const std::string& stage) {
  for (const Json& entry : list) {
    if (!entry.is_object()) continue;
    auto path = entry.find("path");
    if (path == entry.end() || !path->is_string() || *path != config.hook_path) continue;
    auto args = entry.find("args");
    if (args == entry.end() || !args->is_array() || args->empty()) continue;
    if (args->back().is_string() && args->back() == stage) return true;
  }
  return false;
}

// kServiceEnv's value in doc's process.env (shared/opt_in.h ServiceFromEnv).
Result<std::optional<std::string>> EnvService(const Json& doc) {
  auto process = doc.find("process");
  if (process == doc.end() || !process->is_object()) return std::optional<std::string>();
  auto env = process->find("env");
  if (env == process->end() || env->is_null()) return std::optional<std::string>();
  if (!env->is_array()) return Status::InvalidArgument("not an array of strings");
  std::vector<std::string> entries;
  for (const Json& e : *env) {
    if (!e.is_string()) return Status::InvalidArgument("not an array of strings");
    entries.push_back(e.get<std::string>());
  }
  return ServiceFromEnv(entries);
}

}  // namespace

Result<ConfigEdit> AddHookEntries(std::string_view config_json, const ShimConfig& config,
                                  std::string_view service) {
  Json doc = Json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("not a JSON object");
  ConfigEdit edit;
  bool changed = false;
  const std::string key(kServiceAnnotation);
  auto annotations = doc.find("annotations");
  if (annotations != doc.end() && !annotations->is_null() && !annotations->is_object()) {
    return Status::InvalidArgument("annotations: not an object");
  }
  bool annotated = annotations != doc.end() && annotations->is_object() &&
                   annotations->contains(key);
  std::optional<std::string> annotation;
  if (annotated) {
    const Json& value = (*annotations)[key];
    if (!value.is_string()) return Status::InvalidArgument("annotation " + key + ": not a string");
    annotation = value.get<std::string>();
  }
  ASSIGN_OR_RETURN(std::optional<std::string> env_service, EnvService(doc), "process.env");
  ASSIGN_OR_RETURN(std::optional<OptIn> opt_in, ChooseOptIn(annotation, env_service), "");
  if (!service.empty()) {
    if (opt_in && opt_in->service != service) {
      return Status::InvalidArgument(std::string(opt_in->source) + " (" + opt_in->service +
                                     ") differs from this runtime's service " +
                                     std::string(service));
    }
    if (!annotated) {
      Json& list = doc["annotations"];
      if (list.is_null()) list = Json::object();
      list[key] = std::string(service);
      changed = true;
    }
  } else if (!opt_in) {
    return edit;
  }

  Json& hooks = doc["hooks"];
  if (hooks.is_null()) hooks = Json::object();
  if (!hooks.is_object()) return Status::InvalidArgument("hooks: not an object");
  for (const std::string& stage : {config.hook_stage, std::string("poststop")}) {
    Json& list = hooks[stage];
    if (list.is_null()) list = Json::array();
    if (!list.is_array()) return Status::InvalidArgument("hooks." + stage + ": not an array");
    if (HasEntry(list, config, stage)) continue;
    list.push_back(HookEntry(config.EntryOptions(), stage));
    changed = true;
  }
  if (!changed) {
    edit.outcome = EditOutcome::kAlreadyPresent;
    return edit;
  }
  try {
    edit.new_config = doc.dump();
  } catch (const nlohmann::json::exception& e) {
    // Invalid UTF-8 in a string: refuse rather than write a mangled file.
    return Status::InvalidArgument(std::string("cannot encode: ") + e.what());
  }
  edit.outcome = EditOutcome::kAdded;
  return edit;
}

Result<EditOutcome> InjectHooksIntoBundle(const std::string& bundle_dir,
                                          const ShimConfig& config, std::string_view service) {
  std::string path = bundle_dir + "/config.json";
  ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxConfigJsonBytes), "read");
  ASSIGN_OR_RETURN(ConfigEdit edit, AddHookEntries(text, config, service), path);
  if (edit.outcome != EditOutcome::kAdded) return edit.outcome;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return PosixError("stat " + path, errno);
  // No fsync: the bundle is runtime state that does not outlive a crash of the machine
  // (engines keep it on tmpfs or write it anew before each create), and the edit is made
  // again on every create. The rename keeps the replacement atomic for the runtime; a
  // config.json torn by a power loss is invalid JSON, which runc and this shim refuse.
  RETURN_IF_ERROR(ReplaceFileAtomically(path, edit.new_config, st.st_mode, st.st_uid, st.st_gid,
                                        Durability::kNoSync),
                  "rewrite");
  return edit.outcome;
}

}  // namespace ocisecrets
