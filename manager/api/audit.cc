#include "manager/api/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <memory>
#include <string_view>

#include "shared/models.h"

namespace ocisecrets {

namespace {

template <typename Int>
void AppendInt(std::string& out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

void AppendField(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  AppendJsonString(out, value);
}

// What the call came to: "ok", "denied" (401, 403) or "error" (any other 4xx/5xx).
std::string_view ResultOf(int status) {
  if (status < 400) return "ok";
  return status == 401 || status == 403 ? "denied" : "error";
}

}  // namespace

// Written by hand (one is written per lease): the bytes nlohmann's dump of the same object
// gives, keys in its sorted order, invalid UTF-8 from a caller replaced instead of thrown.
std::string AuditLine(const Identity& peer, const AuditEvent& e) {
  const bool local = peer.kind == Identity::Kind::kLocalUid;
  std::string out;
  out.reserve(200 + e.name.size() + e.error.size() + peer.node_id.size() +
              28 * e.secret_ids.size());
  out += "{\"action\":";
  AppendJsonString(out, e.action);
  if (!peer.peer_addr.empty()) AppendField(out, "addr", peer.peer_addr);
  if (!e.container_id.empty()) AppendField(out, "container", e.container_id);
  if (!e.error.empty()) AppendField(out, "error", e.error);
  if (e.from_version != 0) {
    out += ",\"from_version\":";
    AppendInt(out, e.from_version);
  }
  if (!e.id.empty()) AppendField(out, "id", e.id);
  AppendField(out, "kind", local ? "local" : "certificate");
  if (!e.name.empty()) AppendField(out, "name", e.name);
  if (!peer.node_id.empty()) AppendField(out, "node", peer.node_id);
  if (local) {
    out += ",\"pid\":";
    AppendInt(out, peer.pid);
  }
  AppendField(out, "result", ResultOf(e.status));
  if (peer.role) AppendField(out, "role", RoleName(*peer.role));
  if (!e.secret_ids.empty()) {
    out += ",\"secrets\":[";
    for (std::size_t i = 0; i < e.secret_ids.size(); ++i) {
      if (i > 0) out += ',';
      AppendJsonString(out, e.secret_ids[i]);
    }
    out += ']';
  }
  out += ",\"status\":";
  AppendInt(out, e.status);
  out += ",\"time\":\"";
  AppendTime(out, std::chrono::time_point_cast<std::chrono::nanoseconds>(Clock::now()));
  out += '"';
  if (e.to_version != 0) {
    out += ",\"to_version\":";
    AppendInt(out, e.to_version);
  }
  if (local) {
    out += ",\"uid\":";
    AppendInt(out, peer.uid);
  }
  out += "}\n";
  return out;
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

void FileAuditLog::Record(const Identity& peer, const AuditEvent& event) {
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
