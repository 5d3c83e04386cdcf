#include "manager/node/container_tracker.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

LeaseRequest HookRequest() {
  LeaseRequest r{"c1", "redis"};
  r.pid = 4242;
  r.default_secrets_dir = "/run/secrets";
  r.tmpfs_size = 1 << 20;
  return r;
}

LeaseGrant Grant(std::uint64_t version) {
  LeaseGrant g;
  g.container_id = "c1";
  g.service = "redis";
  LeasedFile f;
  f.name = "db";
  f.secret_id = "s1";
  f.version = version;
  f.uid = 999;
  f.mode = 0400;
  f.data = SecretBytes{'p', 'a', 's', 's', 'w', 'd'};
  g.files.push_back(std::move(f));
  g.update_signal = "SIGHUP";
  return g;
}

TEST(ContainerTrackerTest, SavesWhatContainersHoldAndLoadsItBackWithoutPayloads) {
  testing::TempDir dir;
  {
    ContainerTracker tracker(dir.path());
    ASSERT_TRUE(tracker.Track(HookRequest(), Grant(1), "svc1", 777, TimePoint{}).ok());
    ASSERT_TRUE(tracker.Update("c1", Grant(2)).ok());
  }
  struct stat st {};
  ASSERT_EQ(stat(dir.File("containers.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(dir.File("containers.json"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find("passwd"), std::string::npos);
  EXPECT_EQ(text.str().find("cGFzc3dk"), std::string::npos);  // nor its base64

  ContainerTracker loaded(dir.path());
  ASSERT_TRUE(loaded.Load().ok());
  auto c = loaded.Find("c1");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->pid, 4242);
  EXPECT_EQ(c->start_time, 777u);
  EXPECT_EQ(c->service_id, "svc1");
  EXPECT_EQ(c->secrets_dir, "/run/secrets");  // the grant named none: the hook's default
  EXPECT_EQ(c->tmpfs_size, 1u << 20);
  EXPECT_EQ(c->update_signal, "SIGHUP");
  ASSERT_EQ(c->files.size(), 1u);
  EXPECT_EQ(c->files[0], (HeldFile{"db", "s1", 2, 999, 0, 0400, false}));
}

TEST(ContainerTrackerTest, UntrackForgetsTheContainerOnDisk) {
  testing::TempDir dir;
  ContainerTracker tracker(dir.path());
  ASSERT_TRUE(tracker.Track(HookRequest(), Grant(1), "svc1", 777, TimePoint{}).ok());
  auto gone = tracker.Untrack("c1");
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(*gone);
  EXPECT_FALSE(*tracker.Untrack("c1"));
  ContainerTracker loaded(dir.path());
  ASSERT_TRUE(loaded.Load().ok());
  EXPECT_TRUE(loaded.All().empty());
}

TEST(ContainerTrackerTest, UpdateOfAnUntrackedContainerIsNotFound) {
  ContainerTracker tracker("");
  EXPECT_TRUE(testing::IsError(tracker.Update("c9", Grant(1)), StatusCode::kNotFound,
                               "container c9 is not tracked"));
}

TEST(ContainerTrackerTest, RefusesADamagedFileNamingIt) {
  testing::TempDir dir;
  std::ofstream(dir.File("containers.json")) << "[{\"ContainerID\":\"c1\",\"Pid\":\"x\"}]";
  ContainerTracker tracker(dir.path());
  EXPECT_TRUE(testing::IsError(tracker.Load(), StatusCode::kInvalidArgument,
                               dir.File("containers.json") + ": "));
  EXPECT_TRUE(testing::IsError(tracker.Load(), StatusCode::kInvalidArgument, "damaged"));
}

}  // namespace
}  // namespace ocisecrets
