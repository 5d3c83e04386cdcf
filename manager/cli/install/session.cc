#include "manager/cli/install/session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "shared/file_util.h"
#include "shared/names.h"

namespace ocisecrets::install_internal {
namespace {

constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;
constexpr std::string_view kBackupSuffix = ".oci-secrets.bak";

Status MakeParents(const std::string& file) {
  std::size_t pos = 1;
  while ((pos = file.find('/', pos)) != std::string::npos) {
    std::string dir = file.substr(0, pos);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return PosixError("mkdir " + dir, errno);
    }
    ++pos;
  }
  return Status::Ok();
}

}  // namespace

Session::Session(Engine engine, const InstallOptions& options)
    : options_(options), name_(EngineName(engine)) {}

Status Session::LoadManifest() {
  const std::string path(kInstallManifestPath);
  ASSIGN_OR_RETURN(std::optional<std::string> text, ReadOptional(path), "manifest");
  if (!text) {
    manifest_ = EmptyManifest();
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(manifest_, ParseManifest(*text, Host(path)), "");
  return Status::Ok();
}

Status Session::SaveManifest() {
  if (options_.dry_run || !manifest_dirty_) return Status::Ok();
  Json& engines = manifest_["engines"];
  if (engines.contains(name_) && Record().empty()) engines.erase(name_);
  if (engines.empty()) return RemoveHostFile(std::string(kInstallManifestPath));
  return WriteHostFile(std::string(kInstallManifestPath), manifest_.dump(2) + "\n", 0600);
}

Json& Session::Record() {
  Json& r = manifest_["engines"][name_];
  if (r.is_null()) r = Json::object();
  return r;
}

bool Session::OwnedByOtherEngine(const std::string& path) const {
  for (const auto& [engine, record] : manifest_["engines"].items()) {
    if (engine == name_ || !record.contains("files")) continue;
    for (const Json& f : record["files"]) {
      if (f.value("path", "") == path) return true;
    }
  }
  return false;
}

std::optional<std::string> Session::RecordedHash(const std::string& path) const {
  for (const auto& [engine, record] : manifest_["engines"].items()) {
    if (!record.contains("files")) continue;
    for (const Json& f : record["files"]) {
      if (f.value("path", "") == path) return f.value("sha256", "");
    }
  }
  return std::nullopt;
}

Result<std::optional<std::string>> Session::ReadOptional(const std::string& path) const {
  Result<std::string> text = ReadFileBounded(Host(path), kMaxFileBytes);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
    return text.status();
  }
  return std::optional<std::string>(std::move(text).value());
}

Status Session::WriteHostFile(const std::string& path, const std::string& content,
                              mode_t new_mode) {
  std::string host = Host(path);
  struct stat st{};
  mode_t mode = new_mode;
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (stat(host.c_str(), &st) == 0) {
    mode = st.st_mode & 07777;
    uid = st.st_uid;
    gid = st.st_gid;
  } else {
    RETURN_IF_ERROR(MakeParents(host), "write " + host);
  }
  return ReplaceFileAtomically(host, content, mode, uid, gid).WithContext("write " + host);
}

Status Session::RemoveHostFile(const std::string& path) {
  std::string host = Host(path);
  if (unlink(host.c_str()) != 0 && errno != ENOENT) return PosixError("remove " + host, errno);
  return Status::Ok();
}

Result<std::string> Session::Backup(const std::string& path, const std::string& bytes) {
  std::string backup = path + std::string(kBackupSuffix);
  struct stat st{};
  if (stat(Host(backup).c_str(), &st) == 0) return backup;  // the first original stays
  if (!options_.dry_run) {
    struct stat orig{};
    mode_t mode = stat(Host(path).c_str(), &orig) == 0 ? (orig.st_mode & 07777) : 0600;
    RETURN_IF_ERROR(WriteHostFile(backup, bytes, mode), "backup");
  }
  return backup;
}

}  // namespace ocisecrets::install_internal
