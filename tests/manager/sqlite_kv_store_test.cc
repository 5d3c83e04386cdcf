#include "manager/store/sqlite_kv_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/manager/store_test_util.h"

namespace ocisecrets {
namespace {

using testing_util::TempDir;

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

TEST(SqliteKvStoreTest, GetOfAMissingKeyIsNotFound) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv->Get("nope").status().code(), StatusCode::kNotFound);
}

TEST(SqliteKvStoreTest, CompareOnAbsentKeyCreatesOnce) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  TxnResult first = CommitOrDie(*kv, Put("secrets/a", "v1", 0));
  EXPECT_TRUE(first.succeeded);
  EXPECT_EQ(first.revision, 1);
  TxnResult second = CommitOrDie(*kv, Put("secrets/a", "v2", 0));
  EXPECT_FALSE(second.succeeded) << "mod_revision 0 means the key must not exist";
  EXPECT_EQ(*kv->Revision(), 1);
  Result<KeyValue> got = kv->Get("secrets/a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "v1");
  EXPECT_EQ(got->create_revision, 1);
  EXPECT_EQ(got->mod_revision, 1);
}

TEST(SqliteKvStoreTest, StaleRevisionFailsAndCurrentRevisionSucceeds) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  ASSERT_TRUE(CommitOrDie(*kv, Put("k", "v1", 0)).succeeded);        // rev 1
  ASSERT_TRUE(CommitOrDie(*kv, Put("other", "x", 0)).succeeded);     // rev 2
  TxnResult update = CommitOrDie(*kv, Put("k", "v2", 1));
  ASSERT_TRUE(update.succeeded);
  EXPECT_EQ(update.revision, 3);
  TxnResult stale = CommitOrDie(*kv, Put("k", "v3", 1));
  EXPECT_FALSE(stale.succeeded);
  EXPECT_EQ(stale.revision, 3);
  Result<KeyValue> got = kv->Get("k");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "v2");
  EXPECT_EQ(got->create_revision, 1);
  EXPECT_EQ(got->mod_revision, 3);
}

TEST(SqliteKvStoreTest, AFailedCompareWritesNothing) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  ASSERT_TRUE(CommitOrDie(*kv, Put("a", "1", 0)).succeeded);
  Txn txn;
  txn.compares = {{"a", 1}, {"b", 5}};  // the second does not hold
  txn.ops = {{Op::Kind::kPut, "a", "changed"},
             {Op::Kind::kPut, "c", "new"},
             {Op::Kind::kDelete, "a", ""}};
  TxnResult r = CommitOrDie(*kv, txn);
  EXPECT_FALSE(r.succeeded);
  EXPECT_EQ(kv->Get("a")->value, "1");
  EXPECT_EQ(kv->Get("c").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*kv->Revision(), 1);
}

TEST(SqliteKvStoreTest, AllOpsOfATxnShareOneRevision) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  Txn txn;
  txn.ops = {{Op::Kind::kPut, "x/1", "a"}, {Op::Kind::kPut, "x/2", "b"},
             {Op::Kind::kPut, "y", "c"}};
  TxnResult r = CommitOrDie(*kv, txn);
  ASSERT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, 1);
  for (const char* k : {"x/1", "x/2", "y"}) EXPECT_EQ(kv->Get(k)->mod_revision, 1) << k;
}

TEST(SqliteKvStoreTest, DeletesAndDeletePrefix) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  Txn fill;
  for (const char* k : {"p/1", "p/2", "p/3", "q/1"}) fill.ops.push_back({Op::Kind::kPut, k, "v"});
  ASSERT_TRUE(CommitOrDie(*kv, fill).succeeded);  // rev 1

  Txn del;
  del.ops = {{Op::Kind::kDelete, "p/1", ""}};
  TxnResult r = CommitOrDie(*kv, del);
  EXPECT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, 2);
  EXPECT_EQ(kv->Get("p/1").status().code(), StatusCode::kNotFound);

  Txn missing;
  missing.ops = {{Op::Kind::kDelete, "nope", ""}};
  r = CommitOrDie(*kv, missing);
  EXPECT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, 2) << "a txn that changes nothing keeps the revision";

  Txn prefix;
  prefix.ops = {{Op::Kind::kDeletePrefix, "p/", ""}};
  r = CommitOrDie(*kv, prefix);
  EXPECT_EQ(r.revision, 3);
  Result<std::vector<KeyValue>> left = kv->Range("");
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].key, "q/1");
}

TEST(SqliteKvStoreTest, RejectsEmptyKeysAndNegativeRevisions) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv->Get("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kv->Commit(Put("", "v", 0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kv->Commit(Put("k", "v", -1)).status().code(), StatusCode::kInvalidArgument);
  Txn wipe_all;
  wipe_all.ops = {{Op::Kind::kDeletePrefix, "", ""}};
  EXPECT_EQ(kv->Commit(wipe_all).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*kv->Revision(), 0);
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

TEST(SqliteKvStoreTest, RangeMatchesExactlyThePrefixForAnyBytes) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  using namespace std::string_literals;
  // std::string orders like memcmp (char_traits<char> compares as unsigned char).
  std::set<std::string> keys = {
      "a"s,       "a\x00"s,     "a\x00\x00"s, "a\x01"s,     "a\x7f"s, "a\x80"s, "a\xfe\xff"s,
      "a\xff"s,   "a\xff\x00"s, "a\xff\xff"s, "a\xff\xff\xff"s, "ab"s,   "b"s,     "\x00"s,
      "\x00\xff"s, "\xfe"s,     "\xff"s,      "\xff\xff"s,  "\xff\xff\x01"s, "secrets/"s,
      "secrets/x"s, "secrets0"s, "secrets."s,
  };
  Txn fill;
  for (const std::string& k : keys) fill.ops.push_back({Op::Kind::kPut, k, "v:" + k});
  ASSERT_TRUE(CommitOrDie(*kv, fill).succeeded);

  std::vector<std::string> prefixes = {"",         "a"s,       "a\x00"s, "a\x7f"s, "a\xfe"s,
                                       "a\xff"s,   "a\xff\xff"s, "\x00"s, "\xfe"s,  "\xff"s,
                                       "\xff\xff"s, "secrets/"s, "zzz"s};
  for (const std::string& prefix : prefixes) {
    std::vector<std::string> want;
    for (const std::string& k : keys) {
      if (k.compare(0, prefix.size(), prefix) == 0) want.push_back(k);
    }
    for (bool keys_only : {false, true}) {
      Result<std::vector<KeyValue>> got = kv->Range(prefix, keys_only);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      std::vector<std::string> got_keys;
      for (const KeyValue& item : *got) {
        got_keys.push_back(item.key);
        EXPECT_EQ(item.value, keys_only ? "" : "v:" + item.key);
        EXPECT_EQ(item.mod_revision, 1);
      }
      EXPECT_EQ(got_keys, want) << "prefix of " << prefix.size() << " bytes, keys_only "
                                << keys_only;
    }
  }
}

TEST(SqliteKvStoreTest, DeletePrefixEndingIn0xFFDeletesOnlyThePrefix) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  using namespace std::string_literals;
  Txn fill;
  for (const std::string& k : {"a\xff"s, "a\xff\x01"s, "b"s, "a\xfe"s}) {
    fill.ops.push_back({Op::Kind::kPut, k, "v"});
  }
  ASSERT_TRUE(CommitOrDie(*kv, fill).succeeded);
  Txn del;
  del.ops = {{Op::Kind::kDeletePrefix, "a\xff"s, ""}};
  ASSERT_TRUE(CommitOrDie(*kv, del).succeeded);
  Result<std::vector<KeyValue>> left = kv->Range("", true);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].key, "a\xfe"s);
  EXPECT_EQ((*left)[1].key, "b"s);
}

TEST(SqliteKvStoreTest, ConcurrentCommitsAreSerialised) {
  TempDir tmp;
  auto kv = OpenOrDie(tmp.File("store.db"));
  ASSERT_NE(kv, nullptr);
  ASSERT_TRUE(CommitOrDie(*kv, Put("counter", "0", 0)).succeeded);
  // Each thread does read-modify-write increments with compare-and-swap retries; with
  // correct serialisation no increment is lost.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&kv] {
      for (int i = 0; i < kPerThread; ++i) {
        for (;;) {
          Result<KeyValue> cur = kv->Get("counter");
          if (!cur.ok()) return;
          std::string next = std::to_string(std::stoi(cur->value) + 1);
          Result<TxnResult> r = kv->Commit(Put("counter", next, cur->mod_revision));
          if (!r.ok()) return;
          if (r->succeeded) break;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(kv->Get("counter")->value, std::to_string(kThreads * kPerThread));
  EXPECT_EQ(*kv->Revision(), 1 + kThreads * kPerThread);
}

}  // namespace
}  // namespace ocisecrets
