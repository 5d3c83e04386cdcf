#include "manager/api/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "shared/http_client.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

class MemoryAudit : public AuditSink {
 public:
  void Record(const Identity& peer, const AuditEvent& event) override {
    lines.push_back(AuditLine(peer, event));
  }
  std::vector<std::string> lines;
};

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : registry_(&store_, &sealer_, Options()),
        router_(&registry_, &audit_, RouterOptions{"oci-secrets-admin", "0.1.0"}) {
    admin_.kind = Identity::Kind::kLocalUid;
    admin_.role = Role::kAdmin;
    admin_.node_id = "local";
    admin_.uid = 0;
    admin_.pid = 42;
    user_.uid = 1000;
    user_.pid = 43;  // no role: a local peer neither root nor in the admin group
  }

  // A caller known by its certificate (TLS, a later issue; built here only).
  static Identity CertificateOf(Role role, std::string node_id) {
    Identity id;
    id.kind = Identity::Kind::kCertificate;
    id.role = role;
    id.node_id = std::move(node_id);
    return id;
  }

  // A service "redis" holding one secret, for the lease tests.
  void CreateRedis() {
    CreateSecret("pw", "aHVudGVyMg==");
    ASSERT_EQ(Call("POST", "/v1/services", R"({"Name":"redis","Secrets":[{"SecretName":"pw"}]})")
                  .status,
              201);
  }

  std::vector<LeaseInfo> LeasesOfRedis() {
    auto service = ParseService(Call("GET", "/v1/services/redis").body);
    EXPECT_TRUE(service.ok());
    return service.ok() ? service->leases : std::vector<LeaseInfo>{};
  }

  RegistryOptions Options() {
    RegistryOptions o;
    o.new_id = [this] {
      std::string n = std::to_string(++ids_);
      return std::string(25 - n.size(), 'k') + n;
    };
    return o;
  }

  Response Call(const std::string& method, const std::string& target, const std::string& body = "",
                const Identity* peer = nullptr) {
    return router_.Handle(Request{method, target, body}, peer ? *peer : admin_);
  }

  static std::string CodeOf(const Response& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("code") ? j["code"].get<std::string>() : "(no code)";
  }

  static std::string Message(const Response& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("message") ? j["message"].get<std::string>() : "";
  }

  std::string CreateSecret(const std::string& name, const std::string& base64) {
    Response r = Call("POST", "/v1/secrets",
                      R"({"Name":")" + name + R"(","Labels":{"env":"prod"},"Data":")" + base64 + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("ID", "") : "";
  }

  MemoryKvStore store_;
  FakeSealer sealer_;
  int ids_ = 0;
  Registry registry_;
  MemoryAudit audit_;
  Router router_;
  Identity admin_;
  Identity user_;
};

TEST_F(RouterTest, HealthAnswersWithEngineAndVersion) {
  Response r = Call("GET", "/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"Locked":false,"Status":"ok","Store":"memory","Version":"0.1.0"})");
}

TEST_F(RouterTest, NonAdminGets403OnEveryRouteAndItIsAudited) {
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/health"}, {"GET", "/v1/secrets"}, {"POST", "/v1/leases"},
           {"GET", "/no/such/route"}}) {
    Response r = Call(method, target, "{}", &user_);
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_EQ(Message(r),
              "permission denied: uid 1000 is not root and not in group oci-secrets-admin");
  }
  ASSERT_EQ(audit_.lines.size(), 4u);
  EXPECT_NE(audit_.lines[0].find(R"("action":"denied")"), std::string::npos) << audit_.lines[0];
  EXPECT_NE(audit_.lines[0].find(R"("uid":1000)"), std::string::npos);
}

TEST_F(RouterTest, UnknownRouteIs404AndWrongMethodIs405) {
  struct Case {
    const char* description;
    std::string method;
    std::string target;
    int status;
  };
  const std::vector<Case> cases = {
      {"unknown path", "GET", "/v2/secrets", 404},
      {"trailing segment", "GET", "/v1/secrets/a/b/c", 404},
      {"empty id segment", "GET", "/v1/secrets//update", 404},
      {"not a path", "GET", "http://x/v1/health", 400},
      {"PUT on a collection", "PUT", "/v1/secrets", 405},
      {"GET on update", "GET", "/v1/secrets/x/update", 405},
      {"bad percent escape", "GET", "/v1/secrets/%zz", 404},
      {"bad percent escape in query", "GET", "/v1/secrets?name=%4", 400},
  };
  for (const auto& c : cases) {
    Response r = Call(c.method, c.target);
    EXPECT_EQ(r.status, c.status) << c.description << ": " << r.body;
    EXPECT_FALSE(Message(r).empty()) << c.description;
  }
  Response r = Call("PUT", "/v1/secrets");
  EXPECT_EQ(r.allow, "POST, GET");
}

TEST_F(RouterTest, MalformedBodiesAre400AndChangeNothing) {
  struct Case {
    const char* description;
    std::string target;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"not JSON", "/v1/secrets", "{nope"},
      {"array instead of object", "/v1/secrets", "[]"},
      {"no Data", "/v1/secrets", R"({"Name":"a"})"},
      {"Data not base64", "/v1/secrets", R"({"Name":"a","Data":"***"})"},
      {"bad name", "/v1/secrets", R"({"Name":"a b","Data":"eA=="})"},
      {"empty payload", "/v1/secrets", R"({"Name":"a","Data":""})"},
      {"Labels not an object", "/v1/secrets", R"({"Name":"a","Labels":[1],"Data":"eA=="})"},
      {"service spec not JSON", "/v1/services", "}"},
      {"lease not JSON", "/v1/leases", "\x01\x02"},
      {"lease without container", "/v1/leases", R"({"Service":"x"})"},
  };
  for (const auto& c : cases) {
    Response r = Call("POST", c.target, c.body);
    EXPECT_EQ(r.status, 400) << c.description << ": " << r.body;
    EXPECT_FALSE(Message(r).empty()) << c.description;
  }
  EXPECT_EQ(store_.commits(), 0);
}

TEST_F(RouterTest, OversizedBodyIs413) {
  Response r = Call("POST", "/v1/secrets", std::string(1024 * 1024 + 1, ' '));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(store_.commits(), 0);
}

TEST_F(RouterTest, SecretLifecycleOverTheApi) {
  std::string id = CreateSecret("redis_password", "aHVudGVyMg==");
  ASSERT_EQ(id.size(), 25u);

  Response dup = Call("POST", "/v1/secrets", R"({"Name":"REDIS_PASSWORD","Data":"eA=="})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(Message(dup), "secret REDIS_PASSWORD already exists");

  Response one = Call("GET", "/v1/secrets/redis_password");
  ASSERT_EQ(one.status, 200);
  auto secret = ParseSecret(one.body);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->id, id);
  EXPECT_EQ(one.body.find("\"Data\""), std::string::npos) << "payloads are never returned";

  EXPECT_EQ(Call("GET", "/v1/secrets?label=env%3Dprod").body, "[" + one.body + "]");
  EXPECT_EQ(Call("GET", "/v1/secrets?name=nomatch").body, "[]");
  EXPECT_EQ(Call("GET", "/v1/secrets?color=red").status, 400);

  std::string v = std::to_string(secret->version);
  EXPECT_EQ(Call("POST", "/v1/secrets/" + id + "/update", R"({"Name":"redis_password"})").status,
            400) << "version is required";
  Response data = Call("POST", "/v1/secrets/" + id + "/update?version=" + v,
                       R"({"Name":"redis_password","Data":"eA=="})");
  EXPECT_EQ(data.status, 400);
  EXPECT_EQ(Message(data), "only updates to Labels are allowed");
  EXPECT_EQ(Call("POST", "/v1/secrets/" + id + "/update?version=1" + v,
                 R"({"Name":"redis_password","Labels":{}})").status,
            409);
  Response upd = Call("POST", "/v1/secrets/" + id + "/update?version=" + v,
                      R"({"Name":"redis_password","Labels":{"k":"v"}})");
  EXPECT_EQ(upd.status, 200) << upd.body;

  EXPECT_EQ(Call("DELETE", "/v1/secrets/" + id).status, 204);
  EXPECT_EQ(Call("GET", "/v1/secrets/" + id).status, 404);
}

TEST_F(RouterTest, ServiceAndLeaseOverTheApi) {
  CreateSecret("tls_cert", "c2VjcmV0LWJ5dGVz");  // "secret-bytes"
  Response created = Call("POST", "/v1/services",
                          R"({"Name":"redis","Secrets":[{"SecretName":"tls_cert",
                              "File":{"Name":"server.pem","UID":"999","GID":"999","Mode":256}}]})");
  ASSERT_EQ(created.status, 201) << created.body;

  Response in_use = Call("DELETE", "/v1/secrets/tls_cert");
  EXPECT_EQ(in_use.status, 409);
  EXPECT_EQ(Message(in_use), "secret 'tls_cert' is in use by the following service: redis");

  Response unknown = Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"nope"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Message(unknown), "service nope not found");

  Response lease = Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})");
  ASSERT_EQ(lease.status, 200) << lease.body;
  EXPECT_TRUE(lease.sensitive);
  auto grant = ParseLeaseGrant(lease.body);
  ASSERT_TRUE(grant.ok()) << grant.status().message();
  ASSERT_EQ(grant->files.size(), 1u);
  EXPECT_EQ(std::string(grant->files[0].data.begin(), grant->files[0].data.end()), "secret-bytes");
  EXPECT_EQ(grant->files[0].mode, 0400u);
  EXPECT_EQ(grant->files[0].uid, 999u);

  Response svc = Call("GET", "/v1/services/redis");
  ASSERT_EQ(svc.status, 200);
  auto service = ParseService(svc.body);
  ASSERT_TRUE(service.ok());
  ASSERT_EQ(service->leases.size(), 1u);
  EXPECT_EQ(service->leases[0].container_id, "c1");

  EXPECT_EQ(Call("DELETE", "/v1/leases/c1").status, 204);
  EXPECT_EQ(Call("DELETE", "/v1/leases/c1").status, 204) << "idempotent";

  Response stale = Call("POST", "/v1/services/redis/update?version=1", R"({"Name":"redis"})");
  EXPECT_EQ(stale.status, 409);
  Response upd = Call("POST", "/v1/services/redis/update?version=" +
                                  std::to_string(service->version),
                      R"({"Name":"redis","Secrets":[]})");
  EXPECT_EQ(upd.status, 200) << upd.body;
  EXPECT_EQ(Call("DELETE", "/v1/services/redis").status, 204);
  EXPECT_EQ(Call("DELETE", "/v1/secrets/tls_cert").status, 204);
}

// Audit lines are written by hand: they must be exactly what the JSON library writes for
// the same object (and never throw on bad UTF-8 from a caller).
TEST(AuditLineTest, IsTheGenericSerializersCompactDump) {
  struct Case {
    const char* description;
    AuditEvent event;
  };
  std::vector<Case> cases(3);
  cases[0].description = "a lease";
  cases[0].event = {"lease.create", 200, "redis", "svcid", "c0ffee", {"a", "b"}, ""};
  cases[1].description = "a refusal with an error that needs escaping";
  cases[1].event = {"denied", 403, "GET /v1/\"x\"\n", "", "", {}, "permission \\ denied"};
  cases[2].description = "invalid UTF-8 from a caller";
  cases[2].event = {"secret.create", 400, "bad\xff", "", "", {}, "caf\xc3\xa9"};
  Identity peer;
  peer.uid = 4294967294u;
  peer.pid = -1;
  peer.role = Role::kAdmin;
  peer.node_id = "local";
  for (const Case& c : cases) {
    std::string line = AuditLine(peer, c.event);
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n') << c.description;
    line.pop_back();
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << c.description << ": " << line;
    EXPECT_EQ(j.dump(), line) << c.description;
    EXPECT_EQ(j["action"], c.event.action) << c.description;
    EXPECT_EQ(j["uid"], 4294967294u) << c.description;
    EXPECT_EQ(j["pid"], -1) << c.description;
    EXPECT_EQ(j["status"], c.event.status) << c.description;
    EXPECT_TRUE(ParseTime(j["time"].get<std::string>()).ok()) << c.description;
    EXPECT_EQ(j.contains("secrets"), !c.event.secret_ids.empty()) << c.description;
    EXPECT_EQ(j.contains("container"), !c.event.container_id.empty()) << c.description;
    EXPECT_EQ(j["kind"], "local") << c.description;
    EXPECT_EQ(j["role"], "admin") << c.description;
    EXPECT_EQ(j["node"], "local") << c.description;
  }
  EXPECT_EQ(nlohmann::json::parse(AuditLine(peer, cases[0].event))["result"], "ok");
  EXPECT_EQ(nlohmann::json::parse(AuditLine(peer, cases[1].event))["result"], "denied");
  EXPECT_EQ(nlohmann::json::parse(AuditLine(peer, cases[2].event))["result"], "error");
  Identity node;
  node.kind = Identity::Kind::kCertificate;
  node.role = Role::kNode;
  node.node_id = "3f9k2j";
  std::string line = AuditLine(node, cases[0].event);
  line.pop_back();
  auto j = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << line;
  EXPECT_EQ(j.dump(), line) << "a certificate caller";
  EXPECT_EQ(j["kind"], "certificate");
  EXPECT_EQ(j["role"], "node");
  EXPECT_EQ(j["node"], "3f9k2j");
  EXPECT_FALSE(j.contains("uid")) << "a certificate has no uid: " << line;
  EXPECT_FALSE(j.contains("pid")) << line;
}

TEST(IdentityTest, DescribeNamesTheUidOrTheRoleAndNode) {
  Identity local;
  local.uid = 1000;
  local.role = Role::kAdmin;
  EXPECT_EQ(local.Describe(), "uid 1000");
  Identity node;
  node.kind = Identity::Kind::kCertificate;
  node.role = Role::kNode;
  node.node_id = "3f9k2j";
  EXPECT_EQ(node.Describe(), "node 3f9k2j");
  node.role = Role::kManager;
  EXPECT_EQ(node.Describe(), "manager 3f9k2j");
}

TEST(NodeIdTest, IsCreatedOnceAndReadBackAfterwards) {
  ocisecrets::testing::TempDir dir;
  int calls = 0;
  auto new_id = [&calls] {
    ++calls;
    return std::string("0123456789abcdefghijklmno");
  };
  auto first = LoadOrCreateNodeId(dir / "node.id", new_id);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, "0123456789abcdefghijklmno");
  auto again = LoadOrCreateNodeId(dir / "node.id", [] { return std::string(25, 'z'); });
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, *first) << "the ID stays across restarts";
  EXPECT_EQ(calls, 1);
}

TEST(NodeIdTest, RefusesAFileThatHoldsNoNodeId) {
  ocisecrets::testing::TempDir dir;
  FILE* f = std::fopen((dir / "node.id").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("not an id\n", f);
  std::fclose(f);
  auto id = LoadOrCreateNodeId(dir / "node.id", [] { return std::string(25, 'z'); });
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(id.status().message(),
            "node ID file " + (dir / "node.id") + " does not hold a node ID (25 characters a-z 0-9)");
}

TEST_F(RouterTest, NodeRoleIsRefusedOnEverySecretAndServiceRouteNamingTheRole) {
  CreateRedis();
  const Identity node = CertificateOf(Role::kNode, "nodea");
  struct Case {
    std::string method;
    std::string target;
    std::string route;  // as the message names it
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/secrets", "POST /v1/secrets"},
      {"GET", "/v1/secrets", "GET /v1/secrets"},
      {"GET", "/v1/secrets/pw", "GET /v1/secrets/{}"},
      {"DELETE", "/v1/secrets/pw", "DELETE /v1/secrets/{}"},
      {"POST", "/v1/secrets/pw/update?version=1", "POST /v1/secrets/{}/update"},
      {"POST", "/v1/services", "POST /v1/services"},
      {"GET", "/v1/services", "GET /v1/services"},
      {"GET", "/v1/services/redis", "GET /v1/services/{}"},
      {"DELETE", "/v1/services/redis", "DELETE /v1/services/{}"},
      {"POST", "/v1/services/redis/update?version=1", "POST /v1/services/{}/update"},
      {"GET", "/metrics", "GET /metrics"},
  };
  audit_.lines.clear();
  for (const Case& c : cases) {
    Response r = Call(c.method, c.target, "{}", &node);
    EXPECT_EQ(r.status, 403) << c.route << ": " << r.body;
    EXPECT_EQ(Message(r), "permission denied: role node may not call " + c.route);
  }
  ASSERT_EQ(audit_.lines.size(), cases.size()) << "every refusal is audited";
  auto j = nlohmann::json::parse(audit_.lines[0]);
  EXPECT_EQ(j["action"], "denied");
  EXPECT_EQ(j["role"], "node");
  EXPECT_EQ(j["node"], "nodea");
  EXPECT_EQ(j["kind"], "certificate");
  EXPECT_EQ(j["error"], "permission denied: role node may not call POST /v1/secrets");
  EXPECT_EQ(Call("GET", "/v1/services/redis").status, 200) << "nothing changed";
  EXPECT_EQ(Call("GET", "/v1/secrets/pw").status, 200) << "nothing removed";
}

TEST_F(RouterTest, LeaseOutsideTheConstraintsIs403AndItsAuditLineNamesTheConstraint) {
  CreateSecret("pw", "aHVudGVyMg==");
  ASSERT_EQ(Call("POST", "/v1/services",
                 R"({"Name":"redis","Secrets":[{"SecretName":"pw"}],)"
                 R"("Placement":{"Constraints":["node.labels.zone == eu"]}})")
                .status,
            201);
  audit_.lines.clear();
  Response r = Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(CodeOf(r), "PermissionDenied");
  EXPECT_NE(Message(r).find("node local ("), std::string::npos) << r.body;
  EXPECT_NE(Message(r).find(") does not satisfy constraint node.labels.zone==eu of service redis"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("aHVudGVyMg=="), std::string::npos) << "no payload in a refusal";
  ASSERT_EQ(audit_.lines.size(), 1u);
  auto j = nlohmann::json::parse(audit_.lines[0]);
  EXPECT_EQ(j["action"], "lease.create");
  EXPECT_EQ(j["status"], 403);
  EXPECT_EQ(j["result"], "denied");
  EXPECT_EQ(j["container"], "c1");
  EXPECT_EQ(j["error"], Message(r));
  EXPECT_FALSE(j.contains("secrets")) << "nothing was handed out: " << audit_.lines[0];
  EXPECT_TRUE(LeasesOfRedis().empty());
}

TEST_F(RouterTest, ServiceCreateWithABadConstraintIs400WithTheParsersWords) {
  Response r = Call("POST", "/v1/services",
                    R"({"Name":"redis","Placement":{"Constraints":["node.zone==eu"]}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Message(r),
            "constraint \"node.zone==eu\": unknown key node.zone; use node.id, node.hostname, "
            "node.role or node.labels.KEY");
  EXPECT_EQ(Call("GET", "/v1/services/redis").status, 404) << "nothing created";
}

TEST_F(RouterTest, NodeRoleMayCheckHealth) {
  const Identity node = CertificateOf(Role::kNode, "nodea");
  Response r = Call("GET", "/v1/health", "", &node);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(RouterTest, NodeLeasesOnlyForItsOwnNodeId) {
  CreateRedis();
  const Identity node = CertificateOf(Role::kNode, "nodea");
  Response own = Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})", &node);
  ASSERT_EQ(own.status, 200) << own.body;
  Response named = Call("POST", "/v1/leases",
                        R"({"ContainerID":"c2","NodeID":"nodea","Service":"redis"})", &node);
  ASSERT_EQ(named.status, 200) << named.body;
  Response other = Call("POST", "/v1/leases",
                        R"({"ContainerID":"c3","NodeID":"nodeb","Service":"redis"})", &node);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(Message(other), "permission denied: node nodea may not act for node nodeb");
  EXPECT_FALSE(other.sensitive);
  EXPECT_EQ(other.body.find("aHVudGVyMg=="), std::string::npos) << "no payload in a refusal";
  Response end_other = Call("DELETE", "/v1/leases/c1?node=nodeb", "", &node);
  EXPECT_EQ(end_other.status, 403);
  EXPECT_EQ(Message(end_other), "permission denied: node nodea may not act for node nodeb");

  const Identity nameless = CertificateOf(Role::kNode, "");
  Response none = Call("POST", "/v1/leases", R"({"ContainerID":"c4","Service":"redis"})", &nameless);
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(Message(none), "permission denied: the caller's certificate names no node");

  std::vector<LeaseInfo> leases = LeasesOfRedis();
  ASSERT_EQ(leases.size(), 2u);
  for (const LeaseInfo& l : leases) EXPECT_EQ(l.node_id, "nodea") << l.container_id;
}

TEST_F(RouterTest, ALeaseOfNodeACannotBeEndedByNodeB) {
  CreateRedis();
  const Identity a = CertificateOf(Role::kNode, "nodea");
  const Identity b = CertificateOf(Role::kNode, "nodeb");
  ASSERT_EQ(Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})", &a).status,
            200);
  EXPECT_EQ(Call("DELETE", "/v1/leases/c1", "", &b).status, 204) << "b has no lease of c1";
  ASSERT_TRUE(registry_.Maintain().ok());
  std::vector<LeaseInfo> leases = LeasesOfRedis();
  ASSERT_EQ(leases.size(), 1u) << "a's lease is still there";
  EXPECT_EQ(leases[0].node_id, "nodea");
  EXPECT_EQ(leases[0].container_id, "c1");
  EXPECT_EQ(Call("DELETE", "/v1/leases/c1", "", &a).status, 204);
  EXPECT_TRUE(LeasesOfRedis().empty()) << "a ends its own";
}

TEST_F(RouterTest, ManagerMayCallTheAdminRoutesAndLeaseForAWorker) {
  CreateRedis();
  const Identity manager = CertificateOf(Role::kManager, "mgr1");
  EXPECT_EQ(Call("GET", "/v1/secrets", "", &manager).status, 200);
  EXPECT_EQ(Call("GET", "/v1/services/redis", "", &manager).status, 200);
  Response forwarded = Call("POST", "/v1/leases",
                            R"({"ContainerID":"c1","NodeID":"worker1","Service":"redis"})",
                            &manager);
  ASSERT_EQ(forwarded.status, 200) << forwarded.body;
  std::vector<LeaseInfo> leases = LeasesOfRedis();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].node_id, "worker1");
  EXPECT_EQ(Call("DELETE", "/v1/leases/c1?node=worker1", "", &manager).status, 204);
  EXPECT_TRUE(LeasesOfRedis().empty());
}

TEST_F(RouterTest, AdminOverTheUnixSocketLeasesForTheLocalNode) {
  CreateRedis();
  ASSERT_EQ(Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})").status, 200);
  std::vector<LeaseInfo> leases = LeasesOfRedis();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].node_id, "local");
  auto line = nlohmann::json::parse(audit_.lines.back());
  EXPECT_EQ(line["action"], "lease.create");
  EXPECT_EQ(line["kind"], "local");
  EXPECT_EQ(line["role"], "admin");
  EXPECT_EQ(line["node"], "local");
  EXPECT_EQ(line["uid"], 0);
  EXPECT_EQ(line["pid"], 42);
}

TEST_F(RouterTest, AuditRecordsChangesAndLeasesButNeverAPayload) {
  std::string id = CreateSecret("pw", "UEFZTE9BRC1NQVJLRVI=");  // "PAYLOAD-MARKER"
  ASSERT_EQ(Call("POST", "/v1/services", R"({"Name":"web","Secrets":[{"SecretName":"pw"}]})").status,
            201);
  ASSERT_EQ(Call("POST", "/v1/leases", R"({"ContainerID":"c9","Service":"web"})").status, 200);
  Call("GET", "/v1/secrets");  // reads are not audited
  ASSERT_EQ(audit_.lines.size(), 3u);
  EXPECT_NE(audit_.lines[0].find(R"("action":"secret.create")"), std::string::npos);
  EXPECT_NE(audit_.lines[0].find(id), std::string::npos);
  EXPECT_NE(audit_.lines[2].find(R"("action":"lease.create")"), std::string::npos);
  EXPECT_NE(audit_.lines[2].find(R"("container":"c9")"), std::string::npos);
  EXPECT_NE(audit_.lines[2].find(R"("secrets":[")" + id + R"("])"), std::string::npos)
      << audit_.lines[2];
  for (const auto& line : audit_.lines) {
    EXPECT_EQ(line.find("PAYLOAD-MARKER"), std::string::npos) << line;
    EXPECT_EQ(line.find("UEFZTE9BRC1NQVJLRVI="), std::string::npos) << line;
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per event";
  }
}

TEST_F(RouterTest, MetricsCountRequestsByRouteAndCode) {
  Call("GET", "/v1/health");
  Call("GET", "/v1/secrets/nope");
  Response r = Call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u);
  EXPECT_NE(r.body.find(R"(ocisecrets_requests_total{route="GET /v1/health",code="200"} 1)"),
            std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"(ocisecrets_requests_total{route="GET /v1/secrets/{}",code="404"} 1)"),
            std::string::npos) << r.body;
  EXPECT_NE(r.body.find("ocisecrets_request_duration_seconds_count 2"), std::string::npos);
  EXPECT_NE(r.body.find("ocisecrets_leases 0"), std::string::npos);
}

TEST_F(RouterTest, RoutingAndPermissionErrorsNameTheirCode) {
  EXPECT_EQ(CodeOf(Call("GET", "/v1/secrets", "", &user_)), "PermissionDenied");
  EXPECT_EQ(CodeOf(Call("GET", "/v1/nothing")), "NotFound");
  EXPECT_EQ(CodeOf(Call("PUT", "/v1/secrets")), "InvalidArgument");
  EXPECT_EQ(CodeOf(Call("GET", "http://x/v1/health")), "InvalidArgument");
  EXPECT_EQ(CodeOf(Call("POST", "/v1/secrets", std::string(1024 * 1024 + 1, ' '))),
            "InvalidArgument");
  EXPECT_EQ(CodeOf(Call("POST", "/v1/secrets", "{nope")), "InvalidArgument");
}

TEST_F(RouterTest, ConflictsAreToldApartByTheirCode) {
  ASSERT_EQ(Call("POST", "/v1/secrets", R"({"Name":"pw","Data":"eA=="})").status, 201);
  ASSERT_EQ(Call("POST", "/v1/services",
                 R"({"Name":"redis","Secrets":[{"SecretName":"pw",)"
                 R"("File":{"Name":"pw","UID":"0","GID":"0","Mode":256}}]})")
                .status,
            201);
  Response taken = Call("POST", "/v1/secrets", R"({"Name":"PW","Data":"eA=="})");
  Response in_use = Call("DELETE", "/v1/secrets/pw");
  ASSERT_EQ(taken.status, 409) << taken.body;
  ASSERT_EQ(in_use.status, 409) << in_use.body;
  EXPECT_EQ(CodeOf(taken), "AlreadyExists");
  EXPECT_EQ(CodeOf(in_use), "FailedPrecondition");
  EXPECT_EQ(StatusFromHttp(taken.status, taken.body).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusFromHttp(in_use.status, in_use.body).code(), StatusCode::kFailedPrecondition);
}

// ---- live secrets ----------------------------------------------------------------------

TEST_F(RouterTest, RotateIfChangedAnswersChangedFalseForTheSamePayload) {
  CreateRedis();
  Response same = Call("POST", "/v1/secrets/pw/rotate", R"({"Data":"aHVudGVyMg==","IfChanged":true})");
  ASSERT_EQ(same.status, 200) << same.body;
  auto result = ParseSecretRotateResult(same.body);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_FALSE(result->changed);
  EXPECT_EQ(result->secret.data.index, 1u);
  EXPECT_EQ(same.body.find("aHVudGVyMg"), std::string::npos) << "never the data";

  Response other = Call("POST", "/v1/secrets/pw/rotate", R"({"Data":"bmV3","IfChanged":true})");
  ASSERT_EQ(other.status, 200) << other.body;
  result = ParseSecretRotateResult(other.body);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_TRUE(result->changed);
  EXPECT_EQ(result->secret.data.index, 2u);
}

TEST_F(RouterTest, RotateRollbackAndRevokeAnswerTheSecretAndAreAudited) {
  CreateRedis();
  audit_.lines.clear();
  Response rotated = Call("POST", "/v1/secrets/pw/rotate", R"({"Data":"bmV3","OverlapSeconds":30})");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  auto secret = ParseSecret(rotated.body);
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(secret->data.index, 2u);
  EXPECT_NE(secret->data.overlap_until, TimePoint{});
  EXPECT_EQ(rotated.body.find("bmV3"), std::string::npos) << "never the data";
  ASSERT_EQ(audit_.lines.size(), 1u);
  EXPECT_NE(audit_.lines[0].find(R"("action":"secret.rotate")"), std::string::npos) << audit_.lines[0];
  EXPECT_EQ(audit_.lines[0].find("bmV3"), std::string::npos) << "no payload in the audit";

  Response lease = Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})");
  ASSERT_EQ(lease.status, 200);
  auto grant = ParseLeaseGrant(lease.body);
  ASSERT_TRUE(grant.ok());
  EXPECT_EQ(grant->files.size(), 2u) << "the overlap's .previous";

  Response back = Call("POST", "/v1/secrets/pw/rollback");
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(ParseSecret(back.body)->data.index, 1u);
  Response revoked = Call("POST", "/v1/secrets/pw/revoke");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_NE(ParseSecret(revoked.body)->data.revoked_at, TimePoint{});
  Response start = Call("POST", "/v1/leases", R"({"ContainerID":"c2","Service":"redis"})");
  EXPECT_EQ(start.status, 409);
  EXPECT_EQ(Message(start), "secret pw is revoked: rotate it to restore");
  EXPECT_EQ(CodeOf(start), "FailedPrecondition");
  Response again = Call("POST", "/v1/secrets/pw/rollback");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Message(again), "secret pw is revoked: rotate it to restore");
  auto j = nlohmann::json::parse(audit_.lines.back());
  EXPECT_EQ(j["action"], "secret.rollback");
  EXPECT_EQ(j["error"], "secret pw is revoked: rotate it to restore");
}

TEST_F(RouterTest, LiveSecretRoutesAnswerTheirRefusals) {
  CreateSecret("lone", "eA==");
  struct Case {
    const char* description;
    std::string method, target, body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no previous version", "POST", "/v1/secrets/lone/rollback", "", 409,
       "secret lone has no previous version"},
      {"unknown secret", "POST", "/v1/secrets/nope/rotate", R"({"Data":"eA=="})", 404,
       "secret nope not found"},
      {"no data", "POST", "/v1/secrets/lone/rotate", "{}", 400,
       "secret rotate: field Data: must be a base64 string"},
      {"malformed", "POST", "/v1/secrets/lone/rotate", "{", 400, "secret rotate: malformed JSON"},
      {"unknown secret's holders", "GET", "/v1/secrets/nope/holders", "", 404,
       "secret nope not found"},
      {"unknown service's holders", "GET", "/v1/services/nope/holders", "", 404,
       "service nope not found"},
      {"a bad held report", "POST", "/v1/leases/held", R"({"Containers":[{"ContainerID":"a/b"}]})",
       400, "held report: invalid container ID"},
      {"a bad update signal", "POST", "/v1/services", R"({"Name":"s","UpdateSignal":"SIGNOPE"})",
       400, "UpdateSignal: unknown signal SIGNOPE (use a name such as SIGHUP)"},
  };
  for (const Case& c : cases) {
    Response r = Call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.description << ": " << r.body;
    EXPECT_EQ(Message(r).substr(0, c.message.size()), c.message) << c.description;
  }
}

TEST_F(RouterTest, HoldersAndHeldReportsOverTheApi) {
  CreateRedis();
  const Identity node = CertificateOf(Role::kNode, "nodea");
  ASSERT_EQ(Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})", &node).status,
            200);
  Response rows = Call("GET", "/v1/secrets/pw/holders");
  ASSERT_EQ(rows.status, 200) << rows.body;
  auto holders = ParseSecretHolders(rows.body);
  ASSERT_TRUE(holders.ok()) << holders.status().message();
  ASSERT_EQ(holders->size(), 1u);
  EXPECT_EQ((*holders)[0].node_id, "nodea");
  EXPECT_EQ((*holders)[0].container_id, "c1");
  EXPECT_EQ((*holders)[0].service_name, "redis");
  EXPECT_EQ((*holders)[0].version, 1u);
  const std::string secret_id = (*holders)[0].secret_id;

  Response held = Call("POST", "/v1/leases/held",
                       R"({"Containers":[{"ContainerID":"c1","Versions":{")" + secret_id +
                           R"(":7}}]})",
                       &node);
  EXPECT_EQ(held.status, 204) << held.body;
  auto service_rows = ParseSecretHolders(Call("GET", "/v1/services/redis/holders").body);
  ASSERT_TRUE(service_rows.ok());
  ASSERT_EQ(service_rows->size(), 1u);
  EXPECT_EQ((*service_rows)[0].version, 7u);

  Response other = Call("POST", "/v1/leases/held",
                        R"({"NodeID":"nodeb","Containers":[{"ContainerID":"c1","Versions":{}}]})",
                        &node);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(Message(other), "permission denied: node nodea may not act for node nodeb");
  EXPECT_EQ(Call("GET", "/v1/secrets/pw/holders", "", &node).status, 403)
      << "holders are an admin's and a manager's";
  EXPECT_EQ(Message(Call("POST", "/v1/secrets/pw/revoke", "", &node)),
            "permission denied: role node may not call POST /v1/secrets/{}/revoke");
}

TEST_F(RouterTest, TheHooksLocalFieldsNeverReachTheRegistry) {
  CreateRedis();
  Response r = Call("POST", "/v1/leases",
                    R"({"ContainerID":"c1","DefaultSecretsDir":"/run/secrets","Pid":42,"Service":"redis","TmpfsSize":65536})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("Pid"), std::string::npos);
  EXPECT_EQ(r.body.find("TmpfsSize"), std::string::npos);
  std::vector<LeaseInfo> leases = LeasesOfRedis();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].container_id, "c1");
}

}  // namespace
}  // namespace ocisecrets

namespace ocisecrets {
namespace {

// Docker's Engine API on the unix socket (manager/api/docker/docker_routes.cc).
class DockerRoutesTest : public RouterTest {};

TEST_F(DockerRoutesTest, PingAnswersTheHeadersTheCliReads) {
  for (const char* method : {"GET", "HEAD"}) {
    Response r = Call(method, "/_ping");
    EXPECT_EQ(r.status, 200) << method;
    EXPECT_EQ(r.body, std::string(method) == "HEAD" ? "" : "OK") << method;
    bool swarm = false;
    for (const auto& [name, value] : r.headers) swarm |= name == "Swarm" && value == "active/manager";
    EXPECT_TRUE(swarm) << method;
  }
  EXPECT_EQ(Call("GET", "/v1.41/_ping").status, 200);
  EXPECT_EQ(Call("GET", "/v1.41/version").status, 200);
  EXPECT_NE(Call("GET", "/info").body.find(R"("LocalNodeState":"active")"), std::string::npos);
}

TEST_F(DockerRoutesTest, CreateListInspectUpdateRemoveInDockersShapes) {
  const std::string payload_base64 = "VGhpcyBpcyBhIHNlY3JldA==";  // "This is a secret"
  Response created = Call("POST", "/v1.41/secrets/create",
                          R"({"Name":"my_secret","Labels":{},"Data":")" + payload_base64 + R"("})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = nlohmann::json::parse(created.body)["ID"];

  Response list = Call("GET", "/v1.41/secrets?filters=%7B%22name%22%3A%7B%22my_%22%3Atrue%7D%7D");
  ASSERT_EQ(list.status, 200) << list.body;
  auto secrets = nlohmann::json::parse(list.body);
  ASSERT_EQ(secrets.size(), 1u);
  EXPECT_EQ(secrets[0]["Spec"]["Name"], "my_secret");
  EXPECT_FALSE(secrets[0].contains("DataVersion"));
  EXPECT_EQ(nlohmann::json::parse(Call("GET", "/secrets?filters=%7B%22name%22%3A%5B%22x%22%5D%7D")
                                      .body)
                .size(),
            0u);

  for (const std::string& name_or_id : {std::string("my_secret"), id}) {
    Response inspect = Call("GET", "/v1.41/secrets/" + name_or_id);
    ASSERT_EQ(inspect.status, 200) << inspect.body;
    EXPECT_EQ(nlohmann::json::parse(inspect.body)["ID"], id);
    EXPECT_EQ(inspect.body.find(payload_base64), std::string::npos);
    EXPECT_EQ(inspect.body.find("This is a secret"), std::string::npos);
  }

  const auto index = nlohmann::json::parse(Call("GET", "/secrets/" + id).body)["Version"]["Index"];
  Response updated = Call("POST", "/v1.41/secrets/" + id + "/update?version=" + index.dump(),
                          R"({"Name":"my_secret","Labels":{"env":"prod"}})");
  EXPECT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.body, "");
  EXPECT_EQ(nlohmann::json::parse(Call("GET", "/secrets/my_secret").body)["Spec"]["Labels"]["env"],
            "prod");

  EXPECT_EQ(Call("DELETE", "/v1.41/secrets/my_secret").status, 204);
  Response gone = Call("GET", "/v1.41/secrets/my_secret");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, R"({"message":"secret my_secret not found"})");
  bool audited_create = false;
  for (const auto& line : audit_.lines) {
    audited_create |= line.find(R"("action":"secret.create")") != std::string::npos;
  }
  EXPECT_TRUE(audited_create);
}

TEST_F(DockerRoutesTest, RefusalsHaveDockersStatusAndBody) {
  CreateSecret("pw", "aGk=");
  ASSERT_EQ(Call("POST", "/v1/services", R"({"Name":"redis","Secrets":[{"SecretName":"pw"}]})")
                .status,
            201);
  struct Case {
    const char* description;
    std::string method;
    std::string target;
    std::string body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"name taken", "POST", "/v1.41/secrets/create", R"({"Name":"PW","Data":"aGk="})", 409,
       "secret PW already exists"},
      {"bad data", "POST", "/v1.41/secrets/create", R"({"Name":"x","Data":"!!"})", 400,
       "invalid base64"},
      {"a driver", "POST", "/secrets/create", R"({"Name":"x","Data":"aGk=","Driver":{"Name":"d"}})",
       400, "Driver is not supported"},
      {"in use", "DELETE", "/v1.41/secrets/pw", "", 400,
       "secret 'pw' is in use by the following service: redis"},
      {"data on update", "POST", "/secrets/pw/update?version=1", R"({"Name":"pw","Data":"aGk="})",
       400, "only updates to Labels are allowed"},
      {"unknown filter", "GET", "/secrets?filters=%7B%22driver%22%3A%5B%5D%7D", "", 400,
       "invalid filter 'driver'"},
      {"containers", "GET", "/v1.41/containers/json", "", 404,
       "use the oci-secrets CLI for services, containers and the rest"},
      {"unversioned other", "GET", "/images/json", "", 404, "oci-secrets --help"},
      {"wrong method", "PUT", "/v1.41/secrets", "", 405, "not allowed"},
  };
  for (const auto& c : cases) {
    Response r = Call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.description << ": " << r.body;
    EXPECT_NE(Message(r).find(c.message), std::string::npos) << c.description << ": " << r.body;
    EXPECT_EQ(CodeOf(r), "(no code)") << c.description << ": Docker's body has the message only";
    EXPECT_EQ(r.body.find("aGk="), std::string::npos) << c.description;
  }
  // Our own API keeps its shape and its 409 for a secret in use.
  Response ours = Call("DELETE", "/v1/secrets/pw");
  EXPECT_EQ(ours.status, 409);
  EXPECT_EQ(CodeOf(ours), "FailedPrecondition");
}

TEST_F(DockerRoutesTest, OnlyAdminsOnTheUnixSocket) {
  Response user = Call("GET", "/v1.41/secrets", "", &user_);
  EXPECT_EQ(user.status, 403);
  EXPECT_NE(Message(user).find("is not root"), std::string::npos);
  EXPECT_EQ(CodeOf(user), "(no code)");
  Identity tls = CertificateOf(Role::kAdmin, "n1");
  tls.transport = Identity::Transport::kTls;
  Response over_tls = Call("GET", "/v1.41/secrets", "", &tls);
  EXPECT_EQ(over_tls.status, 404);
  EXPECT_NE(Message(over_tls).find("no such API route"), std::string::npos) << over_tls.body;
  Response manager = Call("GET", "/v1.41/secrets", "", nullptr);
  EXPECT_EQ(manager.status, 200);
  Identity cert_manager = CertificateOf(Role::kManager, "n2");
  EXPECT_EQ(Call("GET", "/v1.41/secrets", "", &cert_manager).status, 403);
}

}  // namespace
}  // namespace ocisecrets
