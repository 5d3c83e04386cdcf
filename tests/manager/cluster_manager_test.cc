#include "manager/cluster/cluster_manager.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "shared/crypto.h"
#include "shared/join_token.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/testing/identities.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::CertificateIdentity;

using ::ocisecrets::testing::IsError;

constexpr char kManagerId[] = "mgr000000000000000000000a";

class ClusterManagerTest : public ::testing::Test {
 protected:
  ClusterManagerTest() {
    auto root = RandomKey();
    EXPECT_TRUE(root.ok());
    auto keyring = Keyring::Open(std::move(*root), store_);
    EXPECT_TRUE(keyring.ok()) << keyring.status().message();
    keyring_ = std::move(*keyring);
    now_ = TimePoint(std::chrono::seconds(1'900'000'000));
    manager_ = Make();
  }

  std::unique_ptr<ClusterManager> Make() {
    ClusterManagerOptions o;
    o.clock = [this] { return now_; };
    o.new_id = [this] {
      std::string n = "n" + std::to_string(++ids_);  // "n2nnn...": unique prefixes
      return n + std::string(25 - n.size(), 'n');
    };
    o.hostname = "manager-host";
    o.local_node_id = kManagerId;
    o.start_listener = [this](const std::string& addr) {
      listened_.push_back(addr);
      return listener_status_;
    };
    return std::make_unique<ClusterManager>(&store_, keyring_.get(), std::move(o));
  }

  ClusterInfo Init() {
    auto info = manager_->Init({"127.0.0.1:7443", "1h"});
    EXPECT_TRUE(info.ok()) << info.status().message();
    return info.ok() ? *info : ClusterInfo{};
  }

  std::string Token(std::string_view role, bool rotate = false) {
    auto t = manager_->JoinToken(role, rotate);
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? t->token : "";
  }

  // A joining machine's request: a fresh key's CSR with the token.
  JoinRequest JoinOf(std::string token, std::string hostname = "worker-1") {
    auto key = GenerateKeyPem();
    EXPECT_TRUE(key.ok());
    auto csr = MakeCsr(*key, "ignored");
    EXPECT_TRUE(csr.ok());
    JoinRequest r;
    r.token = std::move(token);
    r.csr = *csr;
    r.hostname = std::move(hostname);
    return r;
  }

  std::string JoinNode(std::string hostname = "worker-1") {
    auto joined = manager_->Join(JoinOf(Token("node"), std::move(hostname)), "10.0.0.2:5000");
    EXPECT_TRUE(joined.ok()) << joined.status().message();
    return joined.ok() ? joined->node_id : "";
  }

  MemoryKvStore store_;
  std::unique_ptr<Keyring> keyring_;
  TimePoint now_;
  int ids_ = 0;
  std::vector<std::string> listened_;
  Status listener_status_;
  std::unique_ptr<ClusterManager> manager_;
};

TEST_F(ClusterManagerTest, InitMakesTheClusterAndStartsTheListener) {
  EXPECT_FALSE(manager_->initialized());
  ClusterInfo info = Init();
  EXPECT_TRUE(manager_->initialized());
  EXPECT_EQ(info.cluster_id.size(), 25u);
  EXPECT_EQ(info.node_id, kManagerId);
  EXPECT_EQ(info.role, "manager");
  EXPECT_EQ(info.cert_expiry_seconds, 3600);
  EXPECT_EQ(info.ca_digest.size(), kCaDigestLength);
  EXPECT_EQ(info.managers, std::vector<std::string>{"127.0.0.1:7443"});
  EXPECT_EQ(listened_, std::vector<std::string>{"127.0.0.1:7443"});
  auto creds = manager_->server_credentials();
  ASSERT_NE(creds, nullptr);
  auto cert = ParseCertificate(creds->cert_pem);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->subject.node_id, kManagerId);
  EXPECT_EQ(cert->subject.role, "manager");
  EXPECT_EQ(cert->subject.cluster_id, info.cluster_id);
  EXPECT_TRUE(VerifyCertificate(creds->cert_pem, creds->ca_pem, now_).ok());
}

TEST_F(ClusterManagerTest, InitTwiceIsRefused) {
  Init();
  EXPECT_TRUE(IsError(manager_->Init({"", ""}), StatusCode::kFailedPrecondition,
                      "this node is already part of a cluster"));
}

TEST_F(ClusterManagerTest, InitRefusesBadListenAddressesAndExpiries) {
  struct Case {
    const char* description;
    ClusterInitRequest request;
    const char* words;
  };
  const std::vector<Case> cases = {
      {"port zero", {"0.0.0.0:0", ""}, "the port must be a number from 1 to 65535"},
      {"port too large", {"0.0.0.0:65536", ""}, "the port must be a number from 1 to 65535"},
      {"bare IPv6", {"::1:7443", ""}, "an IPv6 address needs brackets"},
      {"bad IPv6", {"[zz]:7443", ""}, "not an IPv6 address"},
      {"bad host", {"my_host:7443", ""}, "invalid listen address 'my_host:7443'"},
      {"no host", {":7443", ""}, "want ADDR:PORT"},
      {"bad expiry", {"", "soon"}, "invalid duration 'soon'"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(IsError(manager_->Init(c.request), StatusCode::kInvalidArgument, c.words))
        << c.description;
  }
  EXPECT_FALSE(manager_->initialized());
  EXPECT_TRUE(listened_.empty());
}

TEST_F(ClusterManagerTest, ListenAddressesKeepTheirFormAndGetTheDefaultPort) {
  EXPECT_EQ(*NormalizeListenAddr(""), "0.0.0.0:7443");
  EXPECT_EQ(*NormalizeListenAddr("10.1.2.3"), "10.1.2.3:7443");
  EXPECT_EQ(*NormalizeListenAddr("[::1]:8443"), "[::1]:8443");
  EXPECT_EQ(*NormalizeListenAddr("manager.example:1"), "manager.example:1");
}

TEST_F(ClusterManagerTest, AFailingListenerLeavesNoCluster) {
  listener_status_ = Status::IOError("bind 127.0.0.1:7443: Address already in use");
  EXPECT_TRUE(IsError(manager_->Init({"127.0.0.1:7443", ""}), StatusCode::kIOError,
                      "cluster init: TLS listener on 127.0.0.1:7443: bind"));
  EXPECT_FALSE(manager_->initialized());
  EXPECT_TRUE(store_.Snapshot().count("cluster/info") == 0);
  listener_status_ = Status::Ok();
  Init();  // and a second try works
}

TEST_F(ClusterManagerTest, TokensStayUntilRotated) {
  Init();
  std::string node = Token("node");
  std::string manager = Token("manager");
  EXPECT_NE(node, manager);
  EXPECT_EQ(Token("node"), node);
  auto parsed = ParseJoinToken(node);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->ca_digest, manager_->Inspect()->ca_digest);
  auto info = manager_->JoinToken("node", false);
  EXPECT_EQ(info->command, "oci-secrets cluster join --token " + node + " 127.0.0.1:7443");
  auto for_manager = manager_->JoinToken("manager", false);
  EXPECT_EQ(for_manager->command,
            "oci-secrets cluster join --token " + manager + " --listen-addr ADDR:7443 127.0.0.1:7443");
  std::string rotated = Token("node", true);
  EXPECT_NE(rotated, node);
  EXPECT_EQ(Token("node"), rotated);
  EXPECT_EQ(Token("manager"), manager);
  EXPECT_TRUE(IsError(manager_->JoinToken("worker", false), StatusCode::kInvalidArgument,
                      "want node or manager"));
}

TEST_F(ClusterManagerTest, JoinIssuesAVerifyingCertificateAndRecordsTheNode) {
  ClusterInfo info = Init();
  auto joined = manager_->Join(JoinOf(Token("node")), "10.0.0.2:5000");
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  EXPECT_EQ(joined->role, "node");
  EXPECT_EQ(joined->cluster_id, info.cluster_id);
  EXPECT_EQ(joined->managers, std::vector<std::string>{"127.0.0.1:7443"});
  EXPECT_EQ(joined->cert_expiry_seconds, 3600);
  EXPECT_TRUE(VerifyCertificate(joined->certificate, joined->ca, now_).ok());
  auto cert = ParseCertificate(joined->certificate);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->subject.node_id, joined->node_id);
  EXPECT_EQ(cert->subject.role, "node");
  EXPECT_EQ(cert->subject.cluster_id, info.cluster_id);
  EXPECT_EQ(cert->not_after, now_ + std::chrono::hours(1));
  EXPECT_EQ(store_.Snapshot().count("nodes/" + joined->node_id), 1u);
  auto node = manager_->InspectNode("worker-1");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->id, joined->node_id);
  EXPECT_EQ(node->role, "node");
  EXPECT_EQ(node->state, "ready");
  EXPECT_EQ(node->addr, "10.0.0.2:5000");
}

TEST_F(ClusterManagerTest, WrongTokensAreInvalidInTheSameWords) {
  Init();
  std::string good = Token("node");
  auto parsed = *ParseJoinToken(Token("node", /*rotate=*/true));
  JoinToken wrong_secret = parsed;
  wrong_secret.secret = std::string(kJoinSecretLength, '0');
  JoinToken wrong_digest = parsed;
  wrong_digest.ca_digest = std::string(kCaDigestLength, '0');
  for (const auto& [description, token] : std::vector<std::pair<std::string, std::string>>{
           {"wrong secret", FormatJoinToken(wrong_secret)},
           {"wrong digest", FormatJoinToken(wrong_digest)},
           {"rotated", good}}) {
    auto r = manager_->Join(JoinOf(token), "");
    EXPECT_TRUE(IsError(r, StatusCode::kPermissionDenied, "invalid join token")) << description;
    if (!r.ok()) EXPECT_EQ(r.status().message(), "invalid join token") << description;
  }
  EXPECT_EQ(manager_->ListNodes()->size(), 1u);  // only the manager
}

TEST_F(ClusterManagerTest, ManagerTokenFromAnotherStoreIsRefused) {
  Init();
  JoinRequest r = JoinOf(Token("manager"));
  r.store_cluster_id = "someotherclusterid0000000";
  EXPECT_TRUE(IsError(manager_->Join(r, ""), StatusCode::kFailedPrecondition,
                      "joining as a manager needs the managers' store: start oci-secretsd with "
                      "--store etcd --etcd-endpoints"));
}

TEST_F(ClusterManagerTest, JoinRefusesABadHostnameOrCsr) {
  Init();
  EXPECT_TRUE(IsError(manager_->Join(JoinOf(Token("node"), "bad host"), ""),
                      StatusCode::kInvalidArgument, "invalid hostname"));
  JoinRequest r = JoinOf(Token("node"));
  r.csr = "not a csr";
  EXPECT_TRUE(IsError(manager_->Join(r, ""), StatusCode::kInvalidArgument, "certificate request"));
}

TEST_F(ClusterManagerTest, IdentifyPeerRefusesAnotherClusterAndARemovedNode) {
  Init();
  // A certificate of another cluster's CA, with the same node shape.
  auto other = CertificateAuthority::Create("othercluster0000000000000", std::chrono::hours(1), now_);
  ASSERT_TRUE(other.ok());
  JoinRequest req = JoinOf("");
  auto foreign = other->Issue(req.csr, {"somenode", "node", "othercluster0000000000000"},
                              std::chrono::hours(1), now_);
  ASSERT_TRUE(foreign.ok());
  auto x509 = [](const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return std::unique_ptr<X509, decltype(&X509_free)>(cert, &X509_free);
  };
  EXPECT_TRUE(IsError(manager_->IdentifyPeer(x509(*foreign).get(), ""),
                      StatusCode::kPermissionDenied, "certificate is from another cluster"));

  auto joined = manager_->Join(JoinOf(Token("node")), "");
  ASSERT_TRUE(joined.ok());
  auto id = manager_->IdentifyPeer(x509(joined->certificate).get(), "10.0.0.2:1");
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(id->role, Role::kNode);
  EXPECT_EQ(id->node_id, joined->node_id);
  EXPECT_EQ(id->transport, Identity::Transport::kTls);
  EXPECT_FALSE(id->anonymous);

  now_ += std::chrono::minutes(1);  // down, so no --force needed
  ASSERT_TRUE(manager_->RemoveNode(joined->node_id, false).ok());
  EXPECT_TRUE(IsError(manager_->IdentifyPeer(x509(joined->certificate).get(), ""),
                      StatusCode::kPermissionDenied,
                      "node " + joined->node_id + " was removed from the cluster"));

  auto anonymous = manager_->IdentifyPeer(nullptr, "");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_TRUE(anonymous->anonymous);
  EXPECT_FALSE(anonymous->role.has_value());
  EXPECT_EQ(anonymous->kind, Identity::Kind::kCertificate);
}

TEST_F(ClusterManagerTest, StillValidFlipsAtRemoveNode) {
  Init();
  std::string id = JoinNode();
  Identity node = CertificateIdentity(Role::kNode, id);
  EXPECT_TRUE(manager_->StillValid(node).ok());
  ASSERT_TRUE(manager_->RemoveNode(id, /*force=*/true).ok());
  EXPECT_TRUE(IsError(manager_->StillValid(node), StatusCode::kPermissionDenied,
                      "permission denied: node " + id + " was removed from the cluster"));
  auto snapshot = store_.Snapshot();
  EXPECT_EQ(snapshot.count("revoked/" + id), 1u);
  EXPECT_EQ(snapshot.count("nodes/" + id), 0u);
  EXPECT_TRUE(IsError(manager_->Renew(node, {JoinOf("").csr, ""}), StatusCode::kPermissionDenied,
                      "was removed from the cluster"));
}

TEST_F(ClusterManagerTest, ReadyOrDownByLastSeen) {
  Init();
  std::string id = JoinNode();
  EXPECT_EQ(manager_->InspectNode(id)->state, "ready");
  now_ += std::chrono::seconds(16);
  EXPECT_EQ(manager_->InspectNode(id)->state, "down");
  EXPECT_EQ(manager_->InspectNode(kManagerId)->state, "ready");  // the manager itself
  manager_->Seen(CertificateIdentity(Role::kNode, id), "");
  EXPECT_EQ(manager_->InspectNode(id)->state, "ready");
  EXPECT_EQ(manager_->InspectNode(id)->last_seen, now_);
}

TEST_F(ClusterManagerTest, SeenReachesTheStoreAtMostEveryFiveSeconds) {
  Init();
  std::string id = JoinNode();
  Identity node = CertificateIdentity(Role::kNode, id);
  int before = store_.commits();
  for (int i = 0; i < 10; ++i) {
    now_ += std::chrono::milliseconds(100);
    manager_->Seen(node, "");
  }
  EXPECT_EQ(store_.commits(), before);
  now_ += kSeenWriteInterval;
  manager_->Seen(node, "");
  EXPECT_EQ(store_.commits(), before + 1);
}

TEST_F(ClusterManagerTest, RemovingAReadyNodeNeedsForceAndTheManagerCannotGo) {
  Init();
  std::string id = JoinNode();
  EXPECT_TRUE(IsError(manager_->RemoveNode(id, false), StatusCode::kFailedPrecondition,
                      "node " + id + " is ready: stop it first or use --force"));
  EXPECT_TRUE(IsError(manager_->RemoveNode(kManagerId, true), StatusCode::kFailedPrecondition,
                      std::string("node ") + kManagerId +
                          " is this manager; it cannot remove itself"));
  EXPECT_TRUE(manager_->RemoveNode(id, true).ok());
  EXPECT_TRUE(IsError(manager_->InspectNode(id), StatusCode::kNotFound, "node not found"));
}

TEST_F(ClusterManagerTest, NodesListSortedAndFoundByPrefixAndUpdatedByVersion) {
  Init();
  std::string b = JoinNode("b-host");
  std::string a = JoinNode("a-host");
  auto list = manager_->ListNodes();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].hostname, "a-host");
  EXPECT_EQ((*list)[1].hostname, "b-host");
  EXPECT_EQ((*list)[2].hostname, "manager-host");
  EXPECT_TRUE(IsError(manager_->InspectNode("n"), StatusCode::kFailedPrecondition, "ambiguous"));
  EXPECT_EQ(manager_->InspectNode(a.substr(0, 2))->id, a);

  Node node = *manager_->InspectNode(b);
  NodeSpec spec;
  spec.labels = {{"zone", "eu"}};
  auto updated = manager_->UpdateNode(b, node.version, spec);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_EQ(updated->spec.labels.at("zone"), "eu");
  EXPECT_EQ(manager_->NodeById(b)->spec.labels.at("zone"), "eu");
  EXPECT_TRUE(IsError(manager_->UpdateNode(b, node.version, spec), StatusCode::kFailedPrecondition,
                      "was updated since version"));
}

TEST_F(ClusterManagerTest, RenewKeepsTheNodeAndRole) {
  Init();
  std::string id = JoinNode();
  now_ += std::chrono::minutes(30);
  auto renewed = manager_->Renew(CertificateIdentity(Role::kNode, id), {JoinOf("").csr, ""});
  ASSERT_TRUE(renewed.ok()) << renewed.status().message();
  auto cert = ParseCertificate(renewed->certificate);
  EXPECT_EQ(cert->subject.node_id, id);
  EXPECT_EQ(cert->subject.role, "node");
  EXPECT_EQ(cert->not_after, now_ + std::chrono::hours(1));
  EXPECT_EQ(manager_->NodeById(id)->cert_expires_at, cert->not_after);
  Identity local;
  local.role = Role::kAdmin;
  EXPECT_TRUE(IsError(manager_->Renew(local, {JoinOf("").csr, ""}), StatusCode::kPermissionDenied,
                      "renewal is for a node's or manager's own certificate"));
}

TEST_F(ClusterManagerTest, AdminCertificatesAreAdminsFor90Days) {
  Init();
  auto issued = manager_->AdminCert({JoinOf("").csr, ""});
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  auto cert = ParseCertificate(issued->certificate);
  EXPECT_EQ(cert->subject.role, "admin");
  EXPECT_TRUE(cert->subject.node_id.starts_with("admin-"));
  EXPECT_EQ(cert->not_after, now_ + kAdminCertLifetime);
}

TEST_F(ClusterManagerTest, ServerCertificateIsReissuedPastTwoThirdsOfItsLife) {
  Init();
  auto first = manager_->server_credentials();
  ASSERT_TRUE(manager_->MaintainServerCert(now_ + std::chrono::minutes(39)).ok());
  EXPECT_EQ(manager_->server_credentials(), first);
  now_ += std::chrono::minutes(41);
  ASSERT_TRUE(manager_->MaintainServerCert(now_).ok());
  auto second = manager_->server_credentials();
  EXPECT_NE(second, first);
  EXPECT_NE(second->cert_pem, first->cert_pem);
  EXPECT_EQ(ParseCertificate(second->cert_pem)->not_after, now_ + std::chrono::hours(1));
}

TEST_F(ClusterManagerTest, TheCaKeyAndTokenSecretsNeverReachTheStoreInClear) {
  Init();
  std::string node_secret = ParseJoinToken(Token("node"))->secret;
  std::string manager_secret = ParseJoinToken(Token("manager"))->secret;
  std::string rotated = ParseJoinToken(Token("node", true))->secret;
  JoinNode();
  for (const auto& [key, kv] : store_.Snapshot()) {
    EXPECT_EQ(kv.value.find("PRIVATE KEY"), std::string::npos) << key;
    for (const std::string& secret : {node_secret, manager_secret, rotated}) {
      EXPECT_EQ(kv.value.find(secret), std::string::npos) << key;
    }
  }
}

TEST_F(ClusterManagerTest, LoadAfterARestartKeepsTheCluster) {
  ClusterInfo info = Init();
  std::string token = Token("node");
  std::string manager_token = Token("manager");
  std::string removed = JoinNode("gone");
  std::string kept = JoinNode("kept");
  ASSERT_TRUE(manager_->RemoveNode(removed, true).ok());
  listened_.clear();

  manager_ = Make();  // a restart on the same store
  EXPECT_FALSE(manager_->initialized());
  ASSERT_TRUE(manager_->Load().ok());
  EXPECT_TRUE(manager_->initialized());
  EXPECT_EQ(listened_, std::vector<std::string>{"127.0.0.1:7443"});
  auto again = manager_->Inspect();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->cluster_id, info.cluster_id);
  EXPECT_EQ(again->ca_digest, info.ca_digest);
  EXPECT_EQ(Token("node"), token);
  EXPECT_EQ(Token("manager"), manager_token);
  EXPECT_TRUE(IsError(manager_->StillValid(CertificateIdentity(Role::kNode, removed)),
                      StatusCode::kPermissionDenied, "was removed from the cluster"));
  EXPECT_EQ(manager_->NodeById(kept)->hostname, "kept");
  EXPECT_NE(manager_->server_credentials(), nullptr);
  EXPECT_TRUE(manager_->Join(JoinOf(token, "later"), "").ok());
}

TEST_F(ClusterManagerTest, LoadWithoutAClusterStartsNothing) {
  ASSERT_TRUE(manager_->Load().ok());
  EXPECT_FALSE(manager_->initialized());
  EXPECT_TRUE(listened_.empty());
  EXPECT_TRUE(IsError(manager_->Inspect(), StatusCode::kFailedPrecondition,
                      "this node is not part of a cluster"));
}

}  // namespace
}  // namespace ocisecrets
