#include "manager/api/docker/docker_shapes.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "shared/time_format.h"

namespace ocisecrets::docker {
namespace {

using nlohmann::json;

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isdigit(c) != 0;
  });
}

bool StartsWithIgnoringCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), s.begin(), [](unsigned char a, unsigned char b) {
           return std::tolower(a) == std::tolower(b);
         });
}

template <class Json>
std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Go's GOARCH for the machine, as Docker names architectures.
std::string Architecture() {
  utsname u{};
  if (uname(&u) != 0) return "";
  std::string_view m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  return std::string(m);
}

std::string KernelVersion() {
  utsname u{};
  return uname(&u) == 0 ? std::string(u.release) : "";
}

// One key's values: {"v":true,...} (the CLI) or ["v",...] (older clients).
Status ValuesOf(const std::string& key, const json& values, std::vector<std::string>* out) {
  if (values.is_array()) {
    for (const auto& v : values) {
      if (!v.is_string()) return Status::InvalidArgument("invalid filters: values of '" + key + "' must be strings");
      out->push_back(v.get<std::string>());
    }
    return Status::Ok();
  }
  if (values.is_object()) {
    for (const auto& [v, on] : values.items()) {
      if (!on.is_boolean()) return Status::InvalidArgument("invalid filters: values of '" + key + "' must be true or false");
      if (on.get<bool>()) out->push_back(v);
    }
    return Status::Ok();
  }
  return Status::InvalidArgument("invalid filters: '" + key + "' must be an object or an array");
}

bool HasLabel(const Labels& labels, std::string_view filter) {
  auto eq = filter.find('=');
  auto it = labels.find(std::string(filter.substr(0, eq)));
  if (it == labels.end()) return false;
  return eq == std::string_view::npos || it->second == filter.substr(eq + 1);
}

// In Docker's field order: `docker secret inspect` prints the object as it comes.
nlohmann::ordered_json SecretObject(const Secret& s) {
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.spec.labels) labels[k] = v;
  return nlohmann::ordered_json{{"ID", s.id},
              {"Version", {{"Index", s.version}}},
              {"CreatedAt", FormatTime(s.created_at)},
              {"UpdatedAt", FormatTime(s.updated_at)},
              {"Spec", {{"Name", s.spec.name}, {"Labels", std::move(labels)}}}};
}

}  // namespace

std::optional<std::string_view> DockerPath(std::string_view path) {
  if (!path.starts_with('/')) return std::nullopt;  // not a path: ours answers 400
  if (path == "/v1" || path.starts_with("/v1/") || path == "/metrics") return std::nullopt;
  if (path.size() > 2 && path[1] == 'v') {
    std::string_view rest = path.substr(2);
    auto slash = rest.find('/');
    std::string_view version = rest.substr(0, slash);
    auto dot = version.find('.');
    if (dot != std::string_view::npos && IsDigits(version.substr(0, dot)) &&
        IsDigits(version.substr(dot + 1))) {
      return slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    }
  }
  return path;
}

Result<SecretFilters> ParseSecretFilters(std::string_view filters_json) {
  SecretFilters f;
  if (filters_json.empty()) return f;
  json j = json::parse(filters_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("invalid filters: want a JSON object such as {\"name\":{\"x\":true}}");
  }
  for (const auto& [key, values] : j.items()) {
    std::vector<std::string>* out = key == "name"    ? &f.name_prefixes
                                    : key == "names" ? &f.names
                                    : key == "id"    ? &f.id_prefixes
                                    : key == "label" ? &f.labels
                                                     : nullptr;
    if (out == nullptr) return Status::InvalidArgument("invalid filter '" + key.substr(0, 64) + "'");
    RETURN_IF_ERROR(ValuesOf(key.substr(0, 64), values, out), "");
  }
  return f;
}

bool Matches(const Secret& secret, const SecretFilters& filters) {
  auto any = [](const std::vector<std::string>& values, auto match) {
    return values.empty() || std::any_of(values.begin(), values.end(), match);
  };
  const std::string& name = secret.spec.name;
  return any(filters.name_prefixes,
             [&](const std::string& p) { return StartsWithIgnoringCase(name, p); }) &&
         any(filters.names, [&](const std::string& n) { return n == name; }) &&
         any(filters.id_prefixes,
             [&](const std::string& p) { return secret.id.starts_with(p); }) &&
         std::all_of(filters.labels.begin(), filters.labels.end(),
                     [&](const std::string& l) { return HasLabel(secret.spec.labels, l); });
}

std::string SecretJson(const Secret& secret) { return Dump(SecretObject(secret)); }

std::string SecretListJson(const std::vector<Secret>& secrets) {
  auto list = nlohmann::ordered_json::array();
  for (const Secret& s : secrets) list.push_back(SecretObject(s));
  return Dump(list);
}

Status CheckSecretSpecExtras(std::string_view body) {
  // The parse leaves "Data" out: the payload is never copied into this document.
  json j = json::parse(
      body,
      [](int depth, json::parse_event_t event, json& parsed) {
        return !(depth == 1 && event == json::parse_event_t::key && parsed == "Data");
      },
      /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Ok();  // the full parse says why
  for (const char* field : {"Driver", "Templating"}) {
    auto it = j.find(field);
    if (it != j.end() && !it->is_null()) {
      return Status::InvalidArgument(std::string("secret create: ") + field +
                                     " is not supported: oci-secrets keeps every secret "
                                     "in its own encrypted store");
    }
  }
  return Status::Ok();
}

std::string ErrorBody(std::string_view message) { return Dump(json{{"message", message}}); }

std::string MessageOf(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    return j["message"].get<std::string>();
  }
  return std::string(body);
}

std::vector<std::pair<std::string, std::string>> PingHeaders() {
  return {{"API-Version", std::string(kApiVersion)},
          {"Docker-Experimental", "false"},
          {"OSType", "linux"},
          {"Swarm", "active/manager"}};
}

std::string VersionJson(std::string_view version) {
  const std::string arch = Architecture();
  const std::string kernel = KernelVersion();
  json component = {{"Name", "oci-secrets"}, {"Version", version}, {"Details", json::object()}};
  return Dump(json{{"Platform", {{"Name", "oci-secrets"}}},
                   {"Components", json::array({component})},
                   {"Version", version},
                   {"ApiVersion", kApiVersion},
                   {"MinAPIVersion", kMinApiVersion},
                   {"GitCommit", ""},
                   {"GoVersion", ""},
                   {"Os", "linux"},
                   {"Arch", arch},
                   {"KernelVersion", kernel}});
}

std::string InfoJson(std::string_view version, std::string_view node_id) {
  return Dump(json{{"ID", node_id},
                   {"ServerVersion", version},
                   {"OSType", "linux"},
                   {"OperatingSystem", "oci-secrets"},
                   {"Architecture", Architecture()},
                   {"KernelVersion", KernelVersion()},
                   {"ExperimentalBuild", false},
                   {"Swarm",
                    {{"NodeID", node_id},
                     {"NodeAddr", ""},
                     {"LocalNodeState", "active"},
                     {"ControlAvailable", true},
                     {"Error", ""},
                     {"RemoteManagers", json::array()},
                     {"Nodes", 1},
                     {"Managers", 1}}}});
}

}  // namespace ocisecrets::docker
