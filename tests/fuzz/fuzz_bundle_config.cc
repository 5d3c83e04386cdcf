// Fuzzes config.json as the hook reads it (hook/oci/oci_state.h ParseBundleConfig, with the
// id mappings of hook/oci/id_mapping.h) and the hook's own hook.json (hook/config), both
// JSON objects. config.json comes from whoever created the container.
// Invariants: an accepted root path is absolute without NUL: root.path itself, or joined
// to the bundle when relative; every accepted id mapping is non-empty and does not wrap; MapToHost
// answers exactly for the ids some mapping covers, with the first such mapping's host id
// (no wrap-around to root); an accepted hook.json has a valid secrets dir, Windows
// secrets dir, deadline and tmpfs size.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "hook/config/hook_config.h"
#include "hook/oci/id_mapping.h"
#include "hook/oci/oci_state.h"
#include "shared/validation.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ocisecrets::hook::IdMapping;

constexpr std::string_view kBundle = "/run/containers/b1";

void CheckMappings(const std::vector<IdMapping>& mappings) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> probes = {0, 1, 65534, std::numeric_limits<std::uint32_t>::max()};
  for (const IdMapping& m : mappings) {
    FUZZ_CHECK(m.size > 0, "accepted mapping is not empty");
    FUZZ_CHECK(m.container_id + std::uint64_t{m.size} - 1 <= kMax &&
                   m.host_id + std::uint64_t{m.size} - 1 <= kMax,
               "accepted mapping does not wrap");
    probes.push_back(m.container_id);
    probes.push_back(static_cast<std::uint32_t>(m.container_id + (m.size - 1)));
    if (m.container_id + std::uint64_t{m.size} <= kMax) {
      probes.push_back(m.container_id + m.size);
    }
    if (m.container_id > 0) probes.push_back(m.container_id - 1);
  }
  for (std::uint32_t id : probes) {
    auto host = ocisecrets::hook::MapToHost(mappings, id);
    if (mappings.empty()) {
      FUZZ_CHECK(host.ok() && *host == id, "no user namespace: ids unchanged");
      continue;
    }
    const IdMapping* first = nullptr;
    for (const IdMapping& m : mappings) {
      if (id >= m.container_id && std::uint64_t{id} - m.container_id < m.size) {
        first = &m;
        break;
      }
    }
    FUZZ_CHECK(host.ok() == (first != nullptr), "mapped exactly when a mapping covers the id");
    if (first != nullptr) {
      FUZZ_CHECK(std::uint64_t{*host} == std::uint64_t{first->host_id} + (id - first->container_id),
                 "mapped through the first covering mapping, without wrap-around");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  using namespace ocisecrets::hook;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto config = ParseBundleConfig(in, kBundle);
  if (config.ok()) {
    const std::string& root = config->root_path;
    FUZZ_CHECK(!root.empty() && root.front() == '/', "accepted root path is absolute");
    FUZZ_CHECK(root.find('\0') == std::string::npos, "accepted root path has no NUL");
    // The runtime resolves root.path the same way: as it is when absolute, else under
    // the bundle.
    auto doc = nlohmann::json::parse(in.begin(), in.end(), nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(!doc.is_discarded(), "accepted config.json is JSON");
    const std::string& written = doc["root"]["path"].get_ref<const std::string&>();
    FUZZ_CHECK(written.front() == '/' ? root == written
                                      : root == std::string(kBundle) + "/" + written,
               "root path is root.path, joined to the bundle when relative");
    CheckMappings(config->uid_mappings);
    CheckMappings(config->gid_mappings);
    // The annotation of config.json counts when the state has none.
    ContainerState empty_state;
    auto service = ServiceAnnotation(empty_state, &*config);
    FUZZ_CHECK(service.has_value() ==
                   config->annotations.contains(std::string(kServiceAnnotation)),
               "opted in exactly when config.json has the annotation");
    // The hook skips parsing a config.json that cannot name the service: never one that does.
    FUZZ_CHECK(!service.has_value() || MayNameService(in),
               "a config.json naming the service is never skipped unparsed");
    FUZZ_CHECK(!config->env_service.has_value() || MayNameService(in),
               "a config.json whose environment names the service is never skipped unparsed");
  } else {
    FUZZ_CHECK(config.status().message().starts_with("config.json"),
               "a refusal is prefixed 'config.json'");
  }

  auto hook = ParseHookConfig(in);
  if (hook.ok()) {
    FUZZ_CHECK(ValidateContainerDir(hook->secrets_dir).ok(), "accepted secrets_dir is valid");
    FUZZ_CHECK(ValidateWindowsPath(hook->windows_secrets_dir).ok(),
               "accepted windows_secrets_dir is valid");
    FUZZ_CHECK(hook->deadline.count() >= 1 && hook->deadline.count() <= 60000,
               "accepted deadline in range");
    FUZZ_CHECK(hook->tmpfs_size_bytes >= 4096 && hook->tmpfs_size_bytes <= (1u << 30),
               "accepted tmpfs size in range");
    FUZZ_CHECK(!hook->manager.empty(), "accepted manager address is not empty");
    FUZZ_CHECK(hook->log_file.empty() || hook->log_file.front() == '/',
               "accepted log file is absolute");
  } else {
    FUZZ_CHECK(!hook.status().message().empty(), "a refusal says why");
  }

  if (ValidateContainerDir(in).ok()) {
    FUZZ_CHECK(in.front() == '/' && in.size() > 1, "accepted container dir is absolute, not /");
    FUZZ_CHECK(in.find("/../") == std::string_view::npos && !in.ends_with("/..") &&
                   in.find("/./") == std::string_view::npos && !in.ends_with("/.") &&
                   in.find("//") == std::string_view::npos,
               "accepted container dir has no '.', '..' or empty component");
  }
  return 0;
}
