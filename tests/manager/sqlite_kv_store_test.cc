#include "manager/store/sqlite_kv_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/manager/store_test_util.h"
#include "tests/testing/temp_dir.h"

// SQLite-only behaviour: the file, its schema and modes, what survives a reopen. The
// contract every engine keeps is in kv_store_contract_test.cc.
namespace ocisecrets {
namespace {

using testing::TempDir;

std::unique_ptr<SqliteKvStore> OpenOrDie(const std::string& path) {
  Result<std::unique_ptr<SqliteKvStore>> s = SqliteKvStore::Open(path);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

Txn Put(std::string key, std::string value, std::int64_t expect_mod_revision) {
  Txn t;
  t.compares.push_back({key, expect_mod_revision});
  t.ops.push_back({Op::Kind::kPut, std::move(key), std::move(value)});
  return t;
}

TxnResult CommitOrDie(KvStore& kv, const Txn& txn) {
  Result<TxnResult> r = kv.Commit(txn);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : TxnResult{};
}

// Runs one SQL statement on a raw database file (to build fixtures or inspect).
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

std::int64_t RawInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
  std::int64_t v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

TEST(SqliteKvStoreTest, MigratesAnEmptyDatabaseToTheCurrentSchema) {
  TempDir tmp;
  std::string path = tmp.File("store.db");
  {
    auto kv = OpenOrDie(path);
    ASSERT_NE(kv, nullptr);
    EXPECT_EQ(kv->opened_schema_version(), 0);
    EXPECT_EQ(*kv->Revision(), 0);
    EXPECT_EQ(kv->Engine(), "sqlite");
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_EQ(RawInt(path, "PRAGMA user_version"), SqliteKvStore::kSchemaVersion);
  // WAL is a persistent property of the file: header bytes 18 and 19 are 2.
  std::string header = testing_util::ReadFileBytes(path).substr(0, 20);
  EXPECT_EQ(header[18], 2);
  EXPECT_EQ(header[19], 2);
  auto again = OpenOrDie(path);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->opened_schema_version(), SqliteKvStore::kSchemaVersion);
}

TEST(SqliteKvStoreTest, RefusesADatabaseFromANewerSchema) {
  TempDir tmp;
  std::string path = tmp.File("store.db");
  { ASSERT_NE(OpenOrDie(path), nullptr); }
  RawExec(path, "PRAGMA user_version = 99");
  Result<std::unique_ptr<SqliteKvStore>> s = SqliteKvStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("schema version 99 is newer"), std::string::npos)
      << s.status().message();
  EXPECT_EQ(RawInt(path, "PRAGMA user_version"), 99) << "refusal changed nothing";
}

TEST(SqliteKvStoreTest, RefusesAnotherApplicationsDatabase) {
  TempDir tmp;
  std::string path = tmp.File("other.db");
  RawExec(path, "CREATE TABLE t (x INTEGER)");
  Result<std::unique_ptr<SqliteKvStore>> s = SqliteKvStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("not an oci-secrets database"), std::string::npos);
  EXPECT_EQ(RawInt(path, "SELECT count(*) FROM sqlite_schema"), 1) << "refusal changed nothing";
}

TEST(SqliteKvStoreTest, RefusesAFileThatIsNotADatabase) {
  TempDir tmp;
  std::string path = tmp.File("store.db");
  testing_util::WriteFileBytes(path, std::string(4096, 'x'), 0600);
  Result<std::unique_ptr<SqliteKvStore>> s = SqliteKvStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss) << s.status().ToString();
  EXPECT_EQ(testing_util::ReadFileBytes(path), std::string(4096, 'x'));
}

TEST(SqliteKvStoreTest, CommittedDataSurvivesCloseAndReopen) {
  TempDir tmp;
  std::string path = tmp.File("store.db");
  std::string binary_value("\0\x01\xff payload", 11);
  {
    auto kv = OpenOrDie(path);
    ASSERT_NE(kv, nullptr);
    ASSERT_TRUE(CommitOrDie(*kv, Put("a", binary_value, 0)).succeeded);
    ASSERT_TRUE(CommitOrDie(*kv, Put("b", "", 0)).succeeded);
    ASSERT_TRUE(CommitOrDie(*kv, Put("a", "second", 1)).succeeded);
  }
  auto kv = OpenOrDie(path);
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(*kv->Revision(), 3);
  Result<KeyValue> a = kv->Get("a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value, "second");
  EXPECT_EQ(a->create_revision, 1);
  EXPECT_EQ(a->mod_revision, 3);
  Result<KeyValue> b = kv->Get("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->value, "");
  ASSERT_TRUE(CommitOrDie(*kv, Put("c", binary_value, 0)).succeeded);
  EXPECT_EQ(kv->Get("c")->value, binary_value);
  EXPECT_EQ(*kv->Revision(), 4) << "the counter continues where it was";
}

TEST(SqliteKvStoreTest, AReopenedStoreWatchesFromTheRevisionItOpenedAt) {
  TempDir tmp;
  std::string path = tmp.File("store.db");
  {
    auto kv = OpenOrDie(path);
    ASSERT_NE(kv, nullptr);
    ASSERT_TRUE(CommitOrDie(*kv, Put("a", "1", 0)).succeeded);
    ASSERT_TRUE(CommitOrDie(*kv, Put("a", "2", 1)).succeeded);
  }
  auto kv = OpenOrDie(path);
  ASSERT_NE(kv, nullptr);
  // The changes before this process opened the file are not in memory: compacted.
  Result<std::unique_ptr<Watcher>> old = kv->Watch("", 2);
  EXPECT_EQ(old.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(old.status().message().find("compacted (the store keeps the changes after revision 2)"),
            std::string::npos)
      << old.status().message();
  Result<std::unique_ptr<Watcher>> next = kv->Watch("", 3);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_TRUE(CommitOrDie(*kv, Put("a", "3", 2)).succeeded);
  Result<std::vector<WatchEvent>> events =
      (*next)->Next(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].key, "a");
  EXPECT_EQ((*events)[0].value, "3");
  EXPECT_EQ((*events)[0].mod_revision, 3);
}

}  // namespace
}  // namespace ocisecrets
