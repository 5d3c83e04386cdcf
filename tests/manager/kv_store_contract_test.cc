// The KvStore contract (manager/store/kv_store.h), run against every engine. To add an
// engine, write its Engine struct below and name it in KvStoreEngines. Built twice: the
// unit run (SQLite, memory) and, with OCI_SECRETS_CONTRACT_ETCD, the integration run
// against a real etcd that each test starts.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "manager/store/kv_store.h"
#include "manager/store/memory_kv_store.h"
#include "manager/store/sqlite_kv_store.h"
#include "tests/testing/temp_dir.h"
#ifdef OCI_SECRETS_CONTRACT_ETCD
#include "manager/store/etcd_kv_store.h"
#include "tests/testing/etcd_cluster.h"
#endif

namespace ocisecrets {
namespace {

using namespace std::string_literals;

// ForgetChangesBefore(R): the engine may drop the changes older than R (the embedded
// engines already do by their ChangeLogLimits).
struct SqliteEngine {
  testing::TempDir dir;
  void ForgetChangesBefore(std::int64_t) {}
  Result<std::unique_ptr<KvStore>> Open() {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteKvStore> kv, SqliteKvStore::Open(dir / "store.db"), "");
    return std::unique_ptr<KvStore>(std::move(kv));
  }
};

struct MemoryEngine {
  void ForgetChangesBefore(std::int64_t) {}
  Result<std::unique_ptr<KvStore>> Open() {
    return std::unique_ptr<KvStore>(std::make_unique<InMemoryKvStore>());
  }
};

#ifdef OCI_SECRETS_CONTRACT_ETCD
// A one-member etcd of its own per test, so revisions start at 0 as the contract says;
// requests up to 2 MiB so that a txn of kMaxTxnBytes fits with its JSON and prefix.
struct EtcdEngine {
  std::unique_ptr<testing::EtcdCluster> cluster;
  Result<std::unique_ptr<KvStore>> Open() {
    testing::EtcdClusterOptions options;
    options.members = 1;
    options.extra_args = {"--max-request-bytes", "2097152"};
    ASSIGN_OR_RETURN(cluster, testing::EtcdCluster::Start(options), "etcd");
    EtcdOptions etcd;
    etcd.endpoints = cluster->ClientUrls();
    ASSIGN_OR_RETURN(std::unique_ptr<EtcdKvStore> kv, EtcdKvStore::Open(etcd), "");
    return std::unique_ptr<KvStore>(std::move(kv));
  }
  // etcd keeps every revision until it is compacted: compact up to the engine's revision.
  void ForgetChangesBefore(std::int64_t revision) {
    auto r = cluster->Etcdctl({"compact", std::to_string(revision + 1)});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
};
using KvStoreEngines = ::testing::Types<EtcdEngine>;
#else
using KvStoreEngines = ::testing::Types<SqliteEngine, MemoryEngine>;
#endif

template <typename EngineT>
class KvStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<KvStore>> kv = engine_.Open();
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    kv_ = std::move(*kv);
  }

  TxnResult CommitOrDie(const Txn& txn) {
    Result<TxnResult> r = kv_->Commit(txn);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : TxnResult{};
  }

  std::unique_ptr<Watcher> WatchOrDie(const std::string& prefix, std::int64_t start) {
    Result<std::unique_ptr<Watcher>> w = kv_->Watch(prefix, start);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  EngineT engine_;
  std::unique_ptr<KvStore> kv_;
};

TYPED_TEST_SUITE(KvStoreContractTest, KvStoreEngines);

Txn Put(std::string key, std::string value, std::int64_t expect_mod_revision) {
  Txn t;
  t.compares.push_back({key, expect_mod_revision});
  t.ops.push_back({Op::Kind::kPut, std::move(key), std::move(value)});
  return t;
}

Txn Ops(std::vector<Op> ops) {
  Txn t;
  t.ops = std::move(ops);
  return t;
}

Op PutOp(std::string key, std::string value) { return {Op::Kind::kPut, std::move(key), std::move(value)}; }
Op DelOp(std::string key) { return {Op::Kind::kDelete, std::move(key), {}}; }
Op DelPrefixOp(std::string prefix) { return {Op::Kind::kDeletePrefix, std::move(prefix), {}}; }

// "P key=value @rev" / "D key @rev": one line per event, easy to compare and to read.
std::string Describe(const WatchEvent& e) {
  return (e.kind == WatchEvent::Kind::kPut ? "P " + e.key + "=" + e.value : "D " + e.key) + " @" +
         std::to_string(e.mod_revision);
}

// Reads from w until it has delivered want events (or 10 s pass, or it fails), then
// checks that nothing more is ready.
std::vector<std::string> Drain(Watcher& w, std::size_t want) {
  std::vector<std::string> out;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < want && std::chrono::steady_clock::now() < give_up) {
    Result<std::vector<WatchEvent>> batch = w.Next(give_up);
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    if (!batch.ok()) break;
    for (const WatchEvent& e : *batch) out.push_back(Describe(e));
  }
  Result<std::vector<WatchEvent>> extra = w.Next(std::chrono::steady_clock::now());
  EXPECT_TRUE(extra.ok() && extra->empty()) << "more events than expected";
  return out;
}

TYPED_TEST(KvStoreContractTest, GetOfAMissingKeyIsNotFoundAndAnEmptyKeyIsRefused) {
  EXPECT_EQ(this->kv_->Get("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->kv_->Get("").status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(KvStoreContractTest, CompareOnAbsentKeyCreatesOnce) {
  TxnResult first = this->CommitOrDie(Put("secrets/a", "v1", 0));
  EXPECT_TRUE(first.succeeded);
  EXPECT_EQ(first.revision, 1);
  TxnResult second = this->CommitOrDie(Put("secrets/a", "v2", 0));
  EXPECT_FALSE(second.succeeded) << "mod_revision 0 means the key must not exist";
  EXPECT_EQ(*this->kv_->Revision(), 1);
  Result<KeyValue> got = this->kv_->Get("secrets/a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "v1");
  EXPECT_EQ(got->create_revision, 1);
  EXPECT_EQ(got->mod_revision, 1);
}

TYPED_TEST(KvStoreContractTest, StaleRevisionFailsAndCurrentRevisionSucceeds) {
  ASSERT_TRUE(this->CommitOrDie(Put("k", "v1", 0)).succeeded);     // rev 1
  ASSERT_TRUE(this->CommitOrDie(Put("other", "x", 0)).succeeded);  // rev 2
  TxnResult update = this->CommitOrDie(Put("k", "v2", 1));
  ASSERT_TRUE(update.succeeded);
  EXPECT_EQ(update.revision, 3);
  TxnResult stale = this->CommitOrDie(Put("k", "v3", 1));
  EXPECT_FALSE(stale.succeeded);
  EXPECT_EQ(stale.revision, 3);
  Result<KeyValue> got = this->kv_->Get("k");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "v2");
  EXPECT_EQ(got->create_revision, 1);
  EXPECT_EQ(got->mod_revision, 3);
}

TYPED_TEST(KvStoreContractTest, AFailedCompareWritesNothing) {
  ASSERT_TRUE(this->CommitOrDie(Put("a", "1", 0)).succeeded);
  Txn txn;
  txn.compares = {{"a", 1}, {"b", 5}};  // the second does not hold
  txn.ops = {PutOp("a", "changed"), PutOp("c", "new"), DelOp("a")};
  EXPECT_FALSE(this->CommitOrDie(txn).succeeded);
  EXPECT_EQ(this->kv_->Get("a")->value, "1");
  EXPECT_EQ(this->kv_->Get("c").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*this->kv_->Revision(), 1);
}

TYPED_TEST(KvStoreContractTest, AllOpsOfATxnShareOneRevision) {
  TxnResult r = this->CommitOrDie(Ops({PutOp("x/1", "a"), PutOp("x/2", "b"), PutOp("y", "c")}));
  ASSERT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, 1);
  for (const char* k : {"x/1", "x/2", "y"}) EXPECT_EQ(this->kv_->Get(k)->mod_revision, 1) << k;
}

TYPED_TEST(KvStoreContractTest, DeletesAndDeletePrefix) {
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("p/1", "v"), PutOp("p/2", "v"), PutOp("p/3", "v"),
                                     PutOp("q/1", "v")}))
                  .succeeded);  // rev 1
  TxnResult r = this->CommitOrDie(Ops({DelOp("p/1")}));
  EXPECT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, 2);
  EXPECT_EQ(this->kv_->Get("p/1").status().code(), StatusCode::kNotFound);
  r = this->CommitOrDie(Ops({DelPrefixOp("p/")}));
  EXPECT_EQ(r.revision, 3);
  Result<std::vector<KeyValue>> left = this->kv_->Range("");
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].key, "q/1");
}

TYPED_TEST(KvStoreContractTest, RevisionStaysAfterTxnsThatChangeNothing) {
  ASSERT_TRUE(this->CommitOrDie(Put("a", "1", 0)).succeeded);
  struct Case {
    const char* description;
    Txn txn;
  };
  std::vector<Case> cases = {
      {"no ops", Txn{}},
      {"delete of a missing key", Ops({DelOp("nope")})},
      {"delete-prefix matching nothing", Ops({DelPrefixOp("zzz/")})},
      {"only a compare that holds", Txn{{{"a", 1}}, {}}},
  };
  for (const Case& c : cases) {
    TxnResult r = this->CommitOrDie(c.txn);
    EXPECT_TRUE(r.succeeded) << c.description;
    EXPECT_EQ(r.revision, 1) << c.description;
    EXPECT_EQ(*this->kv_->Revision(), 1) << c.description;
  }
  EXPECT_EQ(this->CommitOrDie(Put("b", "2", 0)).revision, 2) << "the next change is revision 2";
}

TYPED_TEST(KvStoreContractTest, RefusesEmptyKeysAndNegativeRevisionsWritingNothing) {
  struct Case {
    const char* description;
    Txn txn;
  };
  std::vector<Case> cases = {
      {"put on an empty key", Put("", "v", 0)},
      {"negative compare revision", Put("k", "v", -1)},
      {"delete-prefix of everything", Ops({DelPrefixOp("")})},
  };
  for (const Case& c : cases) {
    Result<TxnResult> r = this->kv_->Commit(c.txn);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.description;
  }
  EXPECT_EQ(*this->kv_->Revision(), 0);
}

TYPED_TEST(KvStoreContractTest, ATxnOfMoreThan128OpsIsRefusedNaming128And128Pass) {
  Txn big;
  for (std::size_t i = 0; i <= kMaxTxnOps; ++i) big.ops.push_back(PutOp("k/" + std::to_string(i), "v"));
  ASSERT_EQ(big.ops.size(), 129u);
  Result<TxnResult> refused = this->kv_->Commit(big);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("129 ops exceeds the limit of 128"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(*this->kv_->Revision(), 0) << "nothing written, not even a part";
  EXPECT_TRUE(this->kv_->Range("k/")->empty());

  big.ops.pop_back();
  TxnResult r = this->CommitOrDie(big);
  EXPECT_TRUE(r.succeeded);
  EXPECT_EQ(this->kv_->Range("k/")->size(), 128u);

  Txn compares;
  for (std::size_t i = 0; i <= kMaxTxnOps; ++i) compares.compares.push_back({"k/" + std::to_string(i), 1});
  Result<TxnResult> too_many = this->kv_->Commit(compares);
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("129 compares exceeds the limit of 128"),
            std::string::npos)
      << too_many.status().message();
}

TYPED_TEST(KvStoreContractTest, ATxnOverTheByteLimitIsRefusedNamingIt) {
  Txn fits = Ops({PutOp("big", std::string(kMaxTxnBytes - 3, 'x'))});
  EXPECT_TRUE(this->CommitOrDie(fits).succeeded) << "exactly the limit fits";
  Txn over = Ops({PutOp("big", std::string(kMaxTxnBytes - 3, 'x')), PutOp("b", "")});
  Result<TxnResult> r = this->kv_->Commit(over);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("exceeds the limit of " + std::to_string(kMaxTxnBytes) +
                                      " bytes"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(*this->kv_->Revision(), 1);
}

TYPED_TEST(KvStoreContractTest, RangeMatchesExactlyThePrefixInByteOrder) {
  // std::string orders like memcmp (char_traits<char> compares as unsigned char).
  std::set<std::string> keys = {
      "a"s,       "a\x00"s,     "a\x00\x00"s, "a\x01"s,     "a\x7f"s, "a\x80"s, "a\xfe\xff"s,
      "a\xff"s,   "a\xff\x00"s, "a\xff\xff"s, "a\xff\xff\xff"s, "ab"s,   "b"s,     "\x00"s,
      "\x00\xff"s, "\xfe"s,     "\xff"s,      "\xff\xff"s,  "\xff\xff\x01"s, "secrets/"s,
      "secrets/x"s, "secrets0"s, "secrets."s,
  };
  Txn fill;
  for (const std::string& k : keys) fill.ops.push_back(PutOp(k, "v:" + k));
  ASSERT_TRUE(this->CommitOrDie(fill).succeeded);

  std::vector<std::string> prefixes = {"",         "a"s,       "a\x00"s, "a\x7f"s, "a\xfe"s,
                                       "a\xff"s,   "a\xff\xff"s, "\x00"s, "\xfe"s,  "\xff"s,
                                       "\xff\xff"s, "secrets/"s, "zzz"s};
  for (const std::string& prefix : prefixes) {
    std::vector<std::string> want;
    for (const std::string& k : keys) {
      if (k.starts_with(prefix)) want.push_back(k);
    }
    for (bool keys_only : {false, true}) {
      Result<std::vector<KeyValue>> got = this->kv_->Range(prefix, keys_only);
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

TYPED_TEST(KvStoreContractTest, DeletePrefixEndingIn0xFFDeletesOnlyThePrefix) {
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("a\xff"s, "v"), PutOp("a\xff\x01"s, "v"),
                                     PutOp("b", "v"), PutOp("a\xfe"s, "v")}))
                  .succeeded);
  ASSERT_TRUE(this->CommitOrDie(Ops({DelPrefixOp("a\xff"s)})).succeeded);
  Result<std::vector<KeyValue>> left = this->kv_->Range("", true);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].key, "a\xfe"s);
  EXPECT_EQ((*left)[1].key, "b"s);
}

TYPED_TEST(KvStoreContractTest, ConcurrentCommitsAreSerialised) {
  ASSERT_TRUE(this->CommitOrDie(Put("counter", "0", 0)).succeeded);
  // Read-modify-write increments with compare-and-swap retries: none may be lost.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  KvStore& kv = *this->kv_;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&kv] {
      for (int i = 0; i < kPerThread; ++i) {
        for (;;) {
          Result<KeyValue> cur = kv.Get("counter");
          if (!cur.ok()) return;
          std::string next = std::to_string(std::stoi(cur->value) + 1);
          Result<TxnResult> r = kv.Commit(Put("counter", next, cur->mod_revision));
          if (!r.ok()) return;
          if (r->succeeded) break;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(kv.Get("counter")->value, std::to_string(kThreads * kPerThread));
  EXPECT_EQ(*kv.Revision(), 1 + kThreads * kPerThread);
}

// ---- watch --------------------------------------------------------------------------

TYPED_TEST(KvStoreContractTest, WatchDeliversEveryLaterChangeOnceInOrder) {
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("w/old", "0")})).succeeded);  // rev 1: before R
  const std::int64_t r = *this->kv_->Revision();
  std::unique_ptr<Watcher> w = this->WatchOrDie("w/", r + 1);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("w/a", "1")})).succeeded);                   // 2
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("w/a", "2"), PutOp("w/b", "3")})).succeeded);  // 3
  ASSERT_TRUE(this->CommitOrDie(Ops({DelOp("w/a")})).succeeded);                        // 4
  ASSERT_TRUE(this->CommitOrDie(Ops({DelOp("w/missing")})).succeeded);  // no change, no event
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("w/c", "4")})).succeeded);                   // 5
  ASSERT_TRUE(this->CommitOrDie(Ops({DelPrefixOp("w/")})).succeeded);                   // 6
  EXPECT_EQ(Drain(*w, 8), (std::vector<std::string>{
                              "P w/a=1 @2", "P w/a=2 @3", "P w/b=3 @3", "D w/a @4",
                              "P w/c=4 @5", "D w/b @6", "D w/c @6", "D w/old @6"}));
}

TYPED_TEST(KvStoreContractTest, WatchFiltersByPrefix) {
  std::unique_ptr<Watcher> w = this->WatchOrDie("services/", 0);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("secrets/x", "s"), PutOp("services/a", "1"),
                                     PutOp("services", "no slash"), PutOp("servicesX", "n")}))
                  .succeeded);
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("leases/a/c", "l")})).succeeded);
  ASSERT_TRUE(this->CommitOrDie(Ops({DelPrefixOp("s")})).succeeded);
  EXPECT_EQ(Drain(*w, 2), (std::vector<std::string>{"P services/a=1 @1", "D services/a @3"}));
}

TYPED_TEST(KvStoreContractTest, WatchFromAPastRevisionReplaysWhatTheEngineKeeps) {
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("k", "1")})).succeeded);  // 1
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("k", "2")})).succeeded);  // 2
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("k", "3")})).succeeded);  // 3
  std::unique_ptr<Watcher> w = this->WatchOrDie("k", 2);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(this->CommitOrDie(Ops({PutOp("k", "4")})).succeeded);  // 4
  EXPECT_EQ(Drain(*w, 3), (std::vector<std::string>{"P k=2 @2", "P k=3 @3", "P k=4 @4"}))
      << "start_revision is inclusive";
}

TYPED_TEST(KvStoreContractTest, WatchFromACompactedRevisionIsFailedPrecondition) {
  // Enough changes that no engine keeps the first (ChangeLogLimits: 4096 events).
  for (int batch = 0; batch < 40; ++batch) {
    Txn txn;
    for (std::size_t i = 0; i < kMaxTxnOps; ++i) txn.ops.push_back(PutOp("c/" + std::to_string(i), "v"));
    ASSERT_TRUE(this->CommitOrDie(txn).succeeded);
  }
  this->engine_.ForgetChangesBefore(*this->kv_->Revision());
  Result<std::unique_ptr<Watcher>> w = this->kv_->Watch("c/", 1);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(w.status().message().find("compacted"), std::string::npos) << w.status().message();
  // The documented recovery: read, then watch from the revision read + 1.
  const std::int64_t r = *this->kv_->Revision();
  EXPECT_EQ(this->kv_->Range("c/")->size(), kMaxTxnOps);
  std::unique_ptr<Watcher> again = this->WatchOrDie("c/", r + 1);
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(this->CommitOrDie(Ops({DelOp("c/0")})).succeeded);
  EXPECT_EQ(Drain(*again, 1), (std::vector<std::string>{"D c/0 @" + std::to_string(r + 1)}));
  EXPECT_EQ(this->kv_->Watch("c/", -1).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(KvStoreContractTest, WatchSeesChangesFromSeveralThreadsOnceInRevisionOrder) {
  std::unique_ptr<Watcher> w = this->WatchOrDie("t/", 0);
  ASSERT_NE(w, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  KvStore& kv = *this->kv_;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&kv, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "t/" + std::to_string(t) + "/" + std::to_string(i);
        Txn txn;
        txn.ops = {PutOp(key, "v"), PutOp(key + "/twin", "v")};
        EXPECT_TRUE(kv.Commit(txn).ok());
      }
    });
  }
  std::vector<WatchEvent> events;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (events.size() < 2 * kThreads * kPerThread && std::chrono::steady_clock::now() < give_up) {
    Result<std::vector<WatchEvent>> batch = w->Next(give_up);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    events.insert(events.end(), batch->begin(), batch->end());
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(events.size(), 2u * kThreads * kPerThread);
  std::set<std::string> keys;
  for (std::size_t i = 0; i < events.size(); ++i) {
    keys.insert(events[i].key);
    // Each txn is two events sharing one revision; revisions run 1, 2, 3, ... without gaps.
    EXPECT_EQ(events[i].mod_revision, static_cast<std::int64_t>(i / 2 + 1)) << i;
    if (i % 2 == 1) EXPECT_EQ(events[i].key, events[i - 1].key + "/twin");
  }
  EXPECT_EQ(keys.size(), events.size()) << "every change exactly once";
}

TYPED_TEST(KvStoreContractTest, CancelEndsABlockedNext) {
  std::unique_ptr<Watcher> w = this->WatchOrDie("", 0);
  ASSERT_NE(w, nullptr);
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    w->Cancel();
  });
  Result<std::vector<WatchEvent>> r =
      w->Next(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  canceller.join();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos) << r.status().message();
  EXPECT_EQ(w->Next(std::chrono::steady_clock::now()).status().code(), StatusCode::kUnavailable);
}

TYPED_TEST(KvStoreContractTest, NextReturnsAnEmptyBatchAtItsDeadline) {
  std::unique_ptr<Watcher> w = this->WatchOrDie("", 0);
  ASSERT_NE(w, nullptr);
  Result<std::vector<WatchEvent>> r = w->Next(std::chrono::steady_clock::now());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
}

TYPED_TEST(KvStoreContractTest, AWatcherOutlivingItsStoreGetsUnavailable) {
  std::unique_ptr<Watcher> w = this->WatchOrDie("", 0);
  ASSERT_NE(w, nullptr);
  this->kv_.reset();
  EXPECT_EQ(w->Next(std::chrono::steady_clock::now()).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ocisecrets
