#include "tests/testing/etcd_cluster.h"

#include <gtest/gtest.h>

#include "tests/testing/requirements.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets::testing {
namespace {

TEST(EtcdClusterTest, KeepsServingWritesWithOneMemberKilledAndTakesItBack) {
  ASSERT_TRUE(IsInstalled("/usr/bin/etcd", "etcd-server"));
  ASSERT_TRUE(IsInstalled("/usr/bin/etcdctl", "etcd-client"));
  auto cluster = EtcdCluster::Start(EtcdClusterOptions{});
  ASSERT_TRUE(cluster.ok()) << cluster.status().message();
  EtcdCluster& c = **cluster;
  ASSERT_EQ(c.ClientUrls().size(), 3u);
  EXPECT_EQ(c.EndpointsFlag(),
            c.ClientUrls()[0] + "," + c.ClientUrls()[1] + "," + c.ClientUrls()[2]);

  ASSERT_TRUE(c.Kill(0).ok());
  EXPECT_TRUE(IsError(c.Kill(0), StatusCode::kFailedPrecondition, "not running"));
  // A put that reaches the members while they elect a new leader fails with "request timed
  // out" (etcd does not retry a write); a put is idempotent, so try again for a while.
  auto put = c.Etcdctl({"put", "greeting", "hello"});
  for (int attempt = 0; !put.ok() && attempt < 3; ++attempt)
    put = c.Etcdctl({"put", "greeting", "hello"});
  ASSERT_TRUE(put.ok()) << put.status().message() << "\n" << c.Logs();

  Status restarted = c.Restart(0);
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  // The restarted member caught up with the write made while it was down.
  auto get = c.Etcdctl({"--endpoints", c.ClientUrls()[0], "get", "greeting", "--print-value-only"});
  ASSERT_TRUE(get.ok()) << get.status().message();
  EXPECT_EQ(get.value(), "hello\n");
}

}  // namespace
}  // namespace ocisecrets::testing
