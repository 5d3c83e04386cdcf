// The manager side of a cluster (DESIGN.md "The cluster"): the CA with its key sealed in
// the store, the join tokens, the node records and the revoked set, and this manager's
// own TLS server certificate. It implements the router's ClusterHooks and gives the TLS
// listener what it needs (credentials per handshake, the identity of a peer certificate).
//
// Store keys (all in the one KvStore; secrets sealed with the Keyring):
//   cluster/info            {"ClusterID","CreatedAt","ListenAddr","CertExpiry","ManagerNodeID"}
//   cluster/ca              {"Certificate","SealedKey"}: the CA key sealed, in base64
//   cluster/tokens/node     the sealed secret of the node join token (also .../manager)
//   nodes/<NodeID>          a Node (shared/cluster_models.h); a manager's has Role "manager"
//                           and ListenAddr
//   revoked/<NodeID>        {"RemovedAt","Until"}: a removed node, kept until its last
//                           certificate would have expired (dropped by Load after that)
//
// Several managers may share one store (etcd). Each follows the store through a watch of
// its own (one thread, started once a cluster is loaded) and applies what the others
// write to its caches; it re-reads everything when the watch breaks or is compacted, and
// every resync_interval as a backstop. Its own writes compare mod_revision, so a record
// another manager changed meanwhile is refused ("changed meanwhile: try again") and never
// overwritten.
//
// Thread safety: every public method may be called from many threads at once. StillValid
// and IdentifyPeer read only memory (no store call); the rest serialize their store
// writes on one lock.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <condition_variable>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "manager/api/cluster_hooks.h"
#include "manager/store/keyring.h"
#include "manager/store/kv_store.h"
#include "shared/http_client.h"
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
// The backstop: a manager re-reads the cluster from the store this often even when its
// watch reported nothing (a watch may lose events; it is never trusted alone).
inline constexpr std::chrono::seconds kClusterResyncInterval{60};

// The refusal of a manager token from a manager whose store is not this cluster's (409).
inline constexpr std::string_view kManagerNeedsSharedStore =
    "joining as a manager needs the managers' store: start oci-secretsd with --store etcd "
    "--etcd-endpoints … of the cluster";

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
  // For this manager's own join (JoinAsManager): a transport to a manager at addr whose
  // CA must have ca_digest (checked in the handshake, before any request byte). The
  // daemon's is the worker's TLS dialer with the digest pinned.
  std::function<std::unique_ptr<Transport>(const std::string& addr, const std::string& ca_digest)>
      join_dialer;
  // Called by JoinAsManager with the root key received, before the cluster is loaded: it
  // unlocks the keyring with it, writes root.key unless autolock is on, and starts what
  // waited for the key (the daemon's). Its error fails the join. Default: only the
  // keyring's Unlock.
  std::function<Status(KeyBytes root_key)> on_joined;
  // How long JoinAsManager may take in all, every manager tried.
  std::chrono::milliseconds join_budget{20000};
  std::chrono::seconds resync_interval{kClusterResyncInterval};
};

class ClusterManager : public ClusterHooks {
 public:
  // kv and keyring must outlive the manager. Nothing is read until Load.
  ClusterManager(KvStore* kv, Keyring* keyring, ClusterManagerOptions options);
  // Stops the watch thread.
  ~ClusterManager() override;
  ClusterManager(const ClusterManager&) = delete;
  ClusterManager& operator=(const ClusterManager&) = delete;

  // At daemon start: reads the cluster (info, CA, tokens, nodes, revoked set) when there
  // is one, makes this manager's server credentials, calls start_listener (on this
  // manager's ListenAddr: its node record's, else cluster/info's) and starts following
  // the store. OK and not initialized when the store holds no cluster. DataLoss when a
  // record does not open or parse; start_listener's error with the address as context.
  // A second Load (a join's, after the daemon's unlock callbacks loaded) re-reads the
  // records and starts no second listener.
  Status Load();

  // The daemon's start found a store shared with a cluster this manager has not joined
  // (no root key here): from now on awaiting_join() is true and JoinAsManager allowed.
  void AwaitJoin();
  bool awaiting_join() const override;
  // cluster join with a manager token on a manager that awaits its join: reads the
  // ClusterID from the store, makes a key and CSR (CN = local_node_id), sends the join
  // {Token, CSR, Hostname, ListenAddr, StoreClusterID} to request.managers in turn (each
  // dialed with the token's CA digest pinned), checks the answer (the CA is the token's,
  // the certificate holds the manager role for local_node_id), unwraps the root key with
  // its key, gives it to on_joined (which unlocks the keyring), then Load. Returns Inspect().
  // FailedPrecondition when not awaiting a join or the store holds no cluster;
  // InvalidArgument for a malformed token, listen address or no manager; the manager's
  // own refusal with "manager ADDR" as context; Unavailable naming every manager tried
  // when none answered; PermissionDenied for an answer that does not check; DataLoss when
  // the root key does not unwrap or does not open the keyring.
  Result<ClusterInfo> JoinAsManager(const JoinRequest& request) override;

  // Re-reads the cluster from the store into the caches (the watch thread does it after a
  // broken or compacted watch, and every resync_interval). OK and nothing read before
  // Load or Init made a cluster. DataLoss as Load; the caches keep their previous content
  // on any error.
  Status Resync();
  // Writes this manager's LastSeen to its node record when kSeenWriteInterval passed since
  // the last write: other managers count a manager reachable by it. The daemon calls it
  // every second. OK when there is no cluster; FailedPrecondition when the record changed
  // underneath (the watch brings the new one; the next call writes).
  Status MarkSelfSeen(TimePoint now);
  // Reads the cluster records again (Resync) after another writer re-sealed them without
  // changing them (the key rotation): a later `join-token --rotate` compares against the
  // new revisions at once, before the watch reports them.
  Status RereadTokens();

  bool initialized() const override;
  // Errors: FailedPrecondition "this node is already part of a cluster"; InvalidArgument
  // for a bad ListenAddr or CertExpiry (at least 1 s); start_listener's error (nothing
  // is kept in the store then).
  Result<ClusterInfo> Init(const ClusterInitRequest& request) override;
  // Managers: every manager's ADDR:PORT, this one first; ManagerStatus: each with
  // Reachable (this one always; others when seen within kReadyWindow).
  Result<ClusterInfo> Inspect() override;
  // Changes CertExpiry (request.cert_expiry; ListenAddr must be empty) for certificates
  // issued from now on. Returns the new Inspect().
  Result<ClusterInfo> Update(const ClusterInitRequest& request) override;
  // Command is "oci-secrets cluster join --token T ADDR:PORT", ADDR as AdvertisedAddr.
  // InvalidArgument for a role other than node or manager.
  Result<JoinTokenInfo> JoinToken(std::string_view role, bool rotate) override;
  // PermissionDenied "invalid join token" when the token's CA digest is not this CA's or
  // its secret is neither current secret (compared in constant time; the same words for
  // both cases); InvalidArgument for a malformed token, CSR or hostname (1..253 of
  // [A-Za-z0-9.-]). On success a new node record exists. A manager token: the joiner
  // must share this store (StoreClusterID is this cluster's, else FailedPrecondition
  // kManagerNeedsSharedStore) and name its node ID as the CSR's CN (InvalidArgument
  // otherwise); the record has Role manager and ListenAddr, and the answer carries the
  // root key wrapped for the CSR's key (WrapForPeer).
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
  // Everything a manager caches, as read from the store.
  struct Snapshot;
  Result<Snapshot> ReadSnapshotLocked() const;
  void AdoptLocked(Snapshot snapshot);
  // One watch event on a cluster/, nodes/ or revoked/ key; others are ignored.
  void ApplyLocked(const WatchEvent& e);
  // Where other machines reach the manager of this record (ListenAddr, a wildcard host
  // replaced by this machine's address for itself, by its last seen address otherwise).
  std::string ManagerAddrLocked(const Node& node) const;
  std::vector<std::string> ManagerAddrsLocked() const;
  // The later of the record's LastSeen and what this manager saw itself.
  TimePoint LastSeenLocked(const Node& node) const;
  void StartFollowing();
  void StopFollowing();
  void FollowLoop(std::int64_t from_revision);

  KvStore* kv_;
  Keyring* keyring_;
  std::atomic<bool> listener_started_{false};  // start_listener succeeded once
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

  mutable std::mutex seen_mu_;
  std::unordered_map<std::string, SeenEntry> seen_;

  std::atomic<bool> awaiting_join_{false};
  std::mutex join_mu_;  // one JoinAsManager at a time

  std::mutex follow_mu_;
  std::condition_variable follow_cv_;
  bool follow_stop_ = false;
  std::unique_ptr<Watcher> watcher_;  // guarded by follow_mu_; used by the thread only
  std::int64_t follow_from_ = 0;      // the revision the first watch starts at
  std::thread follow_thread_;
};

}  // namespace ocisecrets
