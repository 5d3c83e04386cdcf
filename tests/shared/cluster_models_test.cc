#include "shared/cluster_models.h"

#include <gtest/gtest.h>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TEST(ClusterModelsTest, NodeRoundTripsThroughJson) {
  Node n;
  n.id = "n1";
  n.version = 7;
  n.created_at = TimePoint(std::chrono::seconds(1700000000));
  n.spec.labels = {{"zone", "eu"}};
  n.hostname = "worker-1";
  n.role = "node";
  n.state = "ready";
  n.addr = "127.0.0.2";
  n.last_seen = TimePoint(std::chrono::seconds(1700000100));
  auto back = ParseNode(ToJson(n));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->id, "n1");
  EXPECT_EQ(back->version, 7u);
  EXPECT_EQ(back->spec.labels.at("zone"), "eu");
  EXPECT_EQ(back->hostname, "worker-1");
  EXPECT_EQ(back->state, "ready");
  EXPECT_EQ(back->addr, "127.0.0.2");
  EXPECT_EQ(back->last_seen, n.last_seen);
  EXPECT_EQ(back->cert_expires_at, TimePoint{});
  auto list = ParseNodeList(ToJson(std::vector<Node>{n, n}));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
}

TEST(ClusterModelsTest, JoinMessagesRoundTrip) {
  JoinRequest r{"OCSTKN-1-x-y", "CSR", "host", {"127.0.0.1:7443", "127.0.0.2:7443"}, ""};
  auto back = ParseJoinRequest(ToJson(r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->managers, r.managers);
  EXPECT_EQ(back->token, r.token);
  JoinResponse resp{"CERT", "CA", "c1", "n1", "node", {"a:1"}, 86400};
  auto rb = ParseJoinResponse(ToJson(resp));
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->cert_expiry_seconds, 86400);
  EXPECT_EQ(rb->managers, resp.managers);
}

TEST(ClusterModelsTest, BadDocumentsNameTheFieldAndEchoNoValue) {
  EXPECT_TRUE(IsError(ParseJoinRequest("{"), StatusCode::kInvalidArgument,
                      "join request: malformed JSON"));
  auto bad = ParseJoinRequest(R"({"Token": 12345678})");
  EXPECT_TRUE(IsError(bad, StatusCode::kInvalidArgument, "join request: field Token: must be a string"));
  EXPECT_EQ(bad.status().message().find("12345678"), std::string::npos);
  EXPECT_TRUE(IsError(ParseNode(R"({"Spec": []})"), StatusCode::kInvalidArgument,
                      "node: field Spec: must be an object"));
  EXPECT_TRUE(IsError(ParseJoinRequest(R"({"Managers": ["a", 1]})"), StatusCode::kInvalidArgument,
                      "field Managers: must be an array of strings"));
  EXPECT_TRUE(IsError(ParseNodeList("{}"), StatusCode::kInvalidArgument, "must be an array"));
}

}  // namespace
}  // namespace ocisecrets
