#include "manager/store/sqlite_kv_store.h"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

namespace ocisecrets {
namespace {

// PRAGMA application_id of our databases ("OCIS"), so that we refuse another program's.
constexpr int kApplicationId = 0x4f434953;
constexpr int kBusyTimeoutMs = 5000;

// Schema migrations, in order. Migration N takes a database from version N-1 to N; each
// runs in one transaction with the user_version bump. Append, never edit.
struct Migration {
  int version;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1,
     // Keys are BLOBs so that any byte sequence compares by memcmp, as etcd's keys do.
     "CREATE TABLE kv ("
     "  key BLOB PRIMARY KEY NOT NULL,"
     "  value BLOB NOT NULL,"
     "  create_revision INTEGER NOT NULL,"
     "  mod_revision INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     "CREATE TABLE meta ("
     "  name TEXT PRIMARY KEY NOT NULL,"
     "  value INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     "INSERT INTO meta (name, value) VALUES ('revision', 0);"},
};
static_assert(std::size(kMigrations) == SqliteKvStore::kSchemaVersion);

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  std::string m(context);
  m += ": ";
  m += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(m));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::DataLoss(std::move(m));
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::PermissionDenied(std::move(m));
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_CONSTRAINT:
      return Status::Internal(std::move(m));
    default:
      return Status::IOError(std::move(m));
  }
}

// Resets a cached statement (and drops its bindings) when it goes out of scope.
class StmtScope {
 public:
  explicit StmtScope(sqlite3_stmt* s) : s_(s) {}
  ~StmtScope() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtScope(const StmtScope&) = delete;
  StmtScope& operator=(const StmtScope&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Binds bytes as a BLOB. A null pointer would bind NULL, so empty data gets a non-null one.
int BindBytes(sqlite3_stmt* s, int i, std::string_view bytes) {
  static const char kEmpty[1] = {0};
  return sqlite3_bind_blob64(s, i, bytes.empty() ? kEmpty : bytes.data(), bytes.size(),
                             SQLITE_STATIC);
}

std::string ColumnBytes(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  if (p == nullptr || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

// Runs SQL without results (pragmas, DDL).
Status Exec(sqlite3* db, const char* sql, std::string_view context) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, context);
  return Status::Ok();
}

// Runs sql and returns extract() of the first column of its single row.
template <typename T, typename Extract>
Result<T> QueryOne(sqlite3* db, const char* sql, std::string_view context, Extract extract) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, context);
  rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    Status st = SqliteError(db, rc, context);
    sqlite3_finalize(s);
    return st;
  }
  T v = extract(s);
  sqlite3_finalize(s);
  return v;
}

// The single integer a pragma returns.
Result<std::int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view context) {
  return QueryOne<std::int64_t>(db, sql, context,
                                [](sqlite3_stmt* s) { return sqlite3_column_int64(s, 0); });
}

Result<std::string> QueryText(sqlite3* db, const char* sql, std::string_view context) {
  return QueryOne<std::string>(db, sql, context, [](sqlite3_stmt* s) {
    const unsigned char* t = sqlite3_column_text(s, 0);
    return std::string(t != nullptr ? reinterpret_cast<const char*>(t) : "");
  });
}

// The smallest key greater than every key that starts with prefix (etcd's "range end"):
// drop trailing 0xFF bytes, then increment the last byte. nullopt: no upper bound
// (empty prefix, or all 0xFF).
std::optional<std::string> PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

Status MigrateLocked(sqlite3* db, int from) {
  for (const Migration& m : kMigrations) {
    if (m.version <= from) continue;
    const std::string ctx = "migrate schema to version " + std::to_string(m.version);
    RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "begin"), ctx);
    std::string sql = m.sql;
    sql += "PRAGMA user_version = " + std::to_string(m.version) + ";";
    sql += "PRAGMA application_id = " + std::to_string(kApplicationId) + ";";
    Status s = Exec(db, sql.c_str(), "apply");
    if (s.ok()) s = Exec(db, "COMMIT", "commit");
    if (!s.ok()) {
      (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s.WithContext(ctx);
    }
  }
  return Status::Ok();
}

}  // namespace

struct SqliteKvStore::Statements {
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* rollback = nullptr;
  sqlite3_stmt* get = nullptr;
  sqlite3_stmt* mod_revision = nullptr;
  sqlite3_stmt* range_from = nullptr;          // key >= ?1
  sqlite3_stmt* range_between = nullptr;       // key >= ?1 AND key < ?2
  sqlite3_stmt* range_keys_from = nullptr;
  sqlite3_stmt* range_keys_between = nullptr;
  sqlite3_stmt* put = nullptr;
  sqlite3_stmt* del = nullptr;
  sqlite3_stmt* del_from = nullptr;
  sqlite3_stmt* del_between = nullptr;
  sqlite3_stmt* get_revision = nullptr;
  sqlite3_stmt* set_revision = nullptr;

  ~Statements() {
    for (sqlite3_stmt* s : {begin, commit, rollback, get, mod_revision, range_from, range_between,
                            range_keys_from, range_keys_between, put, del, del_from, del_between,
                            get_revision, set_revision}) {
      sqlite3_finalize(s);  // no-op on nullptr
    }
  }
};

SqliteKvStore::SqliteKvStore(sqlite3* db) : db_(db), stmts_(std::make_unique<Statements>()) {}

SqliteKvStore::~SqliteKvStore() {
  stmts_.reset();
  // The last connection to close checkpoints the WAL into the database and removes it.
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteKvStore>> SqliteKvStore::Open(const std::string& path) {
  const std::string ctx = "sqlite store " + path;
  // Create the file ourselves so it is 0600 from the first byte; SQLite gives the -wal
  // and -shm files the database's mode.
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return PosixError(ctx + ": open", errno);
  struct stat st {};
  int stat_rc = fstat(fd, &st);
  int stat_err = errno;
  close(fd);
  if (stat_rc != 0) return PosixError(ctx + ": stat", stat_err);
  if (!S_ISREG(st.st_mode)) return Status::FailedPrecondition(ctx + ": not a regular file");

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, rc, ctx + ": open");
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<SqliteKvStore> store(new SqliteKvStore(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // The first read of the file: a file that is not a database fails here with NOTADB.
  ASSIGN_OR_RETURN(std::int64_t app_id, QueryInt(db, "PRAGMA application_id", "read header"),
                   ctx);
  ASSIGN_OR_RETURN(std::int64_t version, QueryInt(db, "PRAGMA user_version", "read header"), ctx);
  if (app_id != 0 && app_id != kApplicationId) {
    return Status::FailedPrecondition(ctx + ": not an oci-secrets database (application_id " +
                                      std::to_string(app_id) + ")");
  }
  if (version == 0) {
    ASSIGN_OR_RETURN(std::int64_t tables,
                     QueryInt(db, "SELECT count(*) FROM sqlite_schema", "read schema"), ctx);
    if (tables != 0) {
      return Status::FailedPrecondition(ctx + ": not an oci-secrets database (has " +
                                        std::to_string(tables) + " foreign schema objects)");
    }
  }
  if (version > kSchemaVersion) {
    return Status::FailedPrecondition(
        ctx + ": schema version " + std::to_string(version) + " is newer than this oci-secretsd " +
        "supports (" + std::to_string(kSchemaVersion) + "); upgrade oci-secretsd");
  }
  store->opened_schema_version_ = static_cast<int>(version);

  ASSIGN_OR_RETURN(std::string mode, QueryText(db, "PRAGMA journal_mode = WAL", "set WAL"), ctx);
  if (mode != "wal") {
    return Status::IOError(ctx + ": cannot use WAL journal (got " + mode + ")");
  }
  // FULL: every commit fsyncs the WAL. secure_delete: freed pages are zeroed, so deleted
  // ciphertext does not linger in the file.
  RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;", "pragmas"),
                  ctx);
  RETURN_IF_ERROR(MigrateLocked(db, static_cast<int>(version)), ctx);
  RETURN_IF_ERROR(store->Prepare(), ctx);

  {
    sqlite3_stmt* s = store->stmts_->get_revision;
    StmtScope scope(s);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
      if (rc == SQLITE_DONE) return Status::DataLoss(ctx + ": revision counter missing");
      return SqliteError(db, rc, ctx + ": read revision");
    }
    store->revision_ = sqlite3_column_int64(s, 0);
  }
  store->log_ = std::make_unique<ChangeLog>(store->revision_);
  return store;
}

Status SqliteKvStore::Prepare() {
  struct {
    sqlite3_stmt** stmt;
    const char* sql;
  } table[] = {
      {&stmts_->begin, "BEGIN IMMEDIATE"},
      {&stmts_->commit, "COMMIT"},
      {&stmts_->rollback, "ROLLBACK"},
      {&stmts_->get,
       "SELECT value, create_revision, mod_revision FROM kv WHERE key = ?1"},
      {&stmts_->mod_revision, "SELECT mod_revision FROM kv WHERE key = ?1"},
      {&stmts_->range_from,
       "SELECT key, value, create_revision, mod_revision FROM kv WHERE key >= ?1 ORDER BY key"},
      {&stmts_->range_between,
       "SELECT key, value, create_revision, mod_revision FROM kv "
       "WHERE key >= ?1 AND key < ?2 ORDER BY key"},
      {&stmts_->range_keys_from,
       "SELECT key, create_revision, mod_revision FROM kv WHERE key >= ?1 ORDER BY key"},
      {&stmts_->range_keys_between,
       "SELECT key, create_revision, mod_revision FROM kv "
       "WHERE key >= ?1 AND key < ?2 ORDER BY key"},
      {&stmts_->put,
       "INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?1, ?2, ?3, ?3) "
       "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
       "mod_revision = excluded.mod_revision"},
      {&stmts_->del, "DELETE FROM kv WHERE key = ?1"},
      {&stmts_->del_from, "DELETE FROM kv WHERE key >= ?1"},
      {&stmts_->del_between, "DELETE FROM kv WHERE key >= ?1 AND key < ?2"},
      {&stmts_->get_revision, "SELECT value FROM meta WHERE name = 'revision'"},
      {&stmts_->set_revision, "UPDATE meta SET value = ?1 WHERE name = 'revision'"},
  };
  for (const auto& t : table) {
    int rc = sqlite3_prepare_v3(db_, t.sql, -1, SQLITE_PREPARE_PERSISTENT, t.stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, std::string("prepare ") + t.sql);
  }
  return Status::Ok();
}

Result<KeyValue> SqliteKvStore::Get(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("get: empty key");
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_stmt* s = stmts_->get;
  StmtScope scope(s);
  int rc = BindBytes(s, 1, key);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "get: bind");
  rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return Status::NotFound("key not found");
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "get");
  KeyValue kv;
  kv.key = key;
  kv.value = ColumnBytes(s, 0);
  kv.create_revision = sqlite3_column_int64(s, 1);
  kv.mod_revision = sqlite3_column_int64(s, 2);
  return kv;
}

Result<std::vector<KeyValue>> SqliteKvStore::Range(const std::string& prefix, bool keys_only) {
  std::lock_guard<std::mutex> lock(mu_);
  return RangeLocked(prefix, keys_only);
}

Result<std::vector<KeyValue>> SqliteKvStore::RangeLocked(const std::string& prefix,
                                                         bool keys_only) {
  std::optional<std::string> end = PrefixEnd(prefix);
  sqlite3_stmt* s = keys_only ? (end ? stmts_->range_keys_between : stmts_->range_keys_from)
                              : (end ? stmts_->range_between : stmts_->range_from);
  StmtScope scope(s);
  int rc = BindBytes(s, 1, prefix);
  if (rc == SQLITE_OK && end) rc = BindBytes(s, 2, *end);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "range: bind");
  std::vector<KeyValue> out;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    KeyValue& kv = out.emplace_back();
    kv.key = ColumnBytes(s, 0);
    int col = 1;
    if (!keys_only) kv.value = ColumnBytes(s, col++);
    kv.create_revision = sqlite3_column_int64(s, col++);
    kv.mod_revision = sqlite3_column_int64(s, col);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "range");
  return out;
}

Result<std::int64_t> SqliteKvStore::ModRevisionLocked(const std::string& key) {
  sqlite3_stmt* s = stmts_->mod_revision;
  StmtScope scope(s);
  int rc = BindBytes(s, 1, key);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
  rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::int64_t{0};
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read");
  return sqlite3_column_int64(s, 0);
}

Status SqliteKvStore::ApplyLocked(const Op& op, std::int64_t revision,
                                  std::vector<WatchEvent>& events) {
  sqlite3_stmt* s = nullptr;
  int rc = SQLITE_OK;
  // Bound with SQLITE_STATIC: must outlive the step below.
  std::optional<std::string> end;
  // What a delete-prefix removes, read inside the txn for the watchers.
  std::vector<KeyValue> doomed;
  switch (op.kind) {
    case Op::Kind::kPut:
      s = stmts_->put;
      rc = BindBytes(s, 1, op.key);
      if (rc == SQLITE_OK) rc = BindBytes(s, 2, op.value);
      if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 3, revision);
      break;
    case Op::Kind::kDelete:
      s = stmts_->del;
      rc = BindBytes(s, 1, op.key);
      break;
    case Op::Kind::kDeletePrefix: {
      ASSIGN_OR_RETURN(doomed, RangeLocked(op.key, /*keys_only=*/true), "read the prefix");
      end = PrefixEnd(op.key);
      s = end ? stmts_->del_between : stmts_->del_from;
      rc = BindBytes(s, 1, op.key);
      if (rc == SQLITE_OK && end) rc = BindBytes(s, 2, *end);
      break;
    }
  }
  StmtScope scope(s);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "bind");
  rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "write");
  switch (op.kind) {
    case Op::Kind::kPut:
      events.push_back({WatchEvent::Kind::kPut, op.key, op.value, revision});
      break;
    case Op::Kind::kDelete:
      if (sqlite3_changes(db_) > 0) events.push_back({WatchEvent::Kind::kDelete, op.key, {}, revision});
      break;
    case Op::Kind::kDeletePrefix:
      for (KeyValue& kv : doomed) {
        events.push_back({WatchEvent::Kind::kDelete, std::move(kv.key), {}, revision});
      }
      break;
  }
  return Status::Ok();
}

Result<TxnResult> SqliteKvStore::Commit(const Txn& txn) {
  RETURN_IF_ERROR(ValidateTxn(txn), "");

  std::lock_guard<std::mutex> lock(mu_);
  {
    StmtScope scope(stmts_->begin);
    int rc = sqlite3_step(stmts_->begin);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "commit: begin");
  }
  auto rollback = [this](Status s) {
    StmtScope scope(stmts_->rollback);
    (void)sqlite3_step(stmts_->rollback);
    return s;
  };

  for (const Compare& c : txn.compares) {
    Result<std::int64_t> current = ModRevisionLocked(c.key);
    if (!current.ok()) return rollback(current.status().WithContext("commit: compare"));
    if (*current != c.mod_revision) {
      (void)rollback(Status::Ok());
      return TxnResult{false, revision_};
    }
  }

  const std::int64_t next = revision_ + 1;
  std::vector<WatchEvent> events;
  for (const Op& op : txn.ops) {
    Status s = ApplyLocked(op, next, events);
    if (!s.ok()) return rollback(s.WithContext("commit: apply"));
  }
  const bool changed = !events.empty();
  if (changed) {
    sqlite3_stmt* s = stmts_->set_revision;
    StmtScope scope(s);
    int rc = sqlite3_bind_int64(s, 1, next);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return rollback(SqliteError(db_, rc, "commit: bump revision"));
  }
  {
    StmtScope scope(stmts_->commit);
    int rc = sqlite3_step(stmts_->commit);
    if (rc != SQLITE_DONE) return rollback(SqliteError(db_, rc, "commit"));
  }
  if (changed) {
    revision_ = next;
    log_->Append(next, std::move(events));
  }
  return TxnResult{true, revision_};
}

Result<std::unique_ptr<Watcher>> SqliteKvStore::Watch(const std::string& prefix,
                                                      std::int64_t start_revision) {
  return log_->Watch(prefix, start_revision);
}

Result<std::int64_t> SqliteKvStore::Revision() {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

}  // namespace ocisecrets
