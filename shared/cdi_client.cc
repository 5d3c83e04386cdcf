#include "shared/cdi_client.h"

#include <nlohmann/json.hpp>

#include "shared/json_fields.h"
#include "shared/validation.h"

namespace ocisecrets {
namespace {

using nlohmann::json;
namespace jf = json_fields;

constexpr std::string_view kCdiRoute = "/v1/node/cdi";

// An absolute path without ".", ".." or empty components (the secret targets' rule).
Status CheckAbsolutePath(std::string_view field, const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return Status::InvalidArgument(std::string(field) + " \"" + path + "\": must be an absolute path");
  }
  RETURN_IF_ERROR(ValidateSecretTarget(path), field);
  return Status::Ok();
}

Result<json> ParseObject(std::string_view text, const char* what) {
  ASSIGN_OR_RETURN(json j, jf::ParseDocument(text, what), "");
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + ": must be an object");
  return j;
}

std::string Compact(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<CdiStatus> Answer(Result<HttpResponse> response) {
  if (!response.ok()) return response.status();
  auto parsed = ParseCdiStatus(response->body);
  if (!parsed.ok()) {
    return Status::DataLoss("malformed answer from the manager: " + parsed.status().message());
  }
  return parsed;
}

}  // namespace

Status CheckCdiSettings(const CdiSettings& settings) {
  RETURN_IF_ERROR(CheckAbsolutePath("SpecDir", settings.spec_dir), "");
  RETURN_IF_ERROR(CheckAbsolutePath("HookPath", settings.hook_path), "");
  if (!settings.hook_config.empty()) {
    RETURN_IF_ERROR(CheckAbsolutePath("HookConfig", settings.hook_config), "");
  }
  if (settings.hook_timeout < kMinHookTimeoutSeconds ||
      settings.hook_timeout > kMaxHookTimeoutSeconds) {
    return Status::InvalidArgument("HookTimeout must be " + std::to_string(kMinHookTimeoutSeconds) +
                                   " to " + std::to_string(kMaxHookTimeoutSeconds) + " seconds");
  }
  return Status::Ok();
}

HookEntryOptions CdiHookOptions(const CdiSettings& settings) {
  return {settings.hook_path, settings.hook_config, settings.hook_timeout};
}

std::string ToJson(const CdiSettings& settings) {
  return Compact({{"SpecDir", settings.spec_dir},
                  {"HookPath", settings.hook_path},
                  {"HookConfig", settings.hook_config},
                  {"HookTimeout", settings.hook_timeout}});
}

Result<CdiSettings> ParseCdiSettings(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text, "CDI settings"), "");
  CdiSettings s;
  std::int64_t timeout = s.hook_timeout;
  RETURN_IF_ERROR(jf::GetString(j, "SpecDir", &s.spec_dir), "");
  RETURN_IF_ERROR(jf::GetString(j, "HookPath", &s.hook_path), "");
  RETURN_IF_ERROR(jf::GetString(j, "HookConfig", &s.hook_config), "");
  RETURN_IF_ERROR(jf::GetInt(j, "HookTimeout", &timeout), "");
  if (timeout < kMinHookTimeoutSeconds || timeout > kMaxHookTimeoutSeconds) {
    timeout = 0;  // out of int's range too: CheckCdiSettings names it
  }
  s.hook_timeout = static_cast<int>(timeout);
  return s;
}

std::string ToJson(const CdiStatus& status) {
  return Compact({{"Enabled", status.enabled},
                  {"SpecDir", status.spec_dir},
                  {"SpecFile", status.spec_file},
                  {"Devices", status.devices},
                  {"Changed", status.changed}});
}

Result<CdiStatus> ParseCdiStatus(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text, "CDI status"), "");
  CdiStatus s;
  RETURN_IF_ERROR(jf::GetBool(j, "Enabled", &s.enabled), "");
  RETURN_IF_ERROR(jf::GetString(j, "SpecDir", &s.spec_dir), "");
  RETURN_IF_ERROR(jf::GetString(j, "SpecFile", &s.spec_file), "");
  RETURN_IF_ERROR(jf::GetStrings(j, "Devices", &s.devices), "");
  RETURN_IF_ERROR(jf::GetBool(j, "Changed", &s.changed), "");
  return s;
}

Result<CdiStatus> EnableCdi(ApiClient& client, const CdiSettings& settings) {
  return Answer(client.Call("PUT", std::string(kCdiRoute), ToJson(settings)));
}

Result<CdiStatus> DisableCdi(ApiClient& client) {
  return Answer(client.Call("DELETE", std::string(kCdiRoute), ""));
}

Result<CdiStatus> GetCdi(ApiClient& client) {
  return Answer(client.Call("GET", std::string(kCdiRoute), ""));
}

}  // namespace ocisecrets
