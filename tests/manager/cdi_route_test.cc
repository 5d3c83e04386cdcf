// GET, PUT and DELETE /v1/node/cdi: the router's side (the keeper is a fake here; the
// keeper itself is tested in node/cdi_keeper_test.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "manager/api/router.h"
#include "tests/manager/memory_kv_store.h"

namespace ocisecrets {
namespace {

class FakeCdi : public CdiHooks {
 public:
  Result<CdiStatus> Enable(const CdiSettings& settings) override {
    RETURN_IF_ERROR(CheckCdiSettings(settings), "");
    enabled.push_back(settings);
    return Answer(true);
  }
  Result<CdiStatus> Disable() override {
    ++disabled;
    return CdiStatus{};
  }
  Result<CdiStatus> Current() override { return Answer(false); }

  std::vector<CdiSettings> enabled;
  int disabled = 0;

 private:
  static CdiStatus Answer(bool changed) {
    CdiStatus s;
    s.enabled = true;
    s.spec_dir = "/var/run/cdi";
    s.spec_file = "/var/run/cdi/oci-secrets.json";
    s.devices = {"redis"};
    s.changed = changed;
    return s;
  }
};

class CdiRouteTest : public ::testing::Test {
 protected:
  CdiRouteTest() : registry_(&store_, &sealer_, RegistryOptions{}), router_(&registry_, nullptr, {}) {
    admin_.role = Role::kAdmin;
    admin_.node_id = "local";
    router_.SetCdiHooks(&cdi_);
  }
  Response Call(const std::string& method, const std::string& body = "") {
    return router_.Handle(Request{method, "/v1/node/cdi", body}, admin_);
  }
  static nlohmann::json Body(const Response& r) { return nlohmann::json::parse(r.body, nullptr, false); }

  MemoryKvStore store_;
  FakeSealer sealer_;
  Registry registry_;
  Router router_;
  FakeCdi cdi_;
  Identity admin_;
};

TEST_F(CdiRouteTest, PutPassesTheSettingsAndAnswersTheStatus) {
  Response r = Call("PUT", R"({"SpecDir":"/tmp/cdi","HookPath":"/opt/hook","HookTimeout":5})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(cdi_.enabled.size(), 1u);
  EXPECT_EQ(cdi_.enabled[0].spec_dir, "/tmp/cdi");
  EXPECT_EQ(cdi_.enabled[0].hook_path, "/opt/hook");
  EXPECT_EQ(cdi_.enabled[0].hook_timeout, 5);
  EXPECT_EQ(cdi_.enabled[0].hook_config, "");
  nlohmann::json j = Body(r);
  EXPECT_EQ(j["Enabled"], true);
  EXPECT_EQ(j["SpecFile"], "/var/run/cdi/oci-secrets.json");
  EXPECT_EQ(j["Devices"], nlohmann::json::array({"redis"}));
  EXPECT_EQ(j["Changed"], true);
}

TEST_F(CdiRouteTest, GetAndDeleteAnswerTheStatus) {
  Response got = Call("GET");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Body(got)["Changed"], false);
  Response off = Call("DELETE");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(Body(off)["Enabled"], false);
  EXPECT_EQ(cdi_.disabled, 1);
}

TEST_F(CdiRouteTest, BadSettingsAre400NamingTheField) {
  Response malformed = Call("PUT", "{");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("malformed JSON"), std::string::npos) << malformed.body;
  Response relative = Call("PUT", R"({"SpecDir":"cdi"})");
  EXPECT_EQ(relative.status, 400);
  EXPECT_NE(relative.body.find(R"(SpecDir \"cdi\": must be an absolute path)"), std::string::npos)
      << relative.body;
  Response timeout = Call("PUT", R"({"HookTimeout":100000000000})");
  EXPECT_EQ(timeout.status, 400);
  EXPECT_NE(timeout.body.find("HookTimeout must be 1 to 300 seconds"), std::string::npos)
      << timeout.body;
  EXPECT_TRUE(cdi_.enabled.empty());
}

TEST_F(CdiRouteTest, WithoutAKeeperIs409NotKeptHere) {
  Router bare(&registry_, nullptr, {});
  Response r = bare.Handle(Request{"GET", "/v1/node/cdi", ""}, admin_);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Body(r)["message"], kCdiNotServedMessage);
}

TEST_F(CdiRouteTest, OverTlsOrForANodeItIsRefused) {
  Identity tls = admin_;
  tls.kind = Identity::Kind::kCertificate;
  tls.transport = Identity::Transport::kTls;
  Response remote = router_.Handle(Request{"PUT", "/v1/node/cdi", "{}"}, tls);
  EXPECT_EQ(remote.status, 403);
  EXPECT_EQ(Body(remote)["message"],
            "permission denied: PUT /v1/node/cdi is only served on the manager's unix socket");
  Identity node = admin_;
  node.role = Role::kNode;
  Response as_node = router_.Handle(Request{"GET", "/v1/node/cdi", ""}, node);
  EXPECT_EQ(as_node.status, 403);
  EXPECT_EQ(Body(as_node)["message"], "permission denied: role node may not call GET /v1/node/cdi");
  EXPECT_TRUE(cdi_.enabled.empty());
}

}  // namespace
}  // namespace ocisecrets
