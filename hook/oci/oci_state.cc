#include "hook/oci/oci_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <nlohmann/json.hpp>

namespace ocisecrets::hook {
namespace {

using nlohmann::json;

Result<json> ParseDocument(std::string_view text) {
  if (text.size() > kMaxDocumentBytes) {
    return Status::InvalidArgument("larger than " + std::to_string(kMaxDocumentBytes) +
                                   " bytes");
  }
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("malformed JSON");
  if (!j.is_object()) return Status::InvalidArgument("must be a JSON object");
  return j;
}

Status WrongType(std::string_view field, std::string_view want) {
  return Status::InvalidArgument("field " + std::string(field) + ": must be " +
                                 std::string(want));
}

Status GetAnnotations(const json& j, Annotations* out, bool* present) {
  auto it = j.find("annotations");
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return WrongType("annotations", "an object of strings");
  for (auto a = it->begin(); a != it->end(); ++a) {
    if (!a->is_string()) return WrongType("annotations", "an object of strings");
    (*out)[a.key()] = a->get<std::string>();
  }
  if (present != nullptr) *present = true;
  return Status::Ok();
}

// process.env, for the one variable that opts in; the rest of the environment is not kept.
Status GetEnvService(const json& j, std::optional<std::string>* out) {
  auto process = j.find("process");
  if (process == j.end() || !process->is_object()) return Status::Ok();
  auto env = process->find("env");
  if (env == process->end() || env->is_null()) return Status::Ok();
  if (!env->is_array()) return WrongType("process.env", "an array of strings");
  std::vector<std::string> ours;
  for (const auto& e : *env) {
    if (!e.is_string()) return WrongType("process.env", "an array of strings");
    const std::string& entry = e.get_ref<const std::string&>();
    if (entry.compare(0, kServiceEnv.size(), kServiceEnv) == 0) ours.push_back(entry);
  }
  ASSIGN_OR_RETURN(*out, ServiceFromEnv(ours), "");
  return Status::Ok();
}

Status GetUint32(const json& j, const char* field, std::string_view where, std::uint32_t* out) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number_unsigned()) {
    return WrongType(std::string(where) + "." + field, "an unsigned integer");
  }
  std::uint64_t v = it->get<std::uint64_t>();
  if (v > std::numeric_limits<std::uint32_t>::max()) {
    return Status::InvalidArgument("field " + std::string(where) + "." + field +
                                   ": out of range");
  }
  *out = static_cast<std::uint32_t>(v);
  return Status::Ok();
}

Status GetMappings(const json& linux_section, const char* field, std::vector<IdMapping>* out) {
  auto it = linux_section.find(field);
  if (it == linux_section.end() || it->is_null()) return Status::Ok();
  std::string where = std::string("linux.") + field;
  if (!it->is_array()) return WrongType(where, "an array");
  for (const auto& e : *it) {
    if (!e.is_object()) return WrongType(where + "[]", "an object");
    IdMapping m;
    RETURN_IF_ERROR(GetUint32(e, "containerID", where, &m.container_id), "");
    RETURN_IF_ERROR(GetUint32(e, "hostID", where, &m.host_id), "");
    RETURN_IF_ERROR(GetUint32(e, "size", where, &m.size), "");
    std::uint64_t max = std::numeric_limits<std::uint32_t>::max();
    if (m.size == 0 || m.container_id + std::uint64_t{m.size} - 1 > max ||
        m.host_id + std::uint64_t{m.size} - 1 > max) {
      return Status::InvalidArgument("field " + where + ": empty or overflowing range");
    }
    out->push_back(m);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadAllBounded(int fd, std::size_t limit) {
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read", errno);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > limit) {
      return Status::InvalidArgument("larger than " + std::to_string(limit) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<ContainerState> ParseState(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text), "state");
  ContainerState s;
  auto id = j.find("id");
  if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument("state: field id: must be a non-empty string");
  }
  s.id = id->get<std::string>();
  if (s.id.find_first_of(std::string_view("/\n\0", 3)) != std::string::npos) {
    return Status::InvalidArgument("state: field id: must not hold '/', newline or NUL");
  }
  auto status = j.find("status");
  if (status != j.end() && !status->is_null()) {
    if (!status->is_string()) return Status(WrongType("status", "a string")).WithContext("state");
    s.status = status->get<std::string>();
  }
  auto pid = j.find("pid");
  if (pid != j.end() && !pid->is_null()) {
    if (!pid->is_number_integer() || pid->get<std::int64_t>() < 0 ||
        pid->get<std::int64_t>() > std::numeric_limits<int>::max()) {
      return WrongType("pid", "a non-negative integer").WithContext("state");
    }
    s.pid = static_cast<int>(pid->get<std::int64_t>());
  }
  auto bundle = j.find("bundle");
  if (bundle == j.end() || !bundle->is_string() || bundle->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument("state: field bundle: missing");
  }
  s.bundle = bundle->get<std::string>();
  if (s.bundle.front() != '/') {
    return Status::InvalidArgument("state: field bundle: must be an absolute path, got " +
                                   s.bundle);
  }
  RETURN_IF_ERROR(GetAnnotations(j, &s.annotations, &s.has_annotations), "state");
  return s;
}

Result<BundleConfig> ParseBundleConfig(std::string_view text, std::string_view bundle) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text), "config.json");
  BundleConfig c;
  auto root = j.find("root");
  if (root == j.end() || !root->is_object()) {
    return Status::InvalidArgument("config.json: field root: missing");
  }
  auto path = root->find("path");
  if (path == root->end() || !path->is_string() || path->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument("config.json: field root.path: missing");
  }
  const std::string& p = path->get_ref<const std::string&>();
  if (p.find('\0') != std::string::npos) {
    return Status::InvalidArgument("config.json: field root.path: holds NUL");
  }
  if (p.front() == '/') {
    c.root_path = p;
  } else {
    c.root_path = std::string(bundle);
    if (c.root_path.empty() || c.root_path.back() != '/') c.root_path += '/';
    c.root_path += p;
  }
  auto ro = root->find("readonly");
  if (ro != root->end() && !ro->is_null()) {
    if (!ro->is_boolean()) return WrongType("root.readonly", "a boolean").WithContext("config.json");
    c.root_readonly = ro->get<bool>();
  }
  RETURN_IF_ERROR(GetAnnotations(j, &c.annotations, nullptr), "config.json");
  RETURN_IF_ERROR(GetEnvService(j, &c.env_service), "config.json");
  auto linux_section = j.find("linux");
  if (linux_section != j.end() && linux_section->is_object()) {
    auto ns = linux_section->find("namespaces");
    if (ns != linux_section->end() && ns->is_array()) {
      for (const auto& e : *ns) {
        if (!e.is_object()) continue;
        auto type = e.find("type");
        if (type == e.end()) continue;
        if (!type->is_string()) {
          return WrongType("linux.namespaces[].type", "a string").WithContext("config.json");
        }
        if (type->get_ref<const std::string&>() == "user") c.has_user_namespace = true;
      }
    }
    RETURN_IF_ERROR(GetMappings(*linux_section, "uidMappings", &c.uid_mappings), "config.json");
    RETURN_IF_ERROR(GetMappings(*linux_section, "gidMappings", &c.gid_mappings), "config.json");
  }
  auto windows = j.find("windows");
  c.is_windows = windows != j.end() && !windows->is_null();
  return c;
}

Result<std::string> ReadBundleConfigText(std::string_view bundle) {
  std::string path(bundle);
  path += "/config.json";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return PosixError("open " + path, errno);
  Result<std::string> text = ReadAllBounded(fd, kMaxDocumentBytes);
  close(fd);
  if (!text.ok()) return text.status().WithContext("read " + path);
  return text;
}

Result<BundleConfig> LoadBundleConfig(std::string_view bundle) {
  ASSIGN_OR_RETURN(std::string text, ReadBundleConfigText(bundle), "");
  return ParseBundleConfig(text, bundle);
}

bool MayNameService(std::string_view config_json) {
  return config_json.find(kServiceAnnotation) != std::string_view::npos ||
         config_json.find(kServiceEnv) != std::string_view::npos ||
         config_json.find("\\u") != std::string_view::npos;
}

std::optional<std::string> ServiceAnnotation(const ContainerState& state,
                                             const BundleConfig* config) {
  auto it = state.annotations.find(std::string(kServiceAnnotation));
  if (it != state.annotations.end()) return it->second;
  if (config != nullptr) {
    auto c = config->annotations.find(std::string(kServiceAnnotation));
    if (c != config->annotations.end()) return c->second;
  }
  return std::nullopt;
}

Result<std::optional<OptIn>> ServiceOptIn(const ContainerState& state,
                                          const BundleConfig* config) {
  return ChooseOptIn(ServiceAnnotation(state, config),
                     config != nullptr ? config->env_service : std::nullopt);
}

}  // namespace ocisecrets::hook
