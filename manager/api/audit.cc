#include "manager/api/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "shared/models.h"

namespace ocisecrets {

std::string AuditLine(const Peer& peer, const AuditEvent& e) {
  nlohmann::json j{{"time", FormatTime(std::chrono::time_point_cast<std::chrono::nanoseconds>(
                                Clock::now()))},
                   {"uid", peer.uid},
                   {"pid", peer.pid},
                   {"action", e.action},
                   {"status", e.status}};
  if (!e.name.empty()) j["name"] = e.name;
  if (!e.id.empty()) j["id"] = e.id;
  if (!e.container_id.empty()) j["container"] = e.container_id;
  if (!e.secret_ids.empty()) j["secrets"] = e.secret_ids;
  if (!e.error.empty()) j["error"] = e.error;
  // Replace invalid UTF-8 from a caller instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return PosixError("open audit log " + path, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return PosixError("stat audit log " + path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("audit log " + path + " is not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    return Status::InvalidArgument("audit log " + path +
                                   " is readable or writable by group or others: chmod 600 it");
  }
  return std::unique_ptr<FileAuditLog>(new FileAuditLog(fd));
}

FileAuditLog::~FileAuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

void FileAuditLog::Record(const Peer& peer, const AuditEvent& event) {
  std::string line = AuditLine(peer, event);
  std::lock_guard<std::mutex> lock(mu_);
  // One write per line: O_APPEND keeps lines whole.
  ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()) && !warned_) {
    warned_ = true;
    std::fprintf(stderr, "oci-secretsd: audit log: write failed: %s\n",
                 n < 0 ? ErrnoName(errno) : "short write");
  }
}

}  // namespace ocisecrets
