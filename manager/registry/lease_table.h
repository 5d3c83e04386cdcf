// The registry's lease table: which container on which node holds a lease on which
// service, until when. Leases live in memory and are written behind: Put and End change
// memory only (no store round trip on the lease fast path); Flush writes what changed.
//
// Stored keys: leases/<serviceID>/<nodeID>/<containerID>, value {"ContainerID",
// "CreatedAt", "ExpiresAt", "Versions" (absent when empty): {SECRET_ID: data version}}. Versions before leases were keyed by node wrote
// leases/<serviceID>/<containerID>: Load reads those as the local node's and the next
// Flush moves them to the new key.
//
// Thread safety: every method may be called from many threads at once (one mutex; Flush
// and Live do their store calls without holding it).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manager/store/kv_store.h"
#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

// A node ID as leases carry it: 1 to 64 characters of [A-Za-z0-9_.-]. InvalidArgument
// "invalid node ID ..." otherwise.
Status ValidateNodeId(std::string_view node_id);

class LeaseTable {
 public:
  // store must outlive the table. local_node_id owns the leases an older version stored
  // without a node.
  LeaseTable(KvStore* store, std::string local_node_id);

  // Reads the stored leases into memory. Expired or unreadable ones are dropped (their
  // deletion pending), old two-segment keys are taken as the local node's (rewritten by
  // the next Flush). Call once, before serving. The store's error with context on failure.
  Status Load(TimePoint now);

  // Grants or renews the lease of (node_id, container_id) on service_id until expires_at,
  // holding `versions` (secret ID -> data version). A renewal on the same service keeps
  // its created_at; a lease that moves to another service replaces the old one. Stored by
  // the next Flush. Arguments are not validated.
  void Put(std::string_view node_id, std::string_view container_id,
           const std::string& service_id, TimePoint now, TimePoint expires_at,
           std::map<std::string, std::uint64_t> versions);

  // The lease of (node_id, container_id) on service_id live at now: this table's, else
  // the one another manager sharing the store recorded (one store read). Empty when there
  // is none (or the store cannot say).
  std::optional<LeaseInfo> Find(std::string_view node_id, std::string_view container_id,
                                const std::string& service_id, TimePoint now);

  // Replaces the versions held by the live lease of (node_id, container_id), on whatever
  // service; returns false (and changes nothing) when it has none in this table. Stored
  // by the next Flush.
  bool SetVersions(std::string_view node_id, std::string_view container_id,
                   std::map<std::string, std::uint64_t> versions, TimePoint now);

  // Ends the lease of (node_id, container_id); returns whether there was one. The lease of
  // the same container ID on another node stays.
  bool End(std::string_view node_id, std::string_view container_id);

  // Forgets every lease on service_id, in memory and pending. The caller deletes the
  // stored ones (prefix leases/<serviceID>/) in its own txn.
  void ForgetService(const std::string& service_id);

  // Drops the leases expired at now, then writes every pending change in txns of at most
  // kMaxTxnOps ops each. The writes of a txn that fails stay pending for the next Flush
  // (a change made meanwhile wins over them); the other txns still commit. Returns OK or
  // the first failure, "lease flush: ..." (several calls may run, but one at a time is
  // the intent: the daemon calls it every second and at shutdown).
  Status Flush(TimePoint now);

  // Leases in memory that are live at now.
  std::size_t LiveCount(TimePoint now);

  // Live leases at now by service ID: this table's plus those another manager sharing
  // the store recorded (read from the store; a store error leaves just this table's).
  // Only service_id's when it is not empty. Each list sorted by container, then node.
  std::map<std::string, std::vector<LeaseInfo>> Live(const std::string& service_id,
                                                     TimePoint now);

 private:
  struct Record {
    std::string service_id;
    TimePoint created_at{};
    TimePoint expires_at{};
    std::map<std::string, std::uint64_t> versions;
  };
  struct Pending {
    bool remove = false;  // delete the key; else put a lease of these times
    TimePoint created_at{};
    TimePoint expires_at{};
    std::map<std::string, std::uint64_t> versions;
  };

  // Requires mu_. Marks the stored key of (service_id, node/container) for deletion.
  void PendRemoveLocked(const std::string& service_id, const std::string& lease_key);

  KvStore* store_;
  const std::string local_node_id_;

  std::mutex mu_;
  // By "<nodeID>/<containerID>" (neither holds a '/').
  std::unordered_map<std::string, Record> leases_;
  // No lease in leases_ expires before this: Flush skips its scan until then.
  TimePoint earliest_expiry_ = TimePoint::max();
  // Store writes not yet flushed, by stored key: the latest change of each key wins.
  std::unordered_map<std::string, Pending> pending_;
};

}  // namespace ocisecrets
