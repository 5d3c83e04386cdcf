#include "manager/api/auth.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace ocisecrets {
namespace {

constexpr std::size_t kNodeIdSize = 25;

bool IsNodeId(std::string_view s) {
  return s.size() == kNodeIdSize && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
         });
}

// The ID in an existing node ID file. NotFound when there is no file.
Result<std::string> ReadNodeId(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("node ID file " + path + " does not exist");
    return PosixError("open node ID file " + path, errno);
  }
  char buf[kNodeIdSize + 2];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  int err = errno;
  ::close(fd);
  if (n < 0) return PosixError("read node ID file " + path, err);
  std::string_view text(buf, static_cast<std::size_t>(n));
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!IsNodeId(text)) {
    return Status::InvalidArgument("node ID file " + path +
                                   " does not hold a node ID (25 characters a-z 0-9)");
  }
  return std::string(text);
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kManager:
      return "manager";
    case Role::kNode:
      return "node";
  }
  return "unknown";
}

std::string Identity::Describe() const {
  if (kind == Kind::kLocalUid) return "uid " + std::to_string(uid);
  std::string out(role ? RoleName(*role) : "certificate");
  out += ' ';
  out += node_id;
  return out;
}

Result<Identity> PeerOf(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return PosixError("getsockopt SO_PEERCRED", errno);
  }
  Identity peer;
  peer.kind = Identity::Kind::kLocalUid;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.pid = cred.pid;
  return peer;
}

Result<std::string> LoadOrCreateNodeId(const std::string& path,
                                       const std::function<std::string()>& new_id) {
  auto existing = ReadNodeId(path);
  if (existing.ok() || existing.status().code() != StatusCode::kNotFound) return existing;
  std::string id = new_id();
  if (!IsNodeId(id)) return Status::Internal("new node ID '" + id + "' is not 25 base36 characters");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    // Another process made it first: its ID is the one.
    if (errno == EEXIST) return ReadNodeId(path);
    return PosixError("create node ID file " + path, errno);
  }
  std::string line = id + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                 ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());  // a torn file would refuse every later start
    return PosixError("write node ID file " + path, err);
  }
  return id;
}

Result<Authorizer> Authorizer::Open(const std::string& admin_group, std::string local_node_id) {
  Authorizer a;
  a.local_node_id_ = std::move(local_node_id);
  if (admin_group.empty()) return a;
  std::vector<char> buf(16384);
  struct group grp {};
  struct group* found = nullptr;
  int err = getgrnam_r(admin_group.c_str(), &grp, buf.data(), buf.size(), &found);
  if (err != 0) return PosixError("look up group " + admin_group, err);
  if (found == nullptr) {
    return Status::InvalidArgument("admin group " + admin_group +
                                   " does not exist (create it with: groupadd " + admin_group + ")");
  }
  a.group_name_ = admin_group;
  a.gid_ = grp.gr_gid;
  return a;
}

Result<Identity> Authorizer::IdentifyUnixPeer(int fd) const {
  ASSIGN_OR_RETURN(Identity peer, PeerOf(fd), "");
  if (IsAdmin(peer.uid, peer.gid)) {
    peer.role = Role::kAdmin;
    peer.node_id = local_node_id_;
  }
  return peer;
}

bool Authorizer::IsAdmin(uid_t uid, gid_t gid) const {
  if (uid == 0) return true;
  if (!gid_) return false;
  if (gid == *gid_) return true;
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return false;
  int n = 64;
  std::vector<gid_t> groups(n);
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(n);
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) return false;
  }
  groups.resize(n);
  for (gid_t g : groups) {
    if (g == *gid_) return true;
  }
  return false;
}

}  // namespace ocisecrets
