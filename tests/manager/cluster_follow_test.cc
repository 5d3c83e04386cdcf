// Several managers on one store: each follows what the others write through its watch.
// Two ClusterManagers share one SQLite store (its watch is in-process, which is enough to
// show that a change made through one is applied by the other without a restart).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "manager/cluster/cluster_manager.h"
#include "manager/store/sqlite_kv_store.h"
#include "shared/crypto.h"
#include "tests/testing/identities.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::CertificateIdentity;
using ::ocisecrets::testing::IsError;
using ::ocisecrets::testing::TempDir;

constexpr char kManagerA[] = "mgra00000000000000000000a";
constexpr char kManagerB[] = "mgrb00000000000000000000b";

// Waits for cond, polling: the watch applies a change soon, not at a known moment. The
// limit only ends a broken test; nothing here measures time.
bool Eventually(const std::function<bool()>& cond) {
  for (int i = 0; i < 1000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// A manager's fake transport to another manager: the join goes straight to its Join.
class DirectTransport : public Transport {
 public:
  explicit DirectTransport(ClusterManager* target) : target_(target) {}
  Result<HttpResponse> RoundTrip(const HttpRequest& req,
                                 std::chrono::steady_clock::time_point) override {
    auto parsed = ParseJoinRequest(req.body);
    if (!parsed.ok()) return HttpResponse{400, "{}"};
    auto joined = target_->Join(*parsed, "127.0.0.1:40000");
    if (!joined.ok()) {
      return HttpResponse{409, "{\"message\":\"" + joined.status().message() + "\"}"};
    }
    return HttpResponse{200, ToJson(*joined)};
  }

 private:
  ClusterManager* target_;
};

class ClusterFollowTest : public ::testing::Test {
 protected:
  ClusterFollowTest() {
    auto store = SqliteKvStore::Open(dir_.File("store.db"));
    EXPECT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    auto root = RandomKey();
    EXPECT_TRUE(root.ok());
    root_ = *root;
    auto a = Keyring::Open(root_, *store_);
    EXPECT_TRUE(a.ok()) << a.status().message();
    keyring_a_ = std::move(*a);
    a_ = Make(kManagerA, keyring_a_.get());
    auto info = a_->Init({"127.0.0.1:7443", "1h"});
    EXPECT_TRUE(info.ok()) << info.status().message();
  }

  std::unique_ptr<ClusterManager> Make(const char* id, Keyring* keyring) {
    ClusterManagerOptions o;
    o.hostname = std::string("host-") + id[3];
    o.local_node_id = id;
    o.start_listener = [](const std::string&) { return Status::Ok(); };
    o.join_dialer = [this](const std::string&, const std::string&) {
      return std::make_unique<DirectTransport>(a_.get());
    };
    return std::make_unique<ClusterManager>(store_.get(), keyring, std::move(o));
  }

  // Manager B with the same root key, loaded from the store (as after its join).
  void LoadB() {
    auto b = Keyring::Open(root_, *store_);
    ASSERT_TRUE(b.ok()) << b.status().message();
    keyring_b_ = std::move(*b);
    b_ = Make(kManagerB, keyring_b_.get());
    ASSERT_TRUE(b_->Load().ok());
  }

  JoinRequest WorkerJoin(std::string token) {
    auto key = GenerateKeyPem();
    EXPECT_TRUE(key.ok());
    JoinRequest r;
    r.token = std::move(token);
    r.csr = *MakeCsr(*key, "worker");
    r.hostname = "worker-1";
    return r;
  }

  TempDir dir_;
  std::unique_ptr<SqliteKvStore> store_;
  KeyBytes root_;
  std::unique_ptr<Keyring> keyring_a_, keyring_b_;
  std::unique_ptr<ClusterManager> a_, b_;
};

TEST_F(ClusterFollowTest, ANodeRemovedByOneManagerIsRefusedByTheOther) {
  LoadB();
  auto token = a_->JoinToken("node", false);
  ASSERT_TRUE(token.ok());
  auto joined = a_->Join(WorkerJoin(token->token), "10.0.0.2:5000");
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  Identity worker = CertificateIdentity(Role::kNode, joined->node_id);
  ASSERT_TRUE(Eventually([&] { return b_->NodeById(joined->node_id).ok(); }));

  ASSERT_TRUE(b_->RemoveNode(joined->node_id, /*force=*/true).ok());
  EXPECT_TRUE(Eventually([&] { return !a_->StillValid(worker).ok(); }));
  EXPECT_TRUE(IsError(a_->StillValid(worker), StatusCode::kPermissionDenied,
                      "node " + joined->node_id + " was removed from the cluster"));
  EXPECT_TRUE(IsError(a_->NodeById(joined->node_id), StatusCode::kNotFound, "node not found"));
}

TEST_F(ClusterFollowTest, ATokenRotatedByOneManagerIsRefusedByTheOther) {
  LoadB();
  auto old_token = a_->JoinToken("node", false);
  ASSERT_TRUE(old_token.ok());
  auto rotated = b_->JoinToken("node", /*rotate=*/true);
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_TRUE(Eventually([&] {
    auto t = a_->JoinToken("node", false);
    return t.ok() && t->token == rotated->token;
  }));
  EXPECT_TRUE(IsError(a_->Join(WorkerJoin(old_token->token), "10.0.0.2:5000"),
                      StatusCode::kPermissionDenied, "invalid join token"));
  EXPECT_TRUE(a_->Join(WorkerJoin(rotated->token), "10.0.0.2:5000").ok());
}

TEST_F(ClusterFollowTest, WritesOfBothManagersToOneRecordCompareRevisions) {
  LoadB();
  auto token = a_->JoinToken("node", false);
  auto joined = a_->Join(WorkerJoin(token->token), "10.0.0.2:5000");
  ASSERT_TRUE(joined.ok());
  ASSERT_TRUE(Eventually([&] { return b_->NodeById(joined->node_id).ok(); }));
  ASSERT_TRUE(b_->UpdateNode(joined->node_id, 1, NodeSpec{{{"zone", "eu"}}}).ok());
  // A still holds version 1 until its watch brings version 2; either way its write of
  // version 1 must not overwrite B's.
  EXPECT_TRUE(IsError(a_->UpdateNode(joined->node_id, 1, NodeSpec{{{"zone", "us"}}}),
                      StatusCode::kFailedPrecondition, "node " + joined->node_id));
  EXPECT_TRUE(Eventually([&] {
    auto n = a_->NodeById(joined->node_id);
    return n.ok() && n->spec.labels.count("zone") == 1 && n->spec.labels.at("zone") == "eu";
  }));
}

TEST_F(ClusterFollowTest, AManagerJoinsWithTheManagerTokenAndGetsTheRootKey) {
  keyring_b_ = Keyring::Locked(*store_);
  b_ = Make(kManagerB, keyring_b_.get());
  b_->AwaitJoin();
  auto token = a_->JoinToken("manager", false);
  ASSERT_TRUE(token.ok());
  JoinRequest local;
  local.token = token->token;
  local.managers = {"127.0.0.1:7443"};
  local.listen_addr = "127.0.0.2:7444";
  auto info = b_->JoinAsManager(local);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_FALSE(b_->awaiting_join());
  EXPECT_FALSE(keyring_b_->locked());
  auto b_root = keyring_b_->RootKey();
  ASSERT_TRUE(b_root.ok());
  EXPECT_TRUE(*b_root == root_);
  EXPECT_EQ(info->managers, (std::vector<std::string>{"127.0.0.2:7444", "127.0.0.1:7443"}));
  ASSERT_EQ(info->manager_status.size(), 2u);
  EXPECT_EQ(info->manager_status[0].node_id, kManagerB);
  EXPECT_TRUE(info->manager_status[1].reachable);  // A's record was written just now
  auto node = a_->NodeById(kManagerB);
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->role, "manager");
  EXPECT_EQ(node->listen_addr, "127.0.0.2:7444");
  // The root key is in no store record, neither raw nor as text.
  auto all = store_->Range("");
  ASSERT_TRUE(all.ok());
  std::string raw(root_.begin(), root_.end());
  for (const KeyValue& kv : *all) EXPECT_EQ(kv.value.find(raw), std::string::npos) << kv.key;
  // A second join of the same node is refused.
  EXPECT_TRUE(IsError(b_->JoinAsManager(local), StatusCode::kFailedPrecondition,
                      "this manager is not waiting to join a cluster"));
}

}  // namespace
}  // namespace ocisecrets
