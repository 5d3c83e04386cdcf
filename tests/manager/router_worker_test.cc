// The router on a machine that joined a cluster as a worker: it serves health, leases
// (through the worker) and the cluster join/leave/inspect; every other route is a
// manager's and answers 409.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "manager/api/router.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/manager/route_lists.h"

namespace ocisecrets {
namespace {

class RecordingAudit : public AuditSink {
 public:
  void Record(const Identity& peer, const AuditEvent& event) override {
    lines.push_back(AuditLine(peer, event));
  }
  std::vector<std::string> lines;
};

// The worker's side, as the router sees it (a stand-in for manager/worker's Worker).
class StubWorker : public WorkerHooks {
 public:
  bool active() const override { return joined; }
  Result<ClusterInfo> Join(const JoinRequest& request) override {
    joins.push_back(request.token);
    joined = true;
    ClusterInfo info;
    info.node_id = "node00000000000000000001";
    info.role = "worker";
    return info;
  }
  Status Leave(bool force) override {
    leaves.push_back(force);
    joined = false;
    return Status::Ok();
  }
  Result<ClusterInfo> Inspect() override {
    ClusterInfo info;
    info.role = "worker";
    return info;
  }
  Result<LeaseGrant> Lease(const LeaseRequest& request) override {
    leases.push_back(request.container_id);
    if (request.service == "down") return Status::Unavailable("no manager reachable within 4000 ms: a (timed out)");
    LeaseGrant g;
    g.container_id = request.container_id;
    g.service = request.service;
    return g;
  }
  Status EndLease(std::string_view container_id) override {
    ends.emplace_back(container_id);
    return Status::Ok();
  }

  bool joined = false;
  std::vector<std::string> joins, leases, ends;
  std::vector<bool> leaves;
};

class RouterWorkerTest : public ::testing::Test {
 protected:
  RouterWorkerTest() : registry_(&store_, &sealer_, RegistryOptions{}), router_(&registry_, &audit_, {}) {
    admin_.role = Role::kAdmin;
    admin_.node_id = "local";
    admin_.uid = 0;
    router_.SetWorkerHooks(&worker_);
  }
  Response Call(const std::string& method, const std::string& target, const std::string& body = "") {
    return router_.Handle(Request{method, target, body}, admin_);
  }
  static std::string Field(const Response& r, const char* name) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains(name) ? j[name].get<std::string>() : "";
  }

  MemoryKvStore store_;
  FakeSealer sealer_;
  Registry registry_;
  RecordingAudit audit_;
  StubWorker worker_;
  Router router_;
  Identity admin_;
};

TEST_F(RouterWorkerTest, EveryManagerRouteAnswersNotAManager) {
  worker_.joined = true;
  const testing::RouteList routes = testing::ManagerDataRoutes();
  for (const auto& [method, target] : routes) {
    SCOPED_TRACE(method + " " + target);
    audit_.lines.clear();
    Response r = Call(method, target, "{}");
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(Field(r, "code"), "FailedPrecondition");
    EXPECT_EQ(Field(r, "message"), "this node is not a manager: run it on a manager");
    ASSERT_EQ(audit_.lines.size(), 1u);
    EXPECT_NE(audit_.lines[0].find("\"denied\""), std::string::npos) << audit_.lines[0];
  }
}

// A worker's registry does not hold the cluster's services: the CDI spec is a manager's.
TEST_F(RouterWorkerTest, CdiRoutesSayTheSpecIsKeptByAManagersDaemon) {
  worker_.joined = true;
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    SCOPED_TRACE(method);
    Response r = Call(method, "/v1/node/cdi", R"({"SpecDir":"/var/run/cdi"})");
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(Field(r, "code"), "FailedPrecondition");
    EXPECT_EQ(Field(r, "message"), kCdiOnWorkerMessage);
    EXPECT_NE(Field(r, "message").find("kept by a manager's daemon"), std::string::npos);
  }
}

TEST_F(RouterWorkerTest, ManagerRoutesServeWhileNotJoined) {
  EXPECT_EQ(Call("GET", "/v1/services").status, 200);
  EXPECT_EQ(Field(Call("GET", "/v1/cluster"), "code"), "FailedPrecondition");
}

TEST_F(RouterWorkerTest, HealthAnswersLocally) {
  worker_.joined = true;
  EXPECT_EQ(Call("GET", "/v1/health").status, 200);
}

TEST_F(RouterWorkerTest, LeasesGoToTheWorker) {
  worker_.joined = true;
  Response granted = Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})");
  EXPECT_EQ(granted.status, 200) << granted.body;
  EXPECT_TRUE(granted.sensitive);
  EXPECT_EQ(worker_.leases, std::vector<std::string>{"c1"});
  Response down = Call("POST", "/v1/leases", R"({"ContainerID":"c2","Service":"down"})");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(Field(down, "message"), "no manager reachable within 4000 ms: a (timed out)");
  EXPECT_EQ(Call("DELETE", "/v1/leases/c1").status, 204);
  EXPECT_EQ(worker_.ends, std::vector<std::string>{"c1"});
}

TEST_F(RouterWorkerTest, JoinLeaveAndInspectGoToTheWorker) {
  Response joined = Call("POST", "/v1/cluster/join", R"({"Token":"T","Managers":["m:7443"]})");
  EXPECT_EQ(joined.status, 200) << joined.body;
  EXPECT_EQ(Field(joined, "NodeID"), "node00000000000000000001");
  EXPECT_EQ(worker_.joins, std::vector<std::string>{"T"});
  EXPECT_EQ(Field(Call("GET", "/v1/cluster"), "Role"), "worker");
  EXPECT_EQ(Call("POST", "/v1/cluster/leave?force=true").status, 204);
  EXPECT_EQ(worker_.leaves, std::vector<bool>{true});
}

TEST_F(RouterWorkerTest, JoinOverTlsIsNotTheLocalJoin) {
  Identity tls = admin_;
  tls.kind = Identity::Kind::kCertificate;
  tls.transport = Identity::Transport::kTls;
  Response r = router_.Handle(Request{"POST", "/v1/cluster/join", R"({"Token":"T"})"}, tls);
  EXPECT_EQ(r.status, 409);
  EXPECT_TRUE(worker_.joins.empty());
}

}  // namespace
}  // namespace ocisecrets
