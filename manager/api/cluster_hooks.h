// What the router asks of the cluster, in two interfaces so that the router needs neither
// manager/cluster nor manager/worker: ClusterHooks is the manager side (the CA, join
// tokens, node records), WorkerHooks the node role of a machine that joined a cluster as
// a worker. Both are optional: a router without them answers the cluster routes with 409
// "this node is not part of a cluster ...". Implementations are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "manager/api/auth.h"
#include "shared/cluster_models.h"
#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

// What every cluster call answers (409 FailedPrecondition) on a machine that neither made
// nor joined a cluster.
inline constexpr std::string_view kNotInCluster =
    "this node is not part of a cluster: run `oci-secrets cluster init` or `oci-secrets "
    "cluster join`";

class ClusterHooks {
 public:
  virtual ~ClusterHooks() = default;

  // Whether this manager has made (or belongs to) a cluster.
  virtual bool initialized() const = 0;

  // cluster init: makes the CA, the tokens, this manager's node record and certificate,
  // and starts the TLS listener on listen_addr. FailedPrecondition "this node is already
  // part of a cluster" when it is.
  virtual Result<ClusterInfo> Init(const ClusterInitRequest& request) = 0;
  // GET /v1/cluster.
  virtual Result<ClusterInfo> Inspect() = 0;
  // cluster update (POST /v1/cluster/update): a new CertExpiry for certificates issued
  // from now on. InvalidArgument for a bad duration or a ListenAddr (it cannot change).
  virtual Result<ClusterInfo> Update(const ClusterInitRequest& request) = 0;
  // The token for role ("node" or "manager"); rotate: a new one, the old one refused from
  // now on.
  virtual Result<JoinTokenInfo> JoinToken(std::string_view role, bool rotate) = 0;
  // A joining machine (anonymous TLS peer at peer_addr): checks the token, issues a
  // certificate for a new node ID. PermissionDenied "invalid join token" for a wrong or
  // rotated token.
  virtual Result<JoinResponse> Join(const JoinRequest& request, std::string_view peer_addr) = 0;
  // A new certificate for the caller's own node ID and role.
  virtual Result<JoinResponse> Renew(const Identity& caller, const CsrRequest& request) = 0;
  // Whether this manager shares a store with a cluster it has not joined yet (the local
  // cluster join then goes to JoinAsManager).
  virtual bool awaiting_join() const { return false; }
  // cluster join on this manager with a manager token (unix admin): receives the root
  // key and becomes one of the cluster's managers. FailedPrecondition when it does not
  // await a join.
  virtual Result<ClusterInfo> JoinAsManager(const JoinRequest&) {
    return Status::FailedPrecondition("this manager is not waiting to join a cluster");
  }
  // Records that caller was seen now (every call of a node counts).
  virtual void Seen(const Identity& caller, std::string_view hostname) = 0;
  // An admin certificate for the CSR (cluster admin-cert).
  virtual Result<JoinResponse> AdminCert(const CsrRequest& request) = 0;

  virtual Result<std::vector<Node>> ListNodes() = 0;
  // By ID, hostname or unique ID prefix. NotFound otherwise.
  virtual Result<Node> InspectNode(std::string_view id_or_name) = 0;
  // Replaces the node's labels; FailedPrecondition on a stale version.
  virtual Result<Node> UpdateNode(std::string_view id_or_name, std::uint64_t version,
                                  const NodeSpec& spec) = 0;
  // Removes the node and revokes its certificates at once. A ready node needs force
  // (FailedPrecondition "node X is ready: stop it first or use --force").
  virtual Result<Node> RemoveNode(std::string_view id_or_name, bool force) = 0;

  // Whether a certificate identity may still call: PermissionDenied "node X was removed
  // from the cluster" once it was. Called before every request of a TLS session.
  virtual Status StillValid(const Identity& caller) = 0;
};

// The manager's key rotation (manager/rotation): `cluster rotate-key` and the terms and
// progress `cluster inspect` shows. Works on a manager outside a cluster too: the keyring
// exists on every manager.
class KeyRotationHooks {
 public:
  virtual ~KeyRotationHooks() = default;

  // Adds a keyring term (current at once) and starts re-encrypting every record under
  // it in the background. FailedPrecondition "a key rotation is already running (N of M
  // records)" while a pass runs; Unavailable while the keyring is locked.
  virtual Result<std::uint32_t> RotateKey() = 0;
  // The keyring's terms and the last pass's progress.
  virtual Result<KeyStatus> GetKeyStatus() = 0;
};

class WorkerHooks {
 public:
  virtual ~WorkerHooks() = default;

  // True once this machine runs as a worker of a cluster: the router then forwards
  // leases here and refuses the manager routes ("this node is not a manager: run it on
  // a manager").
  virtual bool active() const = 0;

  // cluster join on this machine (unix admin): joins through request.managers with
  // request.token; FailedPrecondition when already part of a cluster.
  virtual Result<ClusterInfo> Join(const JoinRequest& request) = 0;
  // cluster leave: forgets the cluster (certificate, key, managers).
  virtual Status Leave(bool force) = 0;
  virtual Result<ClusterInfo> Inspect() = 0;

  // A lease or lease end from the local hook, forwarded to a manager within the hook's
  // deadline. Unavailable naming every manager tried when none answers.
  virtual Result<LeaseGrant> Lease(const LeaseRequest& request) = 0;
  virtual Status EndLease(std::string_view container_id) = 0;
};

}  // namespace ocisecrets
