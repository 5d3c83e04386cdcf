// The registry's placement check: a service's constraints against the node a lease is for.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>

#include "manager/registry/registry.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

class RegistryPlacementTest : public ::testing::Test {
 protected:
  RegistryPlacementTest() : registry_(&store_, &sealer_, Options()) {
    nodes_["euwork1"] = {"euwork1", "eu-host", "node", {{"zone", "eu"}}};
    nodes_["uswork1"] = {"uswork1", "us-host", "node", {{"zone", "us"}}};
    auto secret = registry_.CreateSecret({"pw", {}}, SecretBytes{'h', 'i'});
    EXPECT_TRUE(secret.ok()) << secret.status().message();
  }

  RegistryOptions Options() {
    RegistryOptions o;
    o.new_id = [this] {
      std::string n = std::to_string(++ids_);
      return std::string(25 - n.size(), 'p') + n;
    };
    o.node_attributes = [this](std::string_view id) -> Result<NodeAttributes> {
      ++node_calls_;
      auto it = nodes_.find(std::string(id));
      if (it == nodes_.end()) return Status::NotFound("node " + std::string(id) + " not found");
      return it->second;
    };
    return o;
  }

  void CreateService(const std::string& name, std::vector<std::string> constraints) {
    ServiceSpec spec;
    spec.name = name;
    spec.secrets.push_back({"", "pw", {}});
    spec.constraints = std::move(constraints);
    auto s = registry_.CreateService(spec);
    ASSERT_TRUE(s.ok()) << s.status().message();
  }

  Result<LeaseOutcome> Lease(const std::string& service, const std::string& node,
                             const std::string& container = "c1") {
    return registry_.Lease(LeaseRequest{container, service, node});
  }

  MemoryKvStore store_;
  FakeSealer sealer_;
  int ids_ = 0;
  std::map<std::string, NodeAttributes> nodes_;
  std::atomic<int> node_calls_{0};
  Registry registry_;
};

TEST_F(RegistryPlacementTest, NodeOutsideTheConstraintsIsDeniedNamingNodeConstraintAndService) {
  CreateService("redis", {"node.role==worker", "node.labels.zone == eu"});
  EXPECT_TRUE(IsError(Lease("redis", "uswork1"), StatusCode::kPermissionDenied,
                      "node uswork1 (us-host) does not satisfy constraint node.labels.zone==eu "
                      "of service redis"));
  EXPECT_EQ(registry_.LeaseCount(), 0u) << "nothing is recorded for a refused lease";
}

TEST_F(RegistryPlacementTest, NodeInsideTheConstraintsGetsItsLease) {
  CreateService("redis", {"node.role==worker", "node.labels.zone==eu"});
  auto lease = Lease("redis", "euwork1");
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  ASSERT_EQ(lease->grant.files.size(), 1u);
  EXPECT_EQ(lease->grant.files[0].data, (SecretBytes{'h', 'i'}));
  EXPECT_EQ(registry_.LeaseCount(), 1u);
}

TEST_F(RegistryPlacementTest, ServiceWithoutConstraintsNeverAsksAboutTheNode) {
  CreateService("open", {});
  for (const char* node : {"euwork1", "uswork1", "unknownnode"}) {
    auto lease = Lease("open", node);
    ASSERT_TRUE(lease.ok()) << node << ": " << lease.status().message();
  }
  EXPECT_EQ(node_calls_.load(), 0);
}

TEST_F(RegistryPlacementTest, UnknownNodeOfAConstrainedServiceIsRefusedWithTheLookupsError) {
  CreateService("redis", {"node.labels.zone!=us"});
  EXPECT_TRUE(IsError(Lease("redis", "ghost"), StatusCode::kNotFound,
                      "service redis: placement: node ghost not found"));
}

TEST_F(RegistryPlacementTest, AnUpdatedConstraintAppliesToTheNextLease) {
  CreateService("redis", {"node.labels.zone==eu"});
  ASSERT_TRUE(Lease("redis", "euwork1").ok());
  auto svc = registry_.InspectService("redis");
  ASSERT_TRUE(svc.ok());
  ServiceSpec spec = svc->spec;
  spec.constraints = {"node.labels.zone==us"};
  ASSERT_TRUE(registry_.UpdateService("redis", svc->version, spec).ok());
  EXPECT_TRUE(IsError(Lease("redis", "euwork1", "c2"), StatusCode::kPermissionDenied,
                      "does not satisfy constraint node.labels.zone==us"));
  EXPECT_TRUE(Lease("redis", "uswork1", "c3").ok());
}

TEST_F(RegistryPlacementTest, ConstraintsAreStoredInCanonicalTextAndBadOnesRefused) {
  CreateService("redis", {"  NODE.labels.zone ==  eu "});
  auto svc = registry_.InspectService("redis");
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ(svc->spec.constraints, std::vector<std::string>{"node.labels.zone==eu"});
  ServiceSpec bad;
  bad.name = "bad";
  bad.constraints = {"node.zone==eu"};
  EXPECT_TRUE(IsError(registry_.CreateService(bad), StatusCode::kInvalidArgument,
                      "constraint \"node.zone==eu\": unknown key node.zone"));
  EXPECT_TRUE(IsError(registry_.InspectService("bad"), StatusCode::kNotFound, "not found"));
}

// Without RegistryOptions::node_attributes: the local node alone, a manager with no labels.
class RegistryLocalPlacementTest : public ::testing::Test {
 protected:
  RegistryLocalPlacementTest() : registry_(&store_, &sealer_, Options()) {}
  static RegistryOptions Options() {
    RegistryOptions o;
    o.local_node_id = "localnode";
    o.new_id = [] {
      static std::atomic<int> n{0};
      std::string s = std::to_string(++n);
      return std::string(25 - s.size(), 'l') + s;
    };
    return o;
  }
  Result<LeaseOutcome> LeaseWith(std::vector<std::string> constraints, const std::string& node) {
    ServiceSpec spec;
    spec.name = "svc" + std::to_string(++services_);
    spec.constraints = std::move(constraints);
    auto s = registry_.CreateService(spec);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return registry_.Lease(LeaseRequest{"c1", spec.name, node});
  }
  MemoryKvStore store_;
  FakeSealer sealer_;
  Registry registry_;
  int services_ = 0;
};

TEST_F(RegistryLocalPlacementTest, TheLocalNodeIsAManagerWithItsHostnameAndNoLabels) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  EXPECT_TRUE(LeaseWith({"node.role==manager", "node.id==localnode"}, "").ok());
  EXPECT_TRUE(LeaseWith({"node.hostname==" + std::string(host)}, "").ok());
  EXPECT_TRUE(LeaseWith({"node.labels.zone!=eu"}, "").ok());
  EXPECT_TRUE(IsError(LeaseWith({"node.labels.zone==eu"}, ""), StatusCode::kPermissionDenied,
                      "node localnode (" + std::string(host) +
                          ") does not satisfy constraint node.labels.zone==eu of service svc4"));
  EXPECT_TRUE(IsError(LeaseWith({"node.role==worker"}, "localnode"),
                      StatusCode::kPermissionDenied, "constraint node.role==worker"));
  EXPECT_TRUE(IsError(LeaseWith({"node.role==manager"}, "othernode"), StatusCode::kNotFound,
                      "node othernode not found"));
}

}  // namespace
}  // namespace ocisecrets
