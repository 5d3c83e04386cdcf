// The router's cluster and node routes over a real ClusterManager (in-memory store, real
// keyring): who may call what over which transport, and the words of each refusal.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "manager/api/router.h"
#include "manager/cluster/cluster_manager.h"
#include "shared/crypto.h"
#include "shared/pki.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/testing/identities.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::CertificateIdentity;

class AuditLines : public AuditSink {
 public:
  void Record(const Identity& peer, const AuditEvent& event) override {
    lines.push_back(AuditLine(peer, event));
  }
  std::vector<std::string> lines;
};

class ClusterRoutesTest : public ::testing::Test {
 protected:
  ClusterRoutesTest()
      : registry_(&store_, &sealer_, RegistryOptions{}),
        router_(&registry_, &audit_, RouterOptions{}) {
    auto root = RandomKey();
    auto keyring = Keyring::Open(std::move(*root), store_);
    EXPECT_TRUE(keyring.ok());
    keyring_ = std::move(*keyring);
    ClusterManagerOptions o;
    o.local_node_id = "mgr000000000000000000000a";
    o.hostname = "manager-host";
    o.start_listener = [](const std::string&) { return Status::Ok(); };
    cluster_ = std::make_unique<ClusterManager>(&store_, keyring_.get(), o);
    admin_.role = Role::kAdmin;
    admin_.uid = 0;
    admin_.node_id = o.local_node_id;
    anonymous_.kind = Identity::Kind::kCertificate;
    anonymous_.transport = Identity::Transport::kTls;
    anonymous_.anonymous = true;
    node_ = CertificateIdentity(Role::kNode, "node00000000000000000000b");
    remote_admin_ = CertificateIdentity(Role::kAdmin, "admin-x");
  }

  Response Call(const std::string& method, const std::string& target, const std::string& body,
                const Identity& peer) {
    return router_.Handle(Request{method, target, body}, peer);
  }

  static std::string Message(const Response& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("message") ? j["message"].get<std::string>() : r.body;
  }

  void Init() {
    router_.SetClusterHooks(cluster_.get());
    Response r = Call("POST", "/v1/cluster/init", R"({"ListenAddr":"127.0.0.1:7443"})", admin_);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::string Csr() {
    auto key = GenerateKeyPem();
    return *MakeCsr(*key, "x");
  }

  MemoryKvStore store_;
  FakeSealer sealer_;
  Registry registry_;
  AuditLines audit_;
  Router router_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<ClusterManager> cluster_;
  Identity admin_, anonymous_, node_, remote_admin_;
};

TEST_F(ClusterRoutesTest, WithoutAClusterTheRoutesSayHowToMakeOne) {
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/cluster"}, {"GET", "/v1/nodes"}, {"POST", "/v1/cluster/init"}}) {
    Response r = Call(method, target, "{}", admin_);
    EXPECT_EQ(r.status, 409) << target;
    EXPECT_EQ(Message(r),
              "this node is not part of a cluster: run `oci-secrets cluster init` or "
              "`oci-secrets cluster join`")
        << target;
  }
}

TEST_F(ClusterRoutesTest, InitThenInspectJoinTokenAndNodes) {
  Init();
  auto info = nlohmann::json::parse(Call("GET", "/v1/cluster", "", admin_).body);
  EXPECT_EQ(info["Role"], "manager");
  EXPECT_EQ(info["Managers"], nlohmann::json::array({"127.0.0.1:7443"}));
  Response token = Call("GET", "/v1/cluster/join-token?role=node", "", admin_);
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_TRUE(token.sensitive);
  auto t = nlohmann::json::parse(token.body);
  EXPECT_EQ(t["Command"], "oci-secrets cluster join --token " + t["Token"].get<std::string>() +
                              " 127.0.0.1:7443");
  Response again = Call("POST", "/v1/cluster/init", "{}", admin_);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Message(again), "this node is already part of a cluster");

  // The anonymous TLS peer joins; the new node then shows in the list.
  std::string body = nlohmann::json{{"Token", t["Token"]}, {"CSR", Csr()}, {"Hostname", "w1"}}.dump();
  Response joined = Call("POST", "/v1/cluster/join", body, anonymous_);
  ASSERT_EQ(joined.status, 200) << joined.body;
  auto nodes = nlohmann::json::parse(Call("GET", "/v1/nodes", "", admin_).body);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0]["Description"]["Hostname"], "manager-host");
  EXPECT_EQ(nodes[1]["Description"]["Hostname"], "w1");
  EXPECT_EQ(nodes[1]["Status"]["State"], "ready");

  Response wrong = Call("POST", "/v1/cluster/join",
                        nlohmann::json{{"Token", "OCSTKN-1-" + std::string(50, 'a') + "-" +
                                                     std::string(25, 'b')},
                                       {"CSR", Csr()},
                                       {"Hostname", "w2"}}
                            .dump(),
                        anonymous_);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(Message(wrong), "invalid join token");
  bool audited = false;
  for (const auto& line : audit_.lines) {
    audited |= line.find(R"("action":"cluster.join")") != std::string::npos &&
               line.find("invalid join token") != std::string::npos;
  }
  EXPECT_TRUE(audited);
}

TEST_F(ClusterRoutesTest, ANodeCertificateMayCallNoAdminOrClusterRoute) {
  Init();
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/secrets"},
           {"POST", "/v1/secrets"},
           {"GET", "/v1/secrets/x"},
           {"DELETE", "/v1/secrets/x"},
           {"POST", "/v1/secrets/x/update?version=1"},
           {"GET", "/v1/services"},
           {"POST", "/v1/services"},
           {"GET", "/v1/services/x"},
           {"DELETE", "/v1/services/x"},
           {"POST", "/v1/services/x/update?version=1"},
           {"GET", "/metrics"},
           {"GET", "/v1/cluster"},
           {"POST", "/v1/cluster/update"},
           {"GET", "/v1/cluster/join-token?role=node"},
           {"POST", "/v1/cluster/join"},
           {"GET", "/v1/nodes"},
           {"GET", "/v1/nodes/x"},
           {"POST", "/v1/nodes/x/update?version=1"},
           {"DELETE", "/v1/nodes/x"}}) {
    Response r = Call(method, target, "{}", node_);
    EXPECT_EQ(r.status, 403) << method << " " << target;
    EXPECT_NE(Message(r).find("permission denied: role node may not call " + method),
              std::string::npos)
        << Message(r);
  }
  // Unix-only routes say so first, to any TLS caller.
  for (const char* target : {"/v1/cluster/init", "/v1/cluster/admin-cert"}) {
    Response r = Call("POST", target, "{}", node_);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(Message(r), std::string("permission denied: POST ") + target +
                              " is only served on the manager's unix socket");
  }
  // The refusals are audited with the certificate's node and role.
  ASSERT_FALSE(audit_.lines.empty());
  EXPECT_NE(audit_.lines.back().find(R"("node":"node00000000000000000000b")"), std::string::npos);
  EXPECT_NE(audit_.lines.back().find(R"("role":"node")"), std::string::npos);
}

TEST_F(ClusterRoutesTest, UnixOnlyRoutesRefuseARemoteAdmin) {
  Init();
  Response r = Call("POST", "/v1/cluster/admin-cert", nlohmann::json{{"CSR", Csr()}}.dump(),
                    remote_admin_);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Message(r),
            "permission denied: POST /v1/cluster/admin-cert is only served on the manager's "
            "unix socket");
  Response local = Call("POST", "/v1/cluster/admin-cert", nlohmann::json{{"CSR", Csr()}}.dump(),
                        admin_);
  EXPECT_EQ(local.status, 200) << local.body;
  EXPECT_EQ(Call("GET", "/v1/nodes", "", remote_admin_).status, 200);
}

TEST_F(ClusterRoutesTest, TheAnonymousPeerIsAdmittedOnlyToTheJoin) {
  Init();
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/health"},
           {"GET", "/v1/secrets"},
           {"POST", "/v1/leases"},
           {"GET", "/v1/nodes"},
           {"POST", "/v1/cluster/renew"},
           {"POST", "/v1/cluster/init"},
           {"GET", "/no/such/route"}}) {
    Response r = Call(method, target, "{}", anonymous_);
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_EQ(Message(r), "permission denied: a client certificate is required") << target;
  }
}

TEST_F(ClusterRoutesTest, EveryTlsCallIsAuditedReadsToo) {
  Init();
  audit_.lines.clear();
  ASSERT_EQ(Call("GET", "/v1/nodes", "", remote_admin_).status, 200);
  ASSERT_EQ(audit_.lines.size(), 1u);
  EXPECT_NE(audit_.lines[0].find(R"("action":"call")"), std::string::npos) << audit_.lines[0];
  EXPECT_NE(audit_.lines[0].find(R"("name":"GET /v1/nodes")"), std::string::npos);
  EXPECT_NE(audit_.lines[0].find(R"("node":"admin-x")"), std::string::npos);
}

TEST_F(ClusterRoutesTest, ARemovedReadyNodeNeedsForce) {
  Init();
  auto t = nlohmann::json::parse(Call("GET", "/v1/cluster/join-token?role=node", "", admin_).body);
  auto joined = nlohmann::json::parse(
      Call("POST", "/v1/cluster/join",
           nlohmann::json{{"Token", t["Token"]}, {"CSR", Csr()}, {"Hostname", "w1"}}.dump(),
           anonymous_)
          .body);
  std::string id = joined["NodeID"];
  Response refused = Call("DELETE", "/v1/nodes/w1", "", admin_);
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(Message(refused), "node " + id + " is ready: stop it first or use --force");
  EXPECT_EQ(Call("DELETE", "/v1/nodes/w1?force=true", "", admin_).status, 204);
  EXPECT_EQ(Call("GET", "/v1/nodes/" + id, "", admin_).status, 404);
}

}  // namespace
}  // namespace ocisecrets
