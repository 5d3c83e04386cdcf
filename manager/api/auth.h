// Who may call the API on the unix socket: the peer's credentials from SO_PEERCRED.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "shared/status.h"

namespace ocisecrets {

// The caller of one connection, as the kernel reported it at accept time.
struct Peer {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
  bool admin = false;  // decided once per connection by Authorizer::IsAdmin
};

// Reads SO_PEERCRED of a connected unix socket. IOError when the kernel refuses.
Result<Peer> PeerOf(int fd);

class Authorizer {
 public:
  // No group: only root is admin. With a group name it must exist (Open fails otherwise).
  static Result<Authorizer> Open(const std::string& admin_group);

  // Root, a peer whose gid is the admin group, or a user listed in the group database as
  // a member of it (supplementary groups via getgrouplist).
  bool IsAdmin(uid_t uid, gid_t gid) const;

  const std::string& group_name() const { return group_name_; }
  std::optional<gid_t> group_gid() const { return gid_; }

 private:
  std::string group_name_;
  std::optional<gid_t> gid_;
};

}  // namespace ocisecrets
