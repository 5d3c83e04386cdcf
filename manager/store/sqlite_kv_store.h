// The embedded engine of KvStore: one SQLite database in the state dir, WAL journal,
// synchronous=FULL (a commit is on disk before Commit returns), a schema version with
// migrations, and a store-wide revision counter with etcd's semantics.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "manager/store/kv_store.h"
#include "shared/status.h"

struct sqlite3;

namespace ocisecrets {

class SqliteKvStore final : public KvStore {
 public:
  // The schema version this build writes (PRAGMA user_version after migrations).
  static constexpr int kSchemaVersion = 1;

  // Opens (creating it 0600 when missing) the database at path and brings its schema up
  // to kSchemaVersion. FailedPrecondition for a database of a newer schema or of another
  // application; DataLoss for a file that is not a database; IOError otherwise. The
  // caller holds the state dir lock: one process per database.
  static Result<std::unique_ptr<SqliteKvStore>> Open(const std::string& path);

  ~SqliteKvStore() override;
  SqliteKvStore(const SqliteKvStore&) = delete;
  SqliteKvStore& operator=(const SqliteKvStore&) = delete;

  // KvStore. Every method is thread-safe (one mutex). Keys are any bytes, non-empty.
  Result<KeyValue> Get(const std::string& key) override;
  Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only = false) override;
  // One IMMEDIATE transaction: checks every compare, then applies the ops in order. All ops
  // of a txn share one new revision; a txn that changes nothing keeps the revision.
  // InvalidArgument for an empty key or a negative compare revision.
  Result<TxnResult> Commit(const Txn& txn) override;
  Result<std::int64_t> Revision() override;
  std::string Engine() const override { return "sqlite"; }

  // The schema version found in the file when it was opened (0: it was new).
  int opened_schema_version() const { return opened_schema_version_; }

 private:
  struct Statements;
  explicit SqliteKvStore(sqlite3* db);

  Status Prepare();
  Result<std::int64_t> ModRevisionLocked(const std::string& key);
  Status ApplyLocked(const Op& op, std::int64_t revision, bool& changed);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> stmts_;
  std::int64_t revision_ = 0;  // cached: only this process writes the database
  int opened_schema_version_ = 0;
};

}  // namespace ocisecrets
