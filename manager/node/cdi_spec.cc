#include "manager/node/cdi_spec.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "shared/file_util.h"
#include "shared/names.h"

namespace ocisecrets {
namespace {

using Json = nlohmann::ordered_json;

// A spec this large is not ours to compare with: it is simply replaced.
constexpr std::size_t kMaxComparedSpecBytes = 64u << 20;

// HookEntry(hook, stage) as a CDI hook: "hookName" first, then the entry's members.
Json CdiHook(const HookEntryOptions& hook, std::string_view stage) {
  Json out{{"hookName", std::string(stage)}};
  const Json entry = HookEntry(hook, stage);
  for (const auto& [key, value] : entry.items()) out[key] = value;
  return out;
}

}  // namespace

std::string CdiSpecJson(std::vector<std::string> services, const HookEntryOptions& hook) {
  std::sort(services.begin(), services.end());
  services.erase(std::unique(services.begin(), services.end()), services.end());
  const Json hooks = Json::array({CdiHook(hook, kCdiMountStage), CdiHook(hook, "poststop")});
  Json devices = Json::array();
  for (const std::string& service : services) {
    devices.push_back(
        Json{{"name", service},
             {"containerEdits",
              Json{{"env", Json::array({std::string(kServiceEnv) + "=" + service})},
                   {"hooks", hooks}}}});
  }
  Json spec{{"cdiVersion", std::string(kCdiVersion)},
            {"kind", std::string(kCdiKind)},
            {"devices", std::move(devices)}};
  return spec.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string CdiSpecPath(std::string_view spec_dir) {
  std::string path(spec_dir);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path + "/" + std::string(kCdiSpecFileName);
}

Result<bool> WriteCdiSpec(const std::string& path, const std::string& content) {
  auto current = ReadFileBounded(path, kMaxComparedSpecBytes);
  if (current.ok() && *current == content) return false;
  const std::string dir = path.substr(0, path.rfind('/'));
  if (!dir.empty() && mkdir(dir.c_str(), 0755) == 0) {
    chmod(dir.c_str(), 0755);  // despite the daemon's umask: engines read it
  } else if (!dir.empty() && errno != EEXIST) {
    return PosixError("CDI spec dir " + dir, errno);
  }
  RETURN_IF_ERROR(ReplaceFileAtomically(path, content, 0644, geteuid(), getegid()),
                  "CDI spec " + path);
  return true;
}

Result<bool> RemoveCdiSpec(const std::string& path) {
  if (unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return PosixError("remove " + path, errno);
}

}  // namespace ocisecrets
