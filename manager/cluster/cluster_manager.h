// The manager side of a cluster (DESIGN.md "The cluster"): the CA with its key sealed in
// the store, the join tokens, the node records and the revoked set, and this manager's
// own TLS server certificate. It implements the router's ClusterHooks and gives the TLS
// listener what it needs (credentials per handshake, the identity of a peer certificate).
//
// Store keys (all in the one KvStore; secrets sealed with the Keyring):
//   cluster/info            {"ClusterID","CreatedAt","ListenAddr","CertExpiry","ManagerNodeID"}
//   cluster/ca              {"Certificate","SealedKey"}: the CA key sealed, in base64
//   cluster/tokens/node     the sealed secret of the node join token (also .../manager)
//   nodes/<NodeID>          a Node (shared/cluster_models.h)
//   revoked/<NodeID>        {"RemovedAt","Until"}: a removed node, kept until its last
//                           certificate would have expired (dropped by Load after that)
//
// Thread safety: every public method may be called from many threads at once. StillValid
// and IdentifyPeer read only memory (no store call); the rest serialize their store
// writes on one lock.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "manager/api/cluster_hooks.h"
#include "manager/store/keyring.h"
#include "manager/store/kv_store.h"
#include "shared/pki.h"

namespace ocisecrets {

// The store keys above that the key rotation re-encrypts (manager/rotation): the CA key is
// sealed for record key kClusterCaKey, ID = ClusterID, version 1; each token likewise
// for its own record key.
inline constexpr std::string_view kClusterInfoKey = "cluster/info";
inline constexpr std::string_view kClusterCaKey = "cluster/ca";
inline constexpr std::string_view kClusterTokenPrefix = "cluster/tokens/";

inline constexpr std::string_view kDefaultListenAddr = "0.0.0.0:7443";
inline constexpr std::string_view kDefaultListenPort = "7443";
inline constexpr std::chrono::seconds kDefaultCertExpiry = std::chrono::hours(24);
// The CA's lifetime. Swarm's 20 years is longer than anyone keeps a cluster's key safe.
inline constexpr std::chrono::seconds kCaLifetime = std::chrono::hours(24 * 365 * 10);
// Admin certificates (cluster admin-cert) live 90 days: CertExpiry is for nodes, whose
// daemons renew by themselves; a person renews by hand.
inline constexpr std::chrono::seconds kAdminCertLifetime = std::chrono::hours(24 * 90);
// A node is "ready" when it was seen within this long (a worker heartbeats every 5 s).
inline constexpr std::chrono::seconds kReadyWindow{15};
// LastSeen reaches the store at most this often per node; memory always has the latest.
inline constexpr std::chrono::seconds kSeenWriteInterval{5};
// The manager's own server certificate lives CertExpiry, but at least this long, so that
// the once-a-second MaintainServerCert always replaces it well before it expires.
inline constexpr std::chrono::seconds kMinServerCertLifetime{60};

// Checks a listen address: IPV4:PORT, [IPV6]:PORT or HOSTNAME:PORT, port 1..65535; a
// missing port means 7443. Returns the address with its port. InvalidArgument
// "invalid listen address 'X': <what is wrong>" otherwise.
Result<std::string> NormalizeListenAddr(std::string_view addr);

// The address others reach listen_addr at: the host as given, except that 0.0.0.0 (and
// [::]) become the first non-loopback IPv4 address of this machine, or 127.0.0.1 when it
// has none. The join command and a join's Managers list use it.
std::string AdvertisedAddr(std::string_view listen_addr);

// This manager's TLS server credentials, issued by the cluster CA (CN = the manager's
// node ID, OU manager). Immutable: a renewal makes a new one.
struct ServerCredentials {
  std::string cert_pem;
  SecretBytes key_pem;
  std::string ca_pem;
  TimePoint issued_at{};
  TimePoint not_after{};
};

struct ClusterManagerOptions {
  std::function<TimePoint()> clock;      // default: the system clock
  std::function<std::string()> new_id;   // default: NewObjectId (cluster and node IDs)
  std::string hostname;                  // this manager's; default gethostname()
  std::string local_node_id;             // this machine's node ID (required)
  // Binds listen_addr and starts the TLS listener (the daemon's; a fake in tests). Called
  // by Init and by Load when the cluster exists. Required.
  std::function<Status(const std::string& listen_addr)> start_listener;
};

class ClusterManager : public ClusterHooks {
 public:
  // kv and keyring must outlive the manager. Nothing is read until Load.
  ClusterManager(KvStore* kv, Keyring* keyring, ClusterManagerOptions options);

  // At daemon start: reads the cluster (info, CA, tokens, nodes, revoked set) when there
  // is one, makes this manager's server credentials and calls start_listener. OK and not
  // initialized when the store holds no cluster. DataLoss when a record does not open or
  // parse; start_listener's error with the address as context.
  Status Load();

  // Reads the join tokens' records again (secrets and revisions) after another writer
  // re-sealed them without changing the tokens (the key rotation): a later `join-token
  // --rotate` compares against the new revisions. OK, nothing read, when not initialized.
  Status RereadTokens();

  bool initialized() const override;
  // Errors: FailedPrecondition "this node is already part of a cluster"; InvalidArgument
  // for a bad ListenAddr or CertExpiry (at least 1 s); start_listener's error (nothing
  // is kept in the store then).
  Result<ClusterInfo> Init(const ClusterInitRequest& request) override;
  Result<ClusterInfo> Inspect() override;
  // Changes CertExpiry (request.cert_expiry; ListenAddr must be empty) for certificates
  // issued from now on. Returns the new Inspect().
  Result<ClusterInfo> Update(const ClusterInitRequest& request) override;
  // Command is "oci-secrets cluster join --token T ADDR:PORT", ADDR as AdvertisedAddr.
  // InvalidArgument for a role other than node or manager.
  Result<JoinTokenInfo> JoinToken(std::string_view role, bool rotate) override;
  // PermissionDenied "invalid join token" when the token's CA digest is not this CA's or
  // its secret is neither current secret (compared in constant time; the same words for
  // both cases); FailedPrecondition for a manager token (managers join with etcd, the
  // next release); InvalidArgument for a malformed token, CSR or hostname (1..253 of
  // [A-Za-z0-9.-]). On success a new node record exists.
  Result<JoinResponse> Join(const JoinRequest& request, std::string_view peer_addr) override;
  // PermissionDenied for a caller without a certificate (anonymous or local), with an
  // admin certificate, or whose node is not (or no longer) in the cluster.
  Result<JoinResponse> Renew(const Identity& caller, const CsrRequest& request) override;
  // For a node-role certificate caller: LastSeen now, in memory; written to its record
  // at most every kSeenWriteInterval. A valid hostname that differs is recorded too.
  // Ignores other callers. Never fails (a store error is retried at the next call).
  void Seen(const Identity& caller, std::string_view hostname) override;
  // An admin certificate (CN "admin-" + new ID, OU admin) valid kAdminCertLifetime.
  Result<JoinResponse> AdminCert(const CsrRequest& request) override;

  // Sorted by hostname, then ID. State "ready" when seen within kReadyWindow (this
  // manager always), else "down".
  Result<std::vector<Node>> ListNodes() override;
  // By ID, hostname or unique ID prefix. NotFound "node not found: X"; FailedPrecondition
  // when a hostname or prefix names several nodes.
  Result<Node> InspectNode(std::string_view id_or_name) override;
  // Replaces the labels. Version.Index counts changes of the spec (not LastSeen or
  // renewals): FailedPrecondition when version is not the current one.
  Result<Node> UpdateNode(std::string_view id_or_name, std::uint64_t version,
                          const NodeSpec& spec) override;
  // Writes revoked/<id> and deletes nodes/<id> in one txn; the node's certificates are
  // refused (StillValid, IdentifyPeer) once this returns. FailedPrecondition for this
  // manager itself and for a ready node without force.
  Result<Node> RemoveNode(std::string_view id_or_name, bool force) override;
  // O(1) in memory: PermissionDenied "permission denied: node X was removed from the
  // cluster" for a removed node's certificate; OK for anything else.
  Status StillValid(const Identity& caller) override;

  // The TLS listener's check of a peer certificate OpenSSL has already verified (chain,
  // expiry). Null cert: the anonymous identity (admitted only to the join). Otherwise
  // kCertificate over kTls with role from OU and node_id = CN; PermissionDenied
  // "certificate is from another cluster" (O is not this cluster's ID) or "node X was
  // removed from the cluster"; InvalidArgument for a certificate without our subject.
  Result<Identity> IdentifyPeer(X509* cert, std::string_view peer_addr);

  // The current server credentials; null before Init/Load made them.
  std::shared_ptr<const ServerCredentials> server_credentials() const;
  // Reissues the server certificate (a new key too) once past 2/3 of its life. The
  // daemon calls it every second; OK when there is no cluster or nothing to do.
  Status MaintainServerCert(TimePoint now);

  // A node record by exact ID (for placement), with its State computed. NotFound.
  Result<Node> NodeById(std::string_view id);

 private:
  struct NodeEntry {
    Node node;
    std::int64_t mod_revision = 0;
  };
  struct SeenEntry {
    TimePoint last_seen{};
    TimePoint written_at{};
  };

  TimePoint Now() const;
  // The subjectAltNames of this manager's server certificate: loopback, localhost, the
  // listen and advertised addresses, the hostname (so that curl and other standard
  // clients accept it by name).
  std::vector<std::string> ServerAltNames() const;
  ClusterInfo InfoLocked() const;
  Status RequireInitializedLocked() const;
  Result<std::string> IssueLocked(std::string_view csr, const CertSubject& subject,
                                  std::chrono::seconds lifetime, TimePoint now) const;
  Result<std::shared_ptr<const ServerCredentials>> MakeServerCredentialsLocked(TimePoint now) const;
  // The entry that id_or_name names (see InspectNode). Caller holds mu_.
  Result<std::map<std::string, NodeEntry>::iterator> FindLocked(std::string_view id_or_name);
  Node WithStateLocked(Node node, TimePoint now);
  // Writes entry's node to nodes/<id> with a compare on its mod_revision; updates the
  // entry. FailedPrecondition when the record changed underneath.
  Status PutNodeLocked(NodeEntry& entry);
  Result<JoinResponse> CertificateResponseLocked(std::string cert) const;
  Status LoadLocked();
  Status LoadTokensLocked();  // the tokens' secrets and revisions (mu_ held)

  KvStore* kv_;
  Keyring* keyring_;
  ClusterManagerOptions options_;

  mutable std::shared_mutex mu_;  // everything below but the revoked set and seen_
  bool initialized_ = false;
  std::string cluster_id_;
  TimePoint created_at_{};
  std::string listen_addr_;
  std::chrono::seconds cert_expiry_{kDefaultCertExpiry};
  std::int64_t info_revision_ = 0;
  std::optional<CertificateAuthority> ca_;
  std::map<std::string, SecretBytes> token_secrets_;       // by role
  std::map<std::string, std::int64_t> token_revisions_;    // by role
  std::map<std::string, NodeEntry> nodes_;                 // by ID
  std::shared_ptr<const ServerCredentials> credentials_;

  mutable std::shared_mutex revoked_mu_;
  std::unordered_set<std::string> revoked_;

  std::mutex seen_mu_;
  std::unordered_map<std::string, SeenEntry> seen_;
};

}  // namespace ocisecrets
