// The registry: secrets, services and leases over a KvStore. Every read-modify-write is
// one Txn that compares the mod_revision of what it read, retried a bounded number of
// times on conflict, so several managers may share one store. Payloads are sealed by a
// PayloadSealer before they reach the store and opened only to answer a lease (and to
// compare a rotate's new data with the current one, RotateSecretIfChanged).
//
// Keys: secrets/ID (metadata JSON), payloads/ID (sealed), names/secret/<lower name> -> ID,
// services/ID, names/service/<lower name> -> ID, refs/<secretID>/<serviceID> (a service
// uses a secret), inuse/<secretID> (bumped whenever a reference is added, so a secret
// delete that saw no reference fails its compare if one appeared), leases/<serviceID>/
// <nodeID>/<containerID> (JSON; written behind, see Maintain() and lease_table.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "manager/registry/lease_table.h"
#include "manager/store/keyring.h"
#include "manager/store/kv_store.h"
#include "shared/constraint.h"
#include "shared/models.h"
#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets {

// Store prefix of the sealed payloads: payloads/<secret ID>, sealed for that record key,
// that ID and kPayloadVersion (what the key rotation re-encrypts).
inline constexpr std::string_view kPayloadPrefix = "payloads/";
// Payloads never change after create (only labels may), so the version bound into a
// payload's AAD is this constant, not the metadata's Version.Index.
inline constexpr std::uint64_t kPayloadVersion = 1;

// What the registry needs from the keyring. Implementations are thread-safe. The AAD of
// a sealed payload binds it to record_key, secret_id and version.
class PayloadSealer {
 public:
  virtual ~PayloadSealer() = default;
  virtual Result<std::string> Seal(const std::string& record_key, const std::string& secret_id,
                                   std::uint64_t version, const SecretBytes& plaintext) = 0;
  // DataLoss when the sealed blob does not authenticate for this record.
  virtual Result<SecretBytes> Open(const std::string& record_key, const std::string& secret_id,
                                   std::uint64_t version, const std::string& sealed) = 0;
};

// The PayloadSealer of a manager: the keyring's SealPayload and OpenPayload. keyring must
// outlive it. Thread-safe as Keyring is.
class KeyringSealer final : public PayloadSealer {
 public:
  explicit KeyringSealer(Keyring* keyring) : keyring_(keyring) {}
  Result<std::string> Seal(const std::string& record_key, const std::string& secret_id,
                           std::uint64_t version, const SecretBytes& plaintext) override {
    return keyring_->SealPayload(record_key, secret_id, version, plaintext);
  }
  Result<SecretBytes> Open(const std::string& record_key, const std::string& secret_id,
                           std::uint64_t version, const std::string& sealed) override {
    return keyring_->OpenPayload(record_key, secret_id, version, sealed);
  }

 private:
  Keyring* keyring_;
};

struct RegistryOptions {
  std::chrono::seconds lease_ttl = std::chrono::hours(24);
  int max_retries = 32;                        // per read-modify-write on conflicts
  std::function<TimePoint()> clock;            // default: system clock
  std::function<std::string()> new_id;         // required: 25 base36 chars per call
  // The node of the unix socket: a lease that names no node is its, and so are the
  // leases an older version stored without a node. The daemon passes the ID it keeps in
  // its state dir.
  std::string local_node_id = "local";
  // What placement constraints are checked against: the attributes of the node a lease
  // is for, NotFound for a node it does not know. Called only for services that have
  // constraints, from many threads at once. Unset: the local node alone (local_node_id,
  // gethostname(), role "manager", no labels); any other node is NotFound. A cluster
  // manager wires its node records here.
  std::function<Result<NodeAttributes>(std::string_view node_id)> node_attributes;
  // Told the IDs of the secrets and services each change touched: those this registry
  // commits (after the commit) and those its store watch reports (another manager's).
  // Unset: nobody is told. The daemon wires the ChangeFeed (manager/live) here. Called
  // from the committing request's thread or the watch thread; must be quick.
  std::function<void(const std::vector<std::string>& ids)> on_change;
};

// Server-side filters of `GET /v1/secrets` (ANDed).
struct SecretFilters {
  std::vector<std::string> names;       // name prefix, ignoring case
  std::vector<std::string> id_prefixes;
  std::vector<std::string> labels;      // "K" (has K) or "K=V"
};

// A granted lease plus what the audit log records about it.
struct LeaseOutcome {
  LeaseGrant grant;
  std::string service_id;
  std::vector<std::string> secret_ids;
};

class Registry {
 public:
  // store and sealer must outlive the registry. Call Load() once before serving.
  // Starts a thread that watches the store, so that the lease fast path learns of changes
  // made by another manager sharing it without asking the store on every lease.
  Registry(KvStore* store, PayloadSealer* sealer, RegistryOptions options);
  // Stops and joins the watch thread.
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Loads recorded leases (dropping expired ones) into the in-memory lease table; those
  // an older version stored without a node become the local node's.
  Status Load();

  // Creates a secret; returns it as stored (its new ID, times, Version.Index = the
  // store revision of the create). InvalidArgument on a bad name or size,
  // AlreadyExists ("secret NAME already exists") when the name is taken ignoring case.
  Result<Secret> CreateSecret(const SecretSpec& spec, const SecretBytes& data);

  // Secrets matching every filter, sorted by name.
  Result<std::vector<Secret>> ListSecrets(const SecretFilters& filters);

  // Resolves NAME_OR_ID as docs/API.md says (ID, name, name ignoring case, unique ID
  // prefix). NotFound otherwise, including an ambiguous prefix.
  Result<Secret> InspectSecret(std::string_view name_or_id);

  // Only labels may change; the name must stay. FailedPrecondition on a stale version.
  Result<Secret> UpdateSecret(std::string_view name_or_id, std::uint64_t version,
                              const SecretSpec& spec);

  // Removes a secret and its payload; FailedPrecondition naming the services using it.
  Result<Secret> RemoveSecret(std::string_view name_or_id);

  // Creates a service. Each reference resolves by SecretID, else by SecretName; the
  // stored spec carries both. NotFound for an unknown secret.
  Result<Service> CreateService(ServiceSpec spec);
  Result<std::vector<Service>> ListServices();
  Result<Service> InspectService(std::string_view name_or_id);
  // Replaces the whole spec; the name must not change. Stale version: FailedPrecondition.
  Result<Service> UpdateService(std::string_view name_or_id, std::uint64_t version,
                                ServiceSpec spec);
  // Removes a service, its references and its leases.
  Result<Service> RemoveService(std::string_view name_or_id);

  // Grants (or renews) the lease of the container on request.node_id (empty: the local
  // node) on the service: every payload opened, the lease recorded in memory at once and
  // in the store by the next Maintain(). Leases are keyed by (node, container): the same
  // container ID on two nodes holds two leases. NotFound "service X not found",
  // InvalidArgument for a bad container or node ID. The caller wipes the grant's payloads
  // (SecretBytes does on destruction). Who may lease for which node is the caller's
  // decision (the router's). A service with placement constraints is leased only to a
  // node that satisfies them all (RegistryOptions::node_attributes): PermissionDenied
  // "node ID (HOSTNAME) does not satisfy constraint node.labels.zone==eu of service
  // redis" otherwise, and the error of node_attributes with the service as context when
  // the node's attributes cannot be had. Nothing is recorded for a refused lease.
  Result<LeaseOutcome> Lease(const LeaseRequest& request);

  // Ends the lease of the container on node_id (empty: the local node); OK also when
  // there is none. Returns whether one existed. Another node's lease of the same
  // container ID stays. InvalidArgument for a bad container or node ID.
  Result<bool> EndLease(std::string_view container_id, std::string_view node_id = {});

  // Drops expired leases and writes pending lease changes to the store, in txns of at
  // most kMaxTxnOps ops; a failed txn's writes are retried by the next call (see
  // LeaseTable::Flush). Call periodically (e.g. every second) and once at shutdown.
  Status Maintain();

  // Live secrets (DESIGN.md "Live updates"; contracts in registry.cc's implementation
  // notes until they settle here).
  // A new data version with data as its payload: Index grows, the previous version is kept
  // (for rollback and, with overlap > 0, granted at TARGET.previous until now + overlap);
  // a revoked secret is restored.
  Result<Secret> RotateSecret(std::string_view name_or_id, const SecretBytes& data,
                              std::chrono::seconds overlap);
  // RotateSecret only when data differs from the current payload (compared in constant
  // time; a revoked secret always rotates): equal, nothing is written and the result says
  // changed == false. Two concurrent calls with the same new data may both rotate.
  Result<SecretRotateResult> RotateSecretIfChanged(std::string_view name_or_id,
                                                   const SecretBytes& data,
                                                   std::chrono::seconds overlap);
  // The previous version current again (FailedPrecondition when there is none).
  Result<Secret> RollbackSecret(std::string_view name_or_id);
  // Marks the secret revoked: new leases that need it are refused, renewals leave it out.
  Result<Secret> RevokeSecret(std::string_view name_or_id);
  // Who holds a secret now, or what a service's containers hold: one row per (live lease,
  // secret), sorted by node, container, secret name.
  Result<std::vector<SecretHolder>> SecretHolders(std::string_view name_or_id);
  Result<std::vector<SecretHolder>> ServiceHolders(std::string_view name_or_id);
  // Records what node_id's containers hold now (after a live update): each named
  // container's lease gets these versions. A container without a live lease on node_id is
  // ignored. InvalidArgument for a bad node or container ID.
  Status RecordHeld(std::string_view node_id, const HeldReport& report);

  // Live (unexpired) leases in memory.
  std::size_t LeaseCount();

  std::string Engine() const { return store_->Engine(); }

 private:
  // What a lease of one service needs from the store: the service and its sealed
  // payloads, valid while plans_generation_ is still `generation` and, when the watch is
  // not running, the store revision is still `revision`. With the watch running a cached
  // plan costs no store call at all. Ciphertext only: payloads are opened per lease.
  struct LeasePlan {
    std::uint64_t generation = 0;
    bool watched = false;       // built while the watch ran: `revision` is not checked
    std::int64_t revision = 0;
    Service service;
    // Per spec.secrets entry: its data versions and the sealed payloads of the current
    // version and, during an overlap, of the previous one (empty otherwise).
    struct SecretPayloads {
      SecretData data;
      std::string sealed;
      std::string sealed_previous;
    };
    std::vector<SecretPayloads> secrets;
    std::vector<Constraint> constraints;  // service.spec.constraints, parsed once
  };
  Result<std::shared_ptr<const LeasePlan>> PlanFor(const std::string& service_query);

  // store_->Commit, then, when it succeeded, InvalidatePlans(): the very next lease sees a
  // change made through this registry, before the watch reports it.
  Result<TxnResult> CommitChange(const Txn& txn);
  // Every cached plan is stale from now on.
  void InvalidatePlans() { plans_generation_.fetch_add(1, std::memory_order_acq_rel); }
  // Records that every change up to `revision` is visible to the plans built since the
  // last InvalidatePlans(): the watch skips its reports of those changes.
  void NoteInvalidatedThrough(std::int64_t revision) {
    std::int64_t seen = invalidated_through_.load(std::memory_order_relaxed);
    while (seen < revision &&
           !invalidated_through_.compare_exchange_weak(seen, revision, std::memory_order_acq_rel)) {
    }
  }
  // Remembers that this registry told on_change of the commit at revision.
  void NoteOwnRevision(std::int64_t revision);
  // Tells on_change of the secrets and services a watched batch changed, but those of
  // this registry's own commits (told already).
  void TellWatchedChanges(const std::vector<WatchEvent>& batch);
  // RegistryOptions::on_change with the IDs of the services that use secret_id (read from
  // the store; nothing when that fails): after a change of its data, a container whose
  // lease left the secret out (revoked) is found through its service.
  void TellServicesOf(const std::string& secret_id);
  // Opens the watch from the store's current revision + 1 and marks the cache watched.
  Status StartWatch();
  // The watch thread: invalidates plans on every change outside leases/, reopens the
  // watch when it breaks (compacted, store unavailable), until ~Registry.
  void WatchLoop();

  TimePoint Now() const;
  Result<std::string> ResolveId(std::string_view kind, std::string_view name_or_id);
  Result<Secret> LoadSecret(const std::string& id, KeyValue* kv);
  Result<Service> LoadService(const std::string& id, KeyValue* kv);
  Result<Service> ResolveService(std::string_view name_or_id, KeyValue* kv);
  // The read-modify-write of one secret's metadata and payloads behind rotate, rollback
  // and revoke: change gets the secret as stored and fills the txn's ops beyond the
  // metadata put (payload writes and deletes); an error from it is returned as is. Retried
  // on conflicts; `what` names the operation in TooManyConflicts.
  Result<Secret> ChangeSecretData(std::string_view name_or_id, std::string_view what,
                                  const std::function<Status(Secret*, Txn*)>& change);
  // Resolves every reference of spec (fills SecretID, SecretName, default target) and
  // adds to txn a compare on each secret it relies on.
  Status ResolveReferences(ServiceSpec* spec, Txn* txn);
  // Live leases by service ID: this manager's (in memory) plus those another manager
  // sharing the store recorded. Only service_id's when it is not empty.
  std::map<std::string, std::vector<LeaseInfo>> LiveLeases(const std::string& service_id);
  std::vector<LeaseInfo> LeasesOf(const std::string& service_id);
  // The node a lease call names: node_id, or the local node when empty; validated.
  Result<std::string_view> LeaseNode(std::string_view node_id) const;
  // OK when node satisfies every constraint of plan's service; see Lease().
  Status CheckPlacement(const LeasePlan& plan, std::string_view node) const;
  // RegistryOptions::node_attributes when set, else the local node only.
  Result<NodeAttributes> NodeAttributesOf(std::string_view node) const;

  KvStore* store_;
  PayloadSealer* sealer_;
  RegistryOptions options_;

  static constexpr std::size_t kMaxPlans = 1024;
  std::mutex plans_mu_;
  std::map<std::string, std::shared_ptr<const LeasePlan>> plans_;  // by the query as sent
  std::atomic<std::uint64_t> plans_generation_{0};
  std::atomic<std::int64_t> invalidated_through_{0};  // see NoteInvalidatedThrough
  std::atomic<bool> watching_{false};  // the watch runs: cached plans need no Revision()

  // Revisions of this registry's commits that on_change was told of and the watch has not
  // reported yet; bounded (a watch that is not running never trims it).
  static constexpr std::size_t kMaxOwnRevisions = 4096;
  std::mutex own_mu_;
  std::set<std::int64_t> own_revisions_;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;                // guarded by watch_mu_
  std::unique_ptr<Watcher> watcher_;     // guarded by watch_mu_ (Next runs unlocked)
  std::thread watch_thread_;             // started by the constructor's body

  LeaseTable leases_;
};

}  // namespace ocisecrets
