#include "hook/runtime/shim_config.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "shared/file_util.h"

namespace ocisecrets {
namespace {

constexpr std::size_t kMaxConfigBytes = 64 * 1024;

Status GetString(const nlohmann::json& v, const std::string& key, std::string* out) {
  if (!v.is_string()) return Status::InvalidArgument(key + ": must be a string");
  *out = v.get<std::string>();
  if (out->empty()) return Status::InvalidArgument(key + ": must not be empty");
  return Status::Ok();
}

}  // namespace

Result<ShimConfig> ParseShimConfig(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("must be a JSON object");
  ShimConfig config;
  for (const auto& [key, value] : doc.items()) {
    if (key == "runtime_path") {
      RETURN_IF_ERROR(GetString(value, key, &config.runtime_path), "");
    } else if (key == "hook_path") {
      RETURN_IF_ERROR(GetString(value, key, &config.hook_path), "");
      if (config.hook_path[0] != '/') {
        return Status::InvalidArgument("hook_path: must be an absolute path");
      }
    } else if (key == "hook_config") {
      RETURN_IF_ERROR(GetString(value, key, &config.hook_config), "");
      if (config.hook_config[0] != '/') {
        return Status::InvalidArgument("hook_config: must be an absolute path");
      }
    } else if (key == "hook_stage") {
      RETURN_IF_ERROR(GetString(value, key, &config.hook_stage), "");
      if (config.hook_stage != "prestart" && config.hook_stage != "createRuntime") {
        return Status::InvalidArgument("hook_stage: must be prestart or createRuntime");
      }
    } else if (key == "hook_timeout") {
      if (!value.is_number_integer() || value.get<long long>() < kMinHookTimeoutSeconds ||
          value.get<long long>() > kMaxHookTimeoutSeconds) {
        return Status::InvalidArgument("hook_timeout: must be an integer from " +
                                       std::to_string(kMinHookTimeoutSeconds) + " to " +
                                       std::to_string(kMaxHookTimeoutSeconds));
      }
      config.hook_timeout = static_cast<int>(value.get<long long>());
    } else {
      return Status::InvalidArgument("unknown key \"" + key + "\"");
    }
  }
  return config;
}

Result<ShimConfig> LoadShimConfig() {
  const char* env_path = std::getenv(std::string(kShimConfigEnv).c_str());
  bool explicit_path = env_path != nullptr && env_path[0] != '\0';
  std::string path = explicit_path ? env_path : std::string(kDefaultShimConfigPath);
  ShimConfig config;
  Result<std::string> text = ReadFileBounded(path, kMaxConfigBytes);
  if (text.ok()) {
    ASSIGN_OR_RETURN(config, ParseShimConfig(*text), path);
  } else if (explicit_path || text.status().code() != StatusCode::kNotFound) {
    return text.status();
  }
  const char* runtime = std::getenv(std::string(kShimRuntimeEnv).c_str());
  if (runtime != nullptr && runtime[0] != '\0') config.runtime_path = runtime;
  return config;
}

}  // namespace ocisecrets
