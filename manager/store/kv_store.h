// The store behind one interface: a revisioned key-value space with compare-and-swap
// transactions and a watch, the shape etcd's v3 API has. The embedded engine (SQLite) and
// the replicated engine (etcd) both implement it, and one contract test suite runs
// against every engine; the registry above it does every read-modify-write as one Txn
// comparing mod_revision. Engines only ever see what the registry gives them: metadata
// and ciphertext, never a plaintext payload.
//
// Thread safety: every method of KvStore and of Watcher may be called concurrently from
// any number of threads.
//
// Errors every method may return:
//   Unavailable      the engine cannot be reached or is not serving right now (etcd down,
//                    SQLite busy past its timeout, the store closed). Retrying later may
//                    succeed. From Commit, the outcome is NOT known: the txn may have been
//                    applied (etcd: the request may have reached the leader before the
//                    connection dropped); re-read before retrying. Every other error from
//                    Commit means nothing was written.
//   InvalidArgument  the request breaks a limit below or has an empty key.
//   IOError, DataLoss, PermissionDenied, Internal: as their names say.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/status.h"

namespace ocisecrets {

// The most operations one Txn may carry, etcd's default (--max-txn-ops); the same limit
// holds for its compares. A caller with a larger batch splits it; an engine refuses a
// larger txn with InvalidArgument naming the limit, and never cuts it silently.
inline constexpr std::size_t kMaxTxnOps = 128;

// The most bytes one Txn may carry: the keys and values of its ops plus the keys of its
// compares. etcd's default request limit (--max-request-bytes, 1.5 MiB). A larger txn is
// refused with InvalidArgument naming the limit. One value can therefore be at most this
// size less its key; the registry's largest value (a sealed 500 KB payload) fits.
inline constexpr std::size_t kMaxTxnBytes = 1536 * 1024;

struct KeyValue {
  std::string key;
  std::string value;          // opaque bytes
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;   // store-wide revision of the last write to this key
};

// One condition of a transaction. mod_revision == 0 means "the key must not exist".
struct Compare {
  std::string key;
  std::int64_t mod_revision = 0;
};

struct Op {
  enum class Kind { kPut, kDelete, kDeletePrefix } kind = Kind::kPut;
  std::string key;
  std::string value;  // kPut only
};

struct Txn {
  std::vector<Compare> compares;  // all must hold...
  std::vector<Op> ops;            // ...for all of these to apply, atomically and durably
};

struct TxnResult {
  bool succeeded = false;     // false: a compare failed and nothing was written
  std::int64_t revision = 0;  // the store revision after the txn (when succeeded)
};

// One change seen by a Watcher. A kDeletePrefix op shows as one kDelete per key it removed.
struct WatchEvent {
  enum class Kind { kPut, kDelete } kind = Kind::kPut;
  std::string key;
  std::string value;              // kPut only: the new value
  std::int64_t mod_revision = 0;  // the revision of the txn that made the change
};

// A stream of the changes under one prefix, opened by KvStore::Watch. Destroying it
// cancels it. May outlive its KvStore: Next then returns Unavailable.
class Watcher {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  virtual ~Watcher() = default;

  // Blocks until at least one change is ready or deadline passes, then returns every
  // change ready so far: in revision order, the changes of one txn in its op order, each
  // change exactly once over the life of the watcher. An empty batch: deadline passed.
  // Unavailable: cancelled (Cancel) or the engine ended the stream; watch again from the
  // last revision seen + 1. FailedPrecondition ("compacted"): the engine no longer holds
  // the changes this watcher still had to deliver (it fell too far behind); re-read what
  // you need with Range and watch again (see KvStore::Watch).
  virtual Result<std::vector<WatchEvent>> Next(Deadline deadline) = 0;

  // Makes a blocked Next (and every later one) return Unavailable at once. Idempotent.
  virtual void Cancel() = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  // The value at key, or NotFound. InvalidArgument for an empty key.
  virtual Result<KeyValue> Get(const std::string& key) = 0;

  // Every key that starts with prefix (the empty prefix: every key), in key order by
  // memcmp of the bytes. keys_only leaves value empty.
  virtual Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only = false) = 0;

  // Applies txn.ops iff every compare holds. Durable before it returns success. All ops of
  // a txn share one new revision (the current one + 1); a txn that changes nothing (only
  // deletes of missing keys, or no ops) keeps the revision. A failed compare is not an
  // error: it is TxnResult{succeeded=false}. InvalidArgument (nothing written) for more
  // than kMaxTxnOps ops or compares, more than kMaxTxnBytes, an empty key or prefix, or a
  // negative compare revision. Unavailable: see the top of this file. Ops of one txn on
  // the same key: the end state is that of applying them in order, but an engine may show
  // a watcher only the net change (etcd: one write per key and txn), and etcd refuses a
  // put under an earlier delete-prefix of the same txn (InvalidArgument).
  virtual Result<TxnResult> Commit(const Txn& txn) = 0;

  // The current store-wide revision: that of the last txn that changed something (0 for
  // an empty new store).
  virtual Result<std::int64_t> Revision() = 0;

  // Opens a watcher on every change (puts and deletes) to keys starting with prefix (the
  // empty prefix: every key) made at revision >= start_revision; start_revision 0 means
  // "from the next change". Inclusive, as etcd's start_revision is: to follow a read at
  // revision R, watch from R + 1. A start revision in the future is fine (its changes come
  // when they happen). FailedPrecondition ("compacted") when the engine no longer holds
  // changes as old as start_revision: take R = Revision(), re-read with Range, and watch
  // from R + 1 (the watch may then repeat a change the Range already showed).
  // InvalidArgument for a negative start_revision.
  virtual Result<std::unique_ptr<Watcher>> Watch(const std::string& prefix,
                                                 std::int64_t start_revision) = 0;

  // Engine name for /v1/health and `secret ls`'s DRIVER column hint ("sqlite", "etcd").
  virtual std::string Engine() const = 0;
};

// The checks every engine makes on a txn before it touches anything: the limits above,
// no empty key or prefix, no negative compare revision. OK or InvalidArgument naming the
// limit or the fault, prefixed "commit: ".
Status ValidateTxn(const Txn& txn);

}  // namespace ocisecrets
