#include "manager/rotation/key_rotation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "manager/cluster/cluster_manager.h"
#include "manager/registry/registry.h"
#include "shared/base64.h"
#include "manager/store/sqlite_kv_store.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;
using ::ocisecrets::testing::TempDir;

// A KvStore that runs a hook once before the next Commit that touches keys under a
// prefix (a write from "another client" between the pass's read and its txn), or once
// before the next Get of a key (work of another thread between two reads of a caller).
class InterposingKvStore : public KvStore {
 public:
  explicit InterposingKvStore(KvStore* inner) : inner_(inner) {}
  void BeforeNextCommitTo(std::string prefix, std::function<void()> hook) {
    prefix_ = std::move(prefix);
    hook_ = std::move(hook);
  }
  void BeforeNextGetOf(std::string key, std::function<void()> hook) {
    get_key_ = std::move(key);
    get_hook_ = std::move(hook);
  }
  Result<KeyValue> Get(const std::string& key) override {
    if (get_hook_ && key == get_key_) {
      auto hook = std::move(get_hook_);
      get_hook_ = nullptr;
      hook();
    }
    return inner_->Get(key);
  }
  Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only) override {
    return inner_->Range(prefix, keys_only);
  }
  Result<TxnResult> Commit(const Txn& txn) override {
    if (hook_) {
      for (const Op& op : txn.ops) {
        if (op.key.rfind(prefix_, 0) == 0) {
          auto hook = std::move(hook_);
          hook_ = nullptr;
          hook();
          break;
        }
      }
    }
    return inner_->Commit(txn);
  }
  Result<std::int64_t> Revision() override { return inner_->Revision(); }
  Result<std::unique_ptr<Watcher>> Watch(const std::string& prefix, std::int64_t start) override {
    return inner_->Watch(prefix, start);
  }
  std::string Engine() const override { return inner_->Engine(); }

 private:
  KvStore* inner_;
  std::string prefix_;
  std::function<void()> hook_;
  std::string get_key_;
  std::function<void()> get_hook_;
};

class KeyRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sqlite = SqliteKvStore::Open(tmp_.File("store.db"));
    ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
    sqlite_ = std::move(*sqlite);
    kv_ = std::make_unique<InterposingKvStore>(sqlite_.get());
    auto ring = Keyring::Open(tmp_.File("root.key"), *kv_);
    ASSERT_TRUE(ring.ok()) << ring.status().ToString();
    ring_ = std::move(*ring);
  }

  static std::string PayloadKey(const std::string& id) { return std::string(kPayloadPrefix) + id; }

  // Another manager's keyring on the same store (the same root key), loaded now: it sees
  // what changes later only when it is refreshed. Null, with a failure, if it cannot open.
  std::unique_ptr<Keyring> OtherManagersKeyring() {
    auto root = ring_->RootKey();
    EXPECT_TRUE(root.ok()) << root.status().ToString();
    if (!root.ok()) return nullptr;
    auto ring = Keyring::Open(std::move(*root), *sqlite_);
    EXPECT_TRUE(ring.ok()) << ring.status().ToString();
    if (!ring.ok()) return nullptr;
    return std::move(*ring);
  }

  // Stores a payload for secret id, sealed with ring's current term.
  void PutPayload(Keyring& ring, const std::string& id, const std::string& plaintext) {
    auto sealed = ring.SealPayload(PayloadKey(id), id, kPayloadVersion, AsBytes(plaintext));
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    Txn txn;
    txn.ops.push_back({Op::Kind::kPut, PayloadKey(id), *sealed});
    auto r = sqlite_->Commit(txn);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  static std::string IdOf(int i) { return "s" + std::to_string(1000 + i); }

  void PutPayloads(int n) {
    for (int i = 0; i < n; ++i) PutPayload(*ring_, IdOf(i), "value of " + IdOf(i));
  }

  // The plaintext of payloads/id, opened with ring (or the error, in brackets).
  std::string OpenWith(Keyring& ring, const std::string& id) {
    auto kv = sqlite_->Get(PayloadKey(id));
    if (!kv.ok()) return "<" + kv.status().ToString() + ">";
    auto plain = ring.OpenPayload(PayloadKey(id), id, kPayloadVersion, kv->value);
    if (!plain.ok()) return "<" + plain.status().ToString() + ">";
    return std::string(plain->begin(), plain->end());
  }

  // How many payloads use each term.
  std::map<std::uint32_t, int> TermsInUse() {
    std::map<std::uint32_t, int> terms;
    auto payloads = sqlite_->Range(std::string(kPayloadPrefix));
    EXPECT_TRUE(payloads.ok()) << payloads.status().ToString();
    if (!payloads.ok()) return terms;
    for (const KeyValue& kv : *payloads) ++terms[*Keyring::TermOf(kv.value)];
    return terms;
  }

  std::vector<std::string> TermRecords() {
    std::vector<std::string> keys;
    auto records = sqlite_->Range("keyring/terms/", true);
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    if (!records.ok()) return keys;
    for (const KeyValue& kv : *records) keys.push_back(kv.key);
    return keys;
  }

  KeyRotationOptions Options(std::string owner) {
    KeyRotationOptions o;
    o.owner = std::move(owner);
    o.clock = [this] { return now_; };
    o.retire_grace = std::chrono::seconds(0);  // one keyring per test unless it says otherwise
    return o;
  }

  // Steps until the pass is done.
  void RunToEnd(KeyRotation& rotation, std::size_t batch) {
    for (int i = 0; i < 1000; ++i) {
      auto status = rotation.GetKeyStatus();
      ASSERT_TRUE(status.ok()) << status.status().ToString();
      ASSERT_TRUE(status->rotation.has_value());
      if (status->rotation->state == "done") return;
      auto done = rotation.Step(batch);
      ASSERT_TRUE(done.ok()) << done.status().ToString();
    }
    FAIL() << "the pass did not finish";
  }

  TempDir tmp_;
  std::unique_ptr<SqliteKvStore> sqlite_;
  std::unique_ptr<InterposingKvStore> kv_;
  std::unique_ptr<Keyring> ring_;
  TimePoint now_ = TimePoint(std::chrono::hours(24 * 365 * 50));
};

TEST_F(KeyRotationTest, EveryPayloadMovesToTheNewTermAndTheOldTermIsRetired) {
  PutPayloads(300);
  KeyRotation rotation(kv_.get(), ring_.get(), Options("m1"));
  auto term = rotation.Start();
  ASSERT_TRUE(term.ok()) << term.status().ToString();
  EXPECT_EQ(*term, 2u);
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 50));

  EXPECT_EQ(TermsInUse(), (std::map<std::uint32_t, int>{{2, 300}}));
  EXPECT_EQ(TermRecords(), std::vector<std::string>{"keyring/terms/0000000002"});
  EXPECT_EQ(ring_->terms(), std::vector<std::uint32_t>{2});
  for (int i = 0; i < 300; ++i) ASSERT_EQ(OpenWith(*ring_, IdOf(i)), "value of " + IdOf(i));
  auto status = rotation.GetKeyStatus();
  ASSERT_TRUE(status.ok());
  ASSERT_TRUE(status->rotation.has_value());
  EXPECT_EQ(status->rotation->state, "done");
  EXPECT_EQ(status->rotation->term, 2u);
  EXPECT_EQ(status->rotation->done, 300);
  EXPECT_EQ(status->rotation->total, 300);
  EXPECT_EQ(status->current_term, 2u);
  EXPECT_EQ(status->key_terms, std::vector<std::uint32_t>{2});
}

// `rotate-key --status` read while the pass finishes: a status that says "done" never
// still lists the term the pass retired.
TEST_F(KeyRotationTest, AStatusThatSaysDoneNeverListsTheRetiredTerm) {
  PutPayloads(20);
  KeyRotation rotation(kv_.get(), ring_.get(), Options("m1"));
  ASSERT_TRUE(rotation.Start().ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(rotation.Step(50).ok());
  auto midway = rotation.GetKeyStatus();
  ASSERT_TRUE(midway.ok());
  ASSERT_EQ(midway->rotation->state, "running");
  // The pass finishes while the status is being read.
  kv_->BeforeNextGetOf(std::string(kRotationKey), [&] { RunToEnd(rotation, 50); });
  auto status = rotation.GetKeyStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_EQ(status->rotation->state, "done");
  EXPECT_EQ(status->key_terms, std::vector<std::uint32_t>{2});
}

// The same asked of a manager whose keyring has not yet seen the other manager's retire.
TEST_F(KeyRotationTest, AnotherManagersStatusAfterThePassListsOnlyTheNewTerm) {
  std::unique_ptr<Keyring> other_ring = OtherManagersKeyring();
  ASSERT_NE(other_ring, nullptr);
  PutPayloads(10);
  KeyRotation rotation(kv_.get(), ring_.get(), Options("m1"));
  ASSERT_TRUE(rotation.Start().ok());
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 50));
  KeyRotation other(sqlite_.get(), other_ring.get(), Options("m2"));
  auto status = other.GetKeyStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_EQ(status->rotation->state, "done");
  EXPECT_EQ(status->key_terms, std::vector<std::uint32_t>{2});
  EXPECT_EQ(status->current_term, 2u);
}

// A rotated secret's data versions are payloads/ID and payloads/ID.N, each sealed for its
// key's suffix (registry.h): the pass re-encrypts both, and both open afterwards.
TEST_F(KeyRotationTest, ARotatedSecretsPayloadsMoveToTheNewTermToo) {
  const std::string id(25, 'r');
  PutPayload(*ring_, id, "version 1");
  PutPayload(*ring_, id + ".2", "version 2");
  KeyRotation rotation(kv_.get(), ring_.get(), Options("m1"));
  ASSERT_TRUE(rotation.Start().ok());
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 50));
  EXPECT_EQ(TermsInUse(), (std::map<std::uint32_t, int>{{2, 2}}));
  EXPECT_EQ(OpenWith(*ring_, id), "version 1");
  EXPECT_EQ(OpenWith(*ring_, id + ".2"), "version 2");
}

TEST_F(KeyRotationTest, AnotherKeyringOnTheStoreOpensEverythingAfterRefresh) {
  std::unique_ptr<Keyring> other = OtherManagersKeyring();
  ASSERT_NE(other, nullptr);
  PutPayloads(10);
  KeyRotation rotation(kv_.get(), ring_.get(), Options("m1"));
  ASSERT_TRUE(rotation.Start().ok());
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 4));
  EXPECT_EQ(other->terms(), (std::vector<std::uint32_t>{1}));
  ASSERT_TRUE(other->Refresh().ok());
  EXPECT_EQ(other->terms(), std::vector<std::uint32_t>{2});
  EXPECT_EQ(other->current_term(), 2u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(OpenWith(*other, IdOf(i)), "value of " + IdOf(i));
}

TEST_F(KeyRotationTest, ARecordUpdatedDuringThePassKeepsItsNewValue) {
  PutPayloads(20);
  KeyRotation rotation(kv_.get(), ring_.get(), Options("m1"));
  ASSERT_TRUE(rotation.Start().ok());
  // Between the pass's read of the first batch and its txn, a client rewrites s1003 and
  // deletes s1004.
  kv_->BeforeNextCommitTo(std::string(kPayloadPrefix), [this] {
    PutPayload(*ring_, IdOf(3), "rewritten meanwhile");
    Txn del;
    del.ops.push_back({Op::Kind::kDelete, PayloadKey(IdOf(4)), ""});
    ASSERT_TRUE(sqlite_->Commit(del).ok());
  });
  auto first = rotation.Step(10);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, 0u) << "the batch's compare failed: nothing written, retried next";
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 10));

  EXPECT_EQ(OpenWith(*ring_, IdOf(3)), "rewritten meanwhile");
  EXPECT_TRUE(IsError(sqlite_->Get(PayloadKey(IdOf(4))), StatusCode::kNotFound, ""));
  EXPECT_EQ(TermsInUse(), (std::map<std::uint32_t, int>{{2, 19}}));
  EXPECT_EQ(ring_->terms(), std::vector<std::uint32_t>{2});
}

TEST_F(KeyRotationTest, APayloadSealedUnderTheOldTermAfterTheWalkIsCaughtByTheFinalScan) {
  PutPayloads(5);
  std::unique_ptr<Keyring> stale = OtherManagersKeyring();  // has not seen term 2 yet
  ASSERT_NE(stale, nullptr);
  KeyRotation rotation(kv_.get(), ring_.get(), Options("m1"));
  ASSERT_TRUE(rotation.Start().ok());
  ASSERT_TRUE(rotation.Step(100).ok());  // the whole walk
  PutPayload(*stale, "s0000", "late create");  // sorts before every key walked
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 100));
  EXPECT_EQ(TermsInUse(), (std::map<std::uint32_t, int>{{2, 6}}));
  EXPECT_EQ(OpenWith(*ring_, "s0000"), "late create");
  EXPECT_EQ(ring_->terms(), std::vector<std::uint32_t>{2});
}

TEST_F(KeyRotationTest, TheOldTermStaysUntilTheGraceHasPassedSoALateStaleWriteIsResealed) {
  PutPayloads(5);
  std::unique_ptr<Keyring> stale = OtherManagersKeyring();  // has not seen term 2
  ASSERT_NE(stale, nullptr);
  KeyRotationOptions options = Options("m1");
  options.retire_grace = kRetireGrace;
  KeyRotation rotation(kv_.get(), ring_.get(), options);
  ASSERT_TRUE(rotation.Start().ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rotation.Step(100).ok());  // walk, cluster, waits
  EXPECT_EQ(ring_->terms(), (std::vector<std::uint32_t>{1, 2})) << "retired before the grace";
  EXPECT_EQ(rotation.GetKeyStatus()->rotation->state, "running");
  // Committed after the walk and after a final scan would have found nothing stale.
  PutPayload(*stale, "s9999", "late create");
  now_ += kRetireGrace;
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 100));
  EXPECT_EQ(OpenWith(*ring_, "s9999"), "late create");
  EXPECT_EQ(TermsInUse(), (std::map<std::uint32_t, int>{{2, 6}}));
  EXPECT_EQ(TermRecords(), std::vector<std::string>{"keyring/terms/0000000002"});
}

TEST_F(KeyRotationTest, ASecondStartWhileOneRunsIsRefusedWithItsProgress) {
  PutPayloads(30);
  KeyRotation rotation(kv_.get(), ring_.get(), Options("m1"));
  ASSERT_TRUE(rotation.Start().ok());
  ASSERT_TRUE(rotation.Step(10).ok());
  EXPECT_TRUE(IsError(rotation.Start(), StatusCode::kFailedPrecondition,
                      "a key rotation is already running (10 of 30 records)"));
  EXPECT_EQ(ring_->current_term(), 2u) << "no term made by the refused start";
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 100));
  auto again = rotation.Start();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 3u);
}

TEST_F(KeyRotationTest, ASecondManagerTakesOverAfterTheLeaseAndFinishesFromTheCursor) {
  PutPayloads(100);
  std::unique_ptr<Keyring> ring2 = OtherManagersKeyring();
  ASSERT_NE(ring2, nullptr);
  KeyRotation first(kv_.get(), ring_.get(), Options("m1"));
  KeyRotation second(sqlite_.get(), ring2.get(), Options("m2"));
  ASSERT_TRUE(first.Start().ok());
  ASSERT_EQ(*first.Step(30), 30u);
  ASSERT_EQ(*first.Step(30), 30u);
  // m1 dies here. While its lease holds, m2 leaves the pass alone.
  auto idle = second.Step(30);
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_EQ(*idle, 0u);
  now_ += kRotationLease + std::chrono::seconds(1);
  auto taken = second.Step(30);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(*taken, 30u);
  auto status = second.GetKeyStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->rotation->done, 90) << "went on from the cursor, not from the start";
  // m1 comes back: the pass is m2's now.
  EXPECT_EQ(*first.Step(30), 0u);
  ASSERT_NO_FATAL_FAILURE(RunToEnd(second, 30));
  EXPECT_EQ(second.GetKeyStatus()->rotation->done, 100);
  EXPECT_EQ(TermsInUse(), (std::map<std::uint32_t, int>{{2, 100}}));
  EXPECT_EQ(TermRecords(), std::vector<std::string>{"keyring/terms/0000000002"});
  for (int i = 0; i < 100; ++i) ASSERT_EQ(OpenWith(*ring2, IdOf(i)), "value of " + IdOf(i));
}

TEST_F(KeyRotationTest, BackgroundThreadFinishesThePass) {
  PutPayloads(50);
  KeyRotationOptions options = Options("m1");
  options.clock = nullptr;  // the real clock: the lease must hold while the thread works
  options.rate = 100000;
  KeyRotation rotation(kv_.get(), ring_.get(), options);
  rotation.StartBackground();
  ASSERT_TRUE(rotation.Start().ok());
  bool running = true;
  for (int i = 0; i < 600 && running; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    running = rotation.GetKeyStatus()->rotation->state == "running";
  }
  rotation.Stop();
  EXPECT_FALSE(running);
  EXPECT_EQ(TermsInUse(), (std::map<std::uint32_t, int>{{2, 50}}));
  EXPECT_EQ(ring_->terms(), std::vector<std::uint32_t>{2});
}

TEST_F(KeyRotationTest, TheClusterSealedRecordsMoveTooAndTheClusterStillLoadsAndRotatesItsToken) {
  ClusterManagerOptions o;
  o.local_node_id = "mgr000000000000000000000a";
  o.hostname = "manager-host";
  o.start_listener = [](const std::string&) { return Status::Ok(); };
  ClusterManager cluster(kv_.get(), ring_.get(), o);
  ASSERT_TRUE(cluster.Init({"127.0.0.1:7443", "1h", std::nullopt}).ok());
  auto token = cluster.JoinToken("node", false);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  PutPayloads(3);

  KeyRotationOptions options = Options("m1");
  options.on_cluster_resealed = [&cluster] { EXPECT_TRUE(cluster.RereadTokens().ok()); };
  KeyRotation rotation(kv_.get(), ring_.get(), options);
  ASSERT_TRUE(rotation.Start().ok());
  ASSERT_NO_FATAL_FAILURE(RunToEnd(rotation, 10));
  EXPECT_EQ(rotation.GetKeyStatus()->rotation->total, 3 + 3) << "3 payloads, the CA, 2 tokens";

  for (const char* role : {"node", "manager"}) {
    auto sealed = sqlite_->Get(std::string(kClusterTokenPrefix) + role);
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(*Keyring::TermOf(sealed->value), 2u) << role;
  }
  auto ca = sqlite_->Get(std::string(kClusterCaKey));
  ASSERT_TRUE(ca.ok());
  auto ca_sealed = Base64Decode(nlohmann::json::parse(ca->value)["SealedKey"].get<std::string>());
  ASSERT_TRUE(ca_sealed.ok());
  EXPECT_EQ(*Keyring::TermOf(std::string(ca_sealed->begin(), ca_sealed->end())), 2u);
  EXPECT_EQ(ring_->terms(), std::vector<std::uint32_t>{2});

  ClusterManager restarted(sqlite_.get(), ring_.get(), o);
  ASSERT_TRUE(restarted.Load().ok()) << "the CA key and tokens open under term 2 alone";
  auto same = restarted.JoinToken("node", false);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->token, token->token);
  auto rotated = cluster.JoinToken("node", true);
  EXPECT_TRUE(rotated.ok()) << rotated.status().ToString();
}

}  // namespace
}  // namespace ocisecrets
