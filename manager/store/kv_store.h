// The store behind one interface: a revisioned key-value space with compare-and-swap
// transactions, the shape etcd's v3 API has. The embedded engine (SQLite) and the
// replicated engine (etcd) both implement it; the registry above it does every
// read-modify-write as one Txn comparing mod_revision. Engines only ever see what the
// registry gives them: metadata and ciphertext, never a plaintext payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shared/status.h"

namespace ocisecrets {

// The most operations one Txn may carry, etcd's default (--max-txn-ops). A caller with a
// larger batch splits it; an engine refuses a larger txn with InvalidArgument.
inline constexpr std::size_t kMaxTxnOps = 128;

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

class KvStore {
 public:
  virtual ~KvStore() = default;

  // The value at key, or NotFound.
  virtual Result<KeyValue> Get(const std::string& key) = 0;

  // Every key that starts with prefix, in key order. keys_only leaves value empty.
  virtual Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only = false) = 0;

  // Applies txn.ops iff every compare holds. Durable (fsync) before it returns success.
  // A failed compare is not an error: it is TxnResult{succeeded=false}.
  virtual Result<TxnResult> Commit(const Txn& txn) = 0;

  // The current store-wide revision.
  virtual Result<std::int64_t> Revision() = 0;

  // Engine name for /v1/health and `secret ls`'s DRIVER column hint ("sqlite", "etcd").
  virtual std::string Engine() const = 0;
};

}  // namespace ocisecrets
