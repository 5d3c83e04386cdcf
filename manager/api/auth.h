// Who is calling: an identity per connection (DESIGN.md "Who is calling"). On the unix
// socket it comes from the peer's credentials (SO_PEERCRED); client certificates (TLS)
// will make the other kind. The router decides from the identity's role alone.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "shared/status.h"
#include "shared/time_format.h"

namespace ocisecrets {

// What a caller may do. Every route lists the roles it allows (manager/api/router.cc).
enum class Role {
  kAdmin,    // a local root or --admin-group peer, or an admin certificate: everything
  kManager,  // another manager of the cluster: the admin routes too, for now
  kNode,     // a node's daemon: leases for its own node ID and the health check only
};

// "admin", "manager", "node": the word messages and the audit log use.
std::string_view RoleName(Role role);

// The caller of one connection, decided once when it is accepted and fixed for its life.
// Holds no secret: any field may go into a message or the audit log.
struct Identity {
  enum class Kind {
    kLocalUid,     // a unix-socket peer, known by its kernel credentials
    kCertificate,  // a TLS peer, known by its client certificate
  };
  Kind kind = Kind::kLocalUid;
  // How the caller reached us. Some routes are unix only (cluster init, admin-cert, the
  // local join and leave): they need a caller on this machine.
  enum class Transport { kUnix, kTls };
  Transport transport = Transport::kUnix;
  // A TLS peer that sent no client certificate (kCertificate, no role): admitted only to
  // POST /v1/cluster/join, refused everywhere else.
  bool anonymous = false;
  // A TLS peer's address ("127.0.0.1:40312"), for the audit log and the node's record.
  std::string peer_addr;
  // When the certificate of a kCertificate peer expires: a connection opened before that
  // is refused at its first request after it (ClusterHooks::StillValid).
  TimePoint cert_not_after{};
  // The role granted. Empty for a local peer that is neither root nor in the admin group:
  // every route refuses it ("permission denied: uid N is not root ...").
  std::optional<Role> role;
  // The node this caller speaks for: the local node for a unix peer, the certificate's
  // node ID otherwise. Leases are keyed by it. Empty only for a refused local peer.
  std::string node_id;
  // SO_PEERCRED of a kLocalUid peer; unset (-1, -1, 0) for a certificate.
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;

  // Short, for messages and the audit log: "uid 1000" for a local peer, "<role> <node
  // ID>" ("node 3f...") for a certificate.
  std::string Describe() const;
};


// Reads SO_PEERCRED of a connected unix socket: a kLocalUid identity with uid, gid and pid
// set and no role yet. IOError when the kernel refuses.
Result<Identity> PeerOf(int fd);

// The local node's ID, kept in the file at path: read when the file exists, else created
// once (0600, O_EXCL) with new_id(). The ID names this machine as a node (its leases are
// keyed by it) and stays across restarts. InvalidArgument when the file holds anything
// but one ID (25 base36 characters, an optional newline); IOError on a file error.
Result<std::string> LoadOrCreateNodeId(const std::string& path,
                                       const std::function<std::string()>& new_id);

// Decides the identity of unix-socket peers. Immutable after Open: safe from many threads.
class Authorizer {
 public:
  // No group: only root is admin. With a group name it must exist (Open fails otherwise).
  // local_node_id is the node ID every admitted unix peer speaks for.
  static Result<Authorizer> Open(const std::string& admin_group, std::string local_node_id);

  // The identity of the peer of a connected unix socket: PeerOf(fd), with role kAdmin
  // and the local node ID when IsAdmin(uid, gid), no role otherwise. IOError as PeerOf.
  Result<Identity> IdentifyUnixPeer(int fd) const;

  // Root, a peer whose gid is the admin group, or a user listed in the group database as
  // a member of it (supplementary groups via getgrouplist).
  bool IsAdmin(uid_t uid, gid_t gid) const;

  const std::string& group_name() const { return group_name_; }
  std::optional<gid_t> group_gid() const { return gid_; }
  const std::string& local_node_id() const { return local_node_id_; }

 private:
  std::string group_name_;
  std::optional<gid_t> gid_;
  std::string local_node_id_;
};

}  // namespace ocisecrets
