// Key rotation (DESIGN.md "Encryption at rest"): `cluster rotate-key` adds a keyring term
// that new writes use at once; a background pass then re-encrypts every sealed record
// under it and retires the older terms once nothing uses them.
//
// The pass lives in the store record keyring/rotation (JSON):
//   {"Term","Cursor","Done","Total","Owner","LeaseUntil","StartedAt","FinishedAt"}
// One manager at a time owns it: the owner is whoever last wrote the record with a
// LeaseUntil in the future (a compare-and-swap on the record's mod_revision); every batch
// renews the lease in the same txn as its records, so a manager that lost the pass can
// never write a batch. When the owner dies, another manager takes over once LeaseUntil
// has passed and goes on from Cursor.
//
// Order of the pass: payloads/ in key order (Cursor is the last payload key handled),
// then the cluster's sealed records (cluster/ca's SealedKey, cluster/tokens/<role>), then
// a final scan of all of them: when a record still uses an older term (a create that
// sealed just before the rotation and committed after the walk passed its key), the walk
// starts again from the first payload; otherwise every older term is retired and the
// record gets FinishedAt.
//
// The final scan runs no earlier than kRetireGrace after StartedAt. A manager that had not
// seen the new term yet may seal a record under the old one and commit it after the walk
// passed its key; the scan finds it, unless it commits between the scan and the retire,
// and then it would be stranded (its term gone). The grace rules that out: every manager
// knows the new term within kKeyringRefreshInterval of its creation (its watch, or the
// backstop re-read), and a seal made before that reaches the store within its request
// deadline; so what commits after the grace was sealed under the new term.
//
// Thread safety: every public method may be called from any thread; Step calls are
// serialized on one lock (the background thread and a test may both call it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "manager/api/cluster_hooks.h"
#include "manager/store/keyring.h"
#include "manager/store/kv_store.h"
#include "shared/status.h"
#include "shared/time_format.h"

namespace ocisecrets {

// Store key of the pass's record.
inline constexpr std::string_view kRotationKey = "keyring/rotation";
// How long a pass stays with its owner without a write from it.
inline constexpr std::chrono::seconds kRotationLease{15};
// Default of oci-secretsd --reencrypt-rate (records per second).
inline constexpr double kDefaultReencryptRate = 1000;
// How often the background thread reads the keyring again without a watch event (the
// watch may have missed one): the bound on how long a manager may still seal under the
// old term after another manager rotated.
inline constexpr std::chrono::seconds kKeyringRefreshInterval{5};
// The least time from a pass's StartedAt to its final scan and retire: the keyring
// refresh interval, plus a store request's deadline over every etcd endpoint (3 x 5 s),
// plus room for the managers' clocks to differ.
inline constexpr std::chrono::seconds kRetireGrace{30};

struct KeyRotationOptions {
  std::string owner;                       // this manager's node ID (the record's Owner)
  double rate = kDefaultReencryptRate;     // records per second the background thread does
  std::function<TimePoint()> clock;        // the lease's clock; default: the system clock
  // The least time from StartedAt to the retire (see above); tests of one keyring set 0.
  std::chrono::seconds retire_grace = kRetireGrace;
  // Called (from the pass) after it re-encrypted the cluster's sealed records, so that a
  // cache of their mod_revisions can be read again. Optional.
  std::function<void()> on_cluster_resealed;
};

class KeyRotation : public KeyRotationHooks {
 public:
  // kv and keyring must outlive this object. Nothing happens until Start, Step or
  // StartBackground.
  KeyRotation(KvStore* kv, Keyring* keyring, KeyRotationOptions options);
  ~KeyRotation() override;  // stops the background thread

  // Rotates the keyring (a new current term) and writes a new pass owned by this manager.
  // Returns the new term. FailedPrecondition "a key rotation is already running (N of M
  // records)" while an earlier pass is not finished; Unavailable "the keyring is locked";
  // store errors with context.
  Result<std::uint32_t> Start();

  // One unit of work: takes the pass when it is free (its lease has passed) or ours, then
  // re-encrypts one batch (at most max_records records, at most kMaxTxnOps - 1, within
  // kMaxTxnBytes), or moves the pass to its next stage. Returns the number of records
  // handled, at least 1 whenever the pass moved; 0 when there is nothing to do here (no
  // running pass, another manager owns it, the keyring is locked, or a record changed
  // meanwhile and the next Step retries the batch from the same cursor, or the walk is
  // done and the retire waits for options.retire_grace to pass). Errors: the
  // store's, or DataLoss naming a record that does not open (the pass then stays where
  // it is).
  Result<std::size_t> Step(std::size_t max_records);

  // The keyring's terms and the pass's progress, from the store. Rotation's State is
  // "running" until the pass set FinishedAt, then "done".
  Result<KeyStatus> GetKeyStatus() override;
  // KeyRotationHooks: Start.
  Result<std::uint32_t> RotateKey() override { return Start(); }

  // Starts the background thread: it follows keyring/ through a watch (Keyring::Refresh
  // on every change of a term, when the watch breaks, and every kKeyringRefreshInterval
  // as a backstop) and
  // calls Step at options.rate
  // records per second. Errors are logged to stderr once per kind, never a payload.
  // Idempotent.
  void StartBackground();
  // Stops and joins the background thread. Idempotent.
  void Stop();

  KeyRotation(const KeyRotation&) = delete;
  KeyRotation& operator=(const KeyRotation&) = delete;

 private:
  struct Record;  // the parsed keyring/rotation

  TimePoint Now() const { return options_.clock(); }
  Result<std::optional<Record>> ReadRecord();
  // Takes or renews the pass for this manager; nullopt when another manager owns it or
  // there is none running.
  Result<std::optional<Record>> Acquire();
  Result<std::size_t> PayloadBatch(Record& record, std::size_t max_records);
  Result<std::size_t> ClusterRecords(Record& record);
  Result<std::size_t> Finish(Record& record);
  // Commits txn plus the record's new state, comparing the record's revision too.
  Result<bool> CommitWithRecord(Txn txn, Record& record);
  void Loop();

  KvStore* kv_;
  Keyring* keyring_;
  KeyRotationOptions options_;
  std::mutex step_mu_;
  // The payload keys of the walk, read once per owner and pass (keys only).
  std::vector<std::string> walk_keys_;
  std::string walk_for_;  // StartedAt of the pass walk_keys_ belongs to

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                  // guarded by mu_
  std::unique_ptr<Watcher> watcher_;   // guarded by mu_ (Next runs unlocked), on keyring/
  std::thread thread_;
};

}  // namespace ocisecrets
