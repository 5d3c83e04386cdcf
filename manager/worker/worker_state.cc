#include "manager/worker/worker_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "shared/file_util.h"
#include "shared/json_fields.h"
#include "shared/pki.h"

namespace ocisecrets {
namespace {

constexpr std::string_view kKeyFile = "node.key";
constexpr std::string_view kCertFile = "node.crt";
constexpr std::string_view kCaFile = "ca.pem";
constexpr std::string_view kWorkerFile = "worker.json";
constexpr std::string_view kLeasesFile = "leases.json";
constexpr std::string_view kNextSuffix = ".next";
constexpr std::size_t kMaxKeyBytes = 16 * 1024;
constexpr std::size_t kMaxLeasesBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxWorkerBytes = 64 * 1024;

// The private key at path, checked as the root key is (regular, ours, 0600, no symlink).
Result<SecretBytes> ReadPrivateKey(const std::string& path) {
  const std::string ctx = "node key " + path;
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return Status::FailedPrecondition(ctx + ": is a symlink; refusing it");
    return PosixError(ctx + ": open", err);
  }
  auto checked = CheckPrivateFile(fd, ctx);
  if (!checked.ok() || checked->st_size > static_cast<off_t>(kMaxKeyBytes)) {
    close(fd);
    if (!checked.ok()) return checked.status();
    return Status::FailedPrecondition(ctx + ": larger than " + std::to_string(kMaxKeyBytes) +
                                      " bytes: not a node key");
  }
  SecretBytes key(static_cast<std::size_t>(checked->st_size));
  ssize_t n = pread(fd, key.data(), key.size(), 0);
  int err = errno;
  close(fd);
  if (n < 0) return PosixError(ctx + ": read", err);
  if (static_cast<std::size_t>(n) != key.size()) return Status::IOError(ctx + ": short read");
  return key;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

Status Rename(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) return PosixError("rename " + from + " to " + to, errno);
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError("open " + dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return PosixError("fsync " + dir, err);
  return Status::Ok();
}

}  // namespace

WorkerState::WorkerState(std::string state_dir) : dir_(std::move(state_dir) + "/cluster") {}

std::string WorkerState::File(std::string_view name) const {
  return dir_ + "/" + std::string(name);
}

Status WorkerState::MakeDir() const {
  struct stat st {};
  if (lstat(dir_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Status::FailedPrecondition(dir_ + " exists and is not a directory");
    }
    if (st.st_uid != geteuid()) {
      return Status::FailedPrecondition(dir_ + ": owned by uid " + std::to_string(st.st_uid) +
                                        ", not by us; chown it");
    }
  } else if (errno != ENOENT) {
    return PosixError("stat " + dir_, errno);
  } else if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return PosixError("mkdir " + dir_, errno);
  }
  if (chmod(dir_.c_str(), 0700) != 0) return PosixError("chmod " + dir_, errno);
  return Status::Ok();
}

Status WorkerState::WriteFile(std::string_view name, const std::string& content,
                              Durability durability) const {
  return ReplaceFileAtomically(File(name), content, 0600, geteuid(), getegid(), durability);
}

Status WorkerState::FinishRenewal() const {
  const std::string key_next = File(kKeyFile) + std::string(kNextSuffix);
  const std::string cert_next = File(kCertFile) + std::string(kNextSuffix);
  if (Exists(cert_next)) {
    // Both .next files were complete before the first rename: roll forward.
    if (Exists(key_next)) RETURN_IF_ERROR(Rename(key_next, File(kKeyFile)), "renewal");
    RETURN_IF_ERROR(Rename(cert_next, File(kCertFile)), "renewal");
    return FsyncDir(dir_);
  }
  if (Exists(key_next) && unlink(key_next.c_str()) != 0) {
    return PosixError("remove " + key_next, errno);
  }
  return Status::Ok();
}

Result<std::optional<WorkerIdentity>> WorkerState::Load() const {
  auto text = ReadFileBounded(File(kWorkerFile), kMaxWorkerBytes);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    return std::optional<WorkerIdentity>();
  }
  if (!text.ok()) return text.status();
  RETURN_IF_ERROR(FinishRenewal(), dir_);
  WorkerIdentity id;
  {
    using namespace json_fields;
    ASSIGN_OR_RETURN(json j, ParseDocument(*text, "worker state"), File(kWorkerFile));
    RETURN_IF_ERROR(GetString(j, "ClusterID", &id.cluster_id), File(kWorkerFile));
    RETURN_IF_ERROR(GetString(j, "NodeID", &id.node_id), File(kWorkerFile));
    RETURN_IF_ERROR(GetStrings(j, "Managers", &id.managers), File(kWorkerFile));
  }
  if (id.node_id.empty() || id.managers.empty()) {
    return Status::InvalidArgument(File(kWorkerFile) +
                                   ": no NodeID or no Managers (damaged; `oci-secrets cluster "
                                   "leave --force` and join again)");
  }
  ASSIGN_OR_RETURN(id.key_pem, ReadPrivateKey(File(kKeyFile)), "");
  ASSIGN_OR_RETURN(id.cert_pem, ReadFileBounded(File(kCertFile), kMaxPemBytes), "node certificate");
  ASSIGN_OR_RETURN(id.ca_pem, ReadFileBounded(File(kCaFile), kMaxPemBytes), "cluster CA");
  return std::optional<WorkerIdentity>(std::move(id));
}

Status WorkerState::Save(const WorkerIdentity& id) const {
  RETURN_IF_ERROR(MakeDir(), "");
  std::string key(id.key_pem.begin(), id.key_pem.end());
  Status s = WriteFile(kKeyFile, key);
  WipeString(key);
  RETURN_IF_ERROR(s, "node key");
  RETURN_IF_ERROR(WriteFile(kCertFile, id.cert_pem), "node certificate");
  RETURN_IF_ERROR(WriteFile(kCaFile, id.ca_pem), "cluster CA");
  nlohmann::json j{{"ClusterID", id.cluster_id}, {"NodeID", id.node_id}, {"Managers", id.managers}};
  return WriteFile(kWorkerFile, j.dump()).WithContext("worker state");
}

Status WorkerState::SaveCredentials(const SecretBytes& key_pem, const std::string& cert_pem) const {
  RETURN_IF_ERROR(MakeDir(), "");
  const std::string key_next = std::string(kKeyFile) + std::string(kNextSuffix);
  const std::string cert_next = std::string(kCertFile) + std::string(kNextSuffix);
  std::string key(key_pem.begin(), key_pem.end());
  Status s = WriteFile(key_next, key);
  WipeString(key);
  RETURN_IF_ERROR(s, "new node key");
  RETURN_IF_ERROR(WriteFile(cert_next, cert_pem), "new node certificate");
  return FinishRenewal();
}

Result<std::vector<LocalLease>> WorkerState::LoadLeases() const {
  std::vector<LocalLease> leases;
  auto text = ReadFileBounded(File(kLeasesFile), kMaxLeasesBytes);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) return leases;
  if (!text.ok()) return text.status();
  using namespace json_fields;
  ASSIGN_OR_RETURN(json j, ParseDocument(*text, "local leases"), File(kLeasesFile));
  if (!j.is_array()) return Status::InvalidArgument(File(kLeasesFile) + ": not a JSON array");
  for (const json& item : j) {
    if (!item.is_object()) return Status::InvalidArgument(File(kLeasesFile) + ": not an object");
    LocalLease l;
    RETURN_IF_ERROR(GetString(item, "Container", &l.container_id), File(kLeasesFile));
    RETURN_IF_ERROR(GetString(item, "Service", &l.service), File(kLeasesFile));
    RETURN_IF_ERROR(GetTime(item, "GrantedAt", &l.granted_at), File(kLeasesFile));
    RETURN_IF_ERROR(GetTime(item, "ExpiresAt", &l.expires_at), File(kLeasesFile));
    if (item.contains("PendingEnd") && item["PendingEnd"].is_boolean()) {
      l.pending_end = item["PendingEnd"].get<bool>();
    }
    leases.push_back(std::move(l));
  }
  return leases;
}

Status WorkerState::SaveLeases(const std::vector<LocalLease>& leases) const {
  RETURN_IF_ERROR(MakeDir(), "");
  nlohmann::json j = nlohmann::json::array();
  for (const auto& l : leases) {
    j.push_back({{"Container", l.container_id},
                 {"Service", l.service},
                 {"GrantedAt", FormatTime(l.granted_at)},
                 {"ExpiresAt", FormatTime(l.expires_at)},
                 {"PendingEnd", l.pending_end}});
  }
  // Not fsynced: the record must outlive a restart of the daemon, which the page cache
  // covers; a power loss takes the containers it describes with it. An fsync here cost
  // every container start on a worker about 2 ms.
  return WriteFile(kLeasesFile, j.dump(), Durability::kNoSync).WithContext("local leases");
}

Status WorkerState::Remove() const {
  // worker.json first: from then on Load sees no cluster, whatever else a crash leaves.
  for (std::string_view name : {kWorkerFile, kLeasesFile, kKeyFile, kCertFile, kCaFile}) {
    for (std::string path : {File(name), File(name) + std::string(kNextSuffix)}) {
      if (unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError("remove " + path, errno);
    }
  }
  if (rmdir(dir_.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY) {
    return PosixError("remove " + dir_, errno);
  }
  return Status::Ok();
}

}  // namespace ocisecrets
