// The router's locked gate and the autolock routes over a real Autolock and ClusterManager
// (in-memory store shared across "restarts", real keyring, root key file in a temp dir).
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "manager/api/router.h"
#include "manager/cluster/autolock.h"
#include "manager/cluster/cluster_manager.h"
#include "shared/unlock_key.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/manager/route_lists.h"
#include "tests/testing/identities.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

class AuditLines : public AuditSink {
 public:
  void Record(const Identity& peer, const AuditEvent& event) override {
    lines.push_back(AuditLine(peer, event));
  }
  std::vector<std::string> lines;
};

// One manager process over the shared store: destroy it and make another to restart.
struct Manager {
  Manager(KvStore* store, const std::string& root_key_path)
      : keyring(Keyring::Locked(*store)),
        autolock(store, keyring.get(), root_key_path),
        registry(store, &sealer, RegistryOptions{}),
        router(&registry, &audit, RouterOptions{}) {
    ClusterManagerOptions o;
    o.local_node_id = "mgr000000000000000000000a";
    o.hostname = "manager-host";
    o.start_listener = [](const std::string&) { return Status::Ok(); };
    cluster = std::make_unique<ClusterManager>(store, keyring.get(), o);
    router.SetClusterHooks(cluster.get());
    router.SetLockHooks(&autolock);
    auto started = autolock.Start();
    EXPECT_TRUE(started.ok()) << started.status().message();
    EXPECT_TRUE(autolock.OnUnlocked([this] { return cluster->Load(); }).ok());
    admin.role = Role::kAdmin;
    admin.uid = 0;
    admin.node_id = o.local_node_id;
  }

  Response Call(const std::string& method, const std::string& target, const std::string& body = "") {
    return router.Handle(Request{method, target, body}, admin);
  }
  // The caller a route admits: a node certificate for the node's own routes, else admin.
  Response CallAsItsRole(const std::string& method, const std::string& target) {
    if (target == "/v1/cluster/renew" || target == "/v1/cluster/heartbeat") {
      return router.Handle(Request{method, target, "{}"},
                           testing::CertificateIdentity(Role::kNode, "node00000000000000000000b"));
    }
    return Call(method, target, "{}");
  }

  std::unique_ptr<Keyring> keyring;
  Autolock autolock;
  FakeSealer sealer;
  Registry registry;
  AuditLines audit;
  Router router;
  std::unique_ptr<ClusterManager> cluster;
  Identity admin;
};

nlohmann::json Json(const Response& r) { return nlohmann::json::parse(r.body, nullptr, false); }

std::string Message(const Response& r) {
  auto j = Json(r);
  return j.is_object() && j.contains("message") ? j["message"].get<std::string>() : r.body;
}

std::string UnlockBody(const std::string& key) { return nlohmann::json{{"UnlockKey", key}}.dump(); }

// Every route of the router but the health check and the unlock, with a body each could
// take: while locked, each must answer 503 before looking at any of it.
testing::RouteList GatedRoutes() {
  testing::RouteList routes = testing::ManagerDataRoutes();
  routes.insert(routes.end(), {
                                  {"POST", "/v1/leases"},
                                  {"DELETE", "/v1/leases/c1"},
                                  {"POST", "/v1/cluster/init"},
                                  {"GET", "/v1/cluster"},
                                  {"POST", "/v1/cluster/update"},
                                  {"GET", "/v1/cluster/join-token?role=node"},
                                  {"POST", "/v1/cluster/renew"},
                                  {"POST", "/v1/cluster/heartbeat"},
                                  {"POST", "/v1/cluster/admin-cert"},
                                  {"GET", "/v1/nodes"},
                                  {"GET", "/v1/nodes/n1"},
                                  {"POST", "/v1/nodes/n1/update?version=1"},
                                  {"DELETE", "/v1/nodes/n1"},
                                  {"POST", "/v1/cluster/leave"},
                                  {"GET", "/v1/cluster/unlock-key"},
                              });
  return routes;
}

class LockRoutesTest : public ::testing::Test {
 protected:
  std::unique_ptr<Manager> Start() {
    return std::make_unique<Manager>(&store_, dir_.File("root.key"));
  }
  // A manager with a cluster and autolock on, restarted: locked. Returns the unlock key.
  std::string RestartLocked(std::unique_ptr<Manager>& m) {
    m = Start();
    Response init = m->Call("POST", "/v1/cluster/init", R"({"ListenAddr":"127.0.0.1:7443","Autolock":true})");
    EXPECT_EQ(init.status, 200) << init.body;
    std::string key = Json(init).value("UnlockKey", "");
    m.reset();
    m = Start();
    EXPECT_TRUE(m->autolock.locked());
    return key;
  }

  testing::TempDir dir_;
  MemoryKvStore store_;
};

TEST_F(LockRoutesTest, WhileLockedEveryRouteButHealthAndUnlockIs503WithTheWords) {
  std::unique_ptr<Manager> m;
  RestartLocked(m);
  Response health = m->Call("GET", "/v1/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Json(health)["Locked"], true);
  for (const auto& [method, target] : GatedRoutes()) {
    Response r = m->CallAsItsRole(method, target);
    EXPECT_EQ(r.status, 503) << method << " " << target << ": " << r.body;
    EXPECT_EQ(Message(r), "the manager is locked: run oci-secrets cluster unlock") << target;
    EXPECT_EQ(Json(r)["code"], "Unavailable") << target;
  }
  // A local join is gated too: only a manager that has not joined may join.
  EXPECT_EQ(m->Call("POST", "/v1/cluster/join", "{}").status, 503);
  ASSERT_FALSE(m->audit.lines.empty());
  EXPECT_NE(m->audit.lines.back().find("the manager is locked"), std::string::npos)
      << m->audit.lines.back();
}

TEST_F(LockRoutesTest, UnlockRefusesAWrongKeyAndTheRightOneServesEverythingAgain) {
  std::unique_ptr<Manager> m;
  const std::string key = RestartLocked(m);
  ASSERT_TRUE(key.starts_with("OCSKEY-1-")) << key;
  const std::string wrong = *FormatUnlockKey(SecretBytes(kUnlockKeySize, 7));

  Response refused = m->Call("POST", "/v1/cluster/unlock", UnlockBody(wrong));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(Message(refused), "invalid unlock key");
  Response malformed = m->Call("POST", "/v1/cluster/unlock", UnlockBody("OCSKEY-1-abc"));
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(Message(malformed), "invalid unlock key: want 52 characters after OCSKEY-1-, got 3");
  EXPECT_EQ(m->Call("GET", "/v1/secrets").status, 503);

  Response unlocked = m->Call("POST", "/v1/cluster/unlock", UnlockBody(key));
  EXPECT_EQ(unlocked.status, 204) << unlocked.body;
  EXPECT_EQ(Json(m->Call("GET", "/v1/health"))["Locked"], false);
  EXPECT_EQ(m->Call("GET", "/v1/secrets").status, 200);
  Response cluster = m->Call("GET", "/v1/cluster");
  ASSERT_EQ(cluster.status, 200) << cluster.body;  // the cluster loaded on unlock
  EXPECT_EQ(Json(cluster)["Autolock"], true);
  Response again = m->Call("POST", "/v1/cluster/unlock", UnlockBody(key));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Message(again), "the manager is not locked");

  int unlock_lines = 0;
  for (const std::string& line : m->audit.lines) {
    EXPECT_EQ(line.find(key.substr(9)), std::string::npos) << "the audit holds the key: " << line;
    EXPECT_EQ(line.find(wrong.substr(9)), std::string::npos) << line;
    if (line.find(R"("action":"cluster.unlock")") != std::string::npos) ++unlock_lines;
  }
  EXPECT_EQ(unlock_lines, 4) << "every unlock call is audited";
}

TEST_F(LockRoutesTest, InitWithAutolockShowsTheKeyOnceAndUpdateTurnsItOffAndOn) {
  auto m = Start();
  Response init = m->Call("POST", "/v1/cluster/init", R"({"ListenAddr":"127.0.0.1:7443","Autolock":true})");
  ASSERT_EQ(init.status, 200) << init.body;
  EXPECT_TRUE(init.sensitive);
  const std::string key = Json(init)["UnlockKey"];
  EXPECT_TRUE(key.starts_with("OCSKEY-1-"));
  EXPECT_EQ(Json(init)["Autolock"], true);

  Response inspect = m->Call("GET", "/v1/cluster");
  EXPECT_EQ(Json(inspect)["Autolock"], true);
  EXPECT_FALSE(Json(inspect).contains("UnlockKey")) << inspect.body;
  Response shown = m->Call("GET", "/v1/cluster/unlock-key");
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_TRUE(shown.sensitive);
  EXPECT_EQ(Json(shown)["UnlockKey"], key);
  Response rotated = m->Call("GET", "/v1/cluster/unlock-key?rotate=true");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_NE(Json(rotated)["UnlockKey"], key);

  Response unchanged = m->Call("POST", "/v1/cluster/update", R"({"Autolock":true})");
  ASSERT_EQ(unchanged.status, 200) << unchanged.body;
  EXPECT_FALSE(Json(unchanged).contains("UnlockKey")) << "no new key when it is already on";
  Response off = m->Call("POST", "/v1/cluster/update", R"({"Autolock":false})");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(Json(off)["Autolock"], false);
  Response none = m->Call("GET", "/v1/cluster/unlock-key");
  EXPECT_EQ(none.status, 409);
  EXPECT_EQ(Message(none), "autolock is off: run oci-secrets cluster update --autolock=true");
  Response on = m->Call("POST", "/v1/cluster/update", R"({"Autolock":true})");
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_TRUE(Json(on).value("UnlockKey", "").starts_with("OCSKEY-1-"));
  Response nothing = m->Call("POST", "/v1/cluster/update", "{}");
  EXPECT_EQ(nothing.status, 400);
  EXPECT_EQ(Message(nothing), "nothing to update: give CertExpiry (e.g. 24h) or Autolock");

  for (const std::string& line : m->audit.lines) {
    EXPECT_EQ(line.find("OCSKEY-1-"), std::string::npos) << "the audit holds a key: " << line;
  }
}

TEST_F(LockRoutesTest, AManagerThatHasNotJoinedServesOnlyHealthUnlockAndTheLocalJoin) {
  {
    auto first = Start();  // another cluster's manager made the keyring
    ASSERT_EQ(first->Call("POST", "/v1/cluster/init", R"({"ListenAddr":"127.0.0.1:7443"})").status,
              200);
  }
  auto m = std::make_unique<Manager>(&store_, dir_.File("other.key"));
  ASSERT_EQ(m->autolock.reason(), LockReason::kNotJoined);
  EXPECT_EQ(Json(m->Call("GET", "/v1/health"))["Locked"], true);
  const std::string words =
      "this manager shares a store with a cluster it has not joined: run oci-secrets cluster "
      "join --token MANAGER_TOKEN --listen-addr ADDR:PORT MANAGER:PORT";
  for (const auto& [method, target] : GatedRoutes()) {
    Response r = m->CallAsItsRole(method, target);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_EQ(Message(r), words) << target;
  }
  // The local join passes the gate (and then meets the join's own checks).
  EXPECT_NE(m->Call("POST", "/v1/cluster/join", "{}").status, 503);
  Response unlock = m->Call("POST", "/v1/cluster/unlock",
                            UnlockBody(*FormatUnlockKey(SecretBytes(kUnlockKeySize, 7))));
  EXPECT_EQ(unlock.status, 409);
  EXPECT_EQ(Message(unlock), words);
}

}  // namespace
}  // namespace ocisecrets
