// The embedded engine of KvStore: one SQLite database in the state dir, WAL journal,
// synchronous=FULL (a commit is on disk before Commit returns), a schema version with
// migrations, and a store-wide revision counter with etcd's semantics. Its watch is served
// from memory (a ChangeLog): one process per database, so every change is made here; a
// watch cannot start before the revision the database had when it was opened.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "manager/store/change_log.h"
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

  // KvStore: the contract of kv_store.h. Every method is thread-safe (one mutex). Keys
  // are any bytes, non-empty. Unavailable: the database stayed locked (SQLITE_BUSY) past
  // the busy timeout; from Commit this one means nothing was written.
  Result<KeyValue> Get(const std::string& key) override;
  Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only = false) override;
  // One IMMEDIATE transaction: checks every compare, then applies the ops in order.
  Result<TxnResult> Commit(const Txn& txn) override;
  Result<std::int64_t> Revision() override;
  // Served from the last ChangeLogLimits worth of changes made since Open.
  Result<std::unique_ptr<Watcher>> Watch(const std::string& prefix,
                                         std::int64_t start_revision) override;
  std::string Engine() const override { return "sqlite"; }

  // The schema version found in the file when it was opened (0: it was new).
  int opened_schema_version() const { return opened_schema_version_; }

 private:
  struct Statements;
  explicit SqliteKvStore(sqlite3* db);

  Status Prepare();
  Result<std::int64_t> ModRevisionLocked(const std::string& key);
  Result<std::vector<KeyValue>> RangeLocked(const std::string& prefix, bool keys_only);
  // Applies op at revision, adding to events what it changed.
  Status ApplyLocked(const Op& op, std::int64_t revision, std::vector<WatchEvent>& events);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> stmts_;
  std::int64_t revision_ = 0;  // cached: only this process writes the database
  int opened_schema_version_ = 0;
  std::unique_ptr<ChangeLog> log_;  // from Open on, at the revision found
};

}  // namespace ocisecrets
