#include "hook/config/hook_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "hook/oci/oci_state.h"
#include "shared/validation.h"

namespace ocisecrets::hook {
namespace {

using nlohmann::json;

Status Bad(std::string_view key, std::string_view why) {
  return Status::InvalidArgument(std::string(key) + ": " + std::string(why));
}

Status GetString(const json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_string()) return Bad(key, "must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status GetRange(const json& j, const char* key, std::uint64_t lo, std::uint64_t hi,
                std::uint64_t* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_number_unsigned()) return Bad(key, "must be a positive integer");
  std::uint64_t v = it->get<std::uint64_t>();
  if (v < lo || v > hi) {
    return Bad(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  *out = v;
  return Status::Ok();
}

}  // namespace

Status ValidateContainerDir(std::string_view path) {
  if (path.empty() || path.front() != '/') return Status::InvalidArgument("must be an absolute path");
  if (path.find('\0') != std::string_view::npos || path.find('\n') != std::string_view::npos) {
    return Status::InvalidArgument("must not hold NUL or newline");
  }
  std::string_view rest = path.substr(1);
  if (rest.empty()) return Status::InvalidArgument("must not be \"/\"");
  std::size_t start = 0;
  while (start < rest.size()) {
    std::size_t end = rest.find('/', start);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view c = rest.substr(start, end - start);
    if (c.empty()) return Status::InvalidArgument("empty component (doubled '/')");
    if (c == "." || c == "..") return Status::InvalidArgument("\".\" and \"..\" are not allowed");
    if (c.size() > 255) return Status::InvalidArgument("a component is longer than 255 bytes");
    start = end + 1;
  }
  return Status::Ok();
}

Result<HookConfig> ParseHookConfig(std::string_view text) {
  if (text.size() > kMaxDocumentBytes) return Status::InvalidArgument("too large");
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("malformed JSON");
  if (!j.is_object()) return Status::InvalidArgument("must be a JSON object");
  static constexpr std::string_view kKeys[] = {"manager",   "deadline_ms",
                                               "secrets_dir", "windows_secrets_dir",
                                               "tmpfs_size_bytes", "log_file"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (std::string_view k : kKeys) known = known || it.key() == k;
    if (!known) return Bad(it.key(), "unknown key");
  }
  HookConfig c;
  RETURN_IF_ERROR(GetString(j, "manager", &c.manager), "");
  if (c.manager.empty()) return Bad("manager", "must not be empty");
  std::uint64_t deadline = static_cast<std::uint64_t>(c.deadline.count());
  RETURN_IF_ERROR(GetRange(j, "deadline_ms", 1, 60000, &deadline), "");
  c.deadline = std::chrono::milliseconds(deadline);
  RETURN_IF_ERROR(GetString(j, "secrets_dir", &c.secrets_dir), "");
  RETURN_IF_ERROR(ValidateContainerDir(c.secrets_dir), "secrets_dir");
  RETURN_IF_ERROR(GetString(j, "windows_secrets_dir", &c.windows_secrets_dir), "");
  RETURN_IF_ERROR(ValidateWindowsPath(c.windows_secrets_dir), "windows_secrets_dir");
  RETURN_IF_ERROR(GetRange(j, "tmpfs_size_bytes", 4096, std::uint64_t{1} << 30,
                           &c.tmpfs_size_bytes), "");
  RETURN_IF_ERROR(GetString(j, "log_file", &c.log_file), "");
  if (!c.log_file.empty() && c.log_file.front() != '/') {
    return Bad("log_file", "must be an absolute path or empty");
  }
  return c;
}

Result<HookConfig> LoadHookConfig(const std::string& path, bool must_exist) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT && !must_exist) return HookConfig{};
    return PosixError("config " + path, errno);
  }
  Result<std::string> text = ReadAllBounded(fd, kMaxDocumentBytes);
  close(fd);
  if (!text.ok()) return text.status().WithContext("config " + path);
  Result<HookConfig> c = ParseHookConfig(*text);
  if (!c.ok()) return c.status().WithContext("config " + path);
  return c;
}

}  // namespace ocisecrets::hook
