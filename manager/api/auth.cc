#include "manager/api/auth.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace ocisecrets {

Result<Peer> PeerOf(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return PosixError("getsockopt SO_PEERCRED", errno);
  }
  Peer peer;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.pid = cred.pid;
  return peer;
}

Result<Authorizer> Authorizer::Open(const std::string& admin_group) {
  Authorizer a;
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
