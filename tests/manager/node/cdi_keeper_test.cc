#include "manager/node/cdi_keeper.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "manager/node/cdi_spec.h"
#include "shared/file_util.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using nlohmann::json;

class CdiKeeperTest : public ::testing::Test {
 protected:
  CdiKeeperTest() : registry_(&store_, &sealer_, Options(&feed_)) {}
  static RegistryOptions Options(ChangeFeed* feed) {
    RegistryOptions o;
    o.new_id = [] {
      static std::atomic<int> n{0};
      std::string s = std::to_string(++n);
      return std::string(25 - s.size(), 'c') + s;
    };
    o.on_change = [feed](const std::vector<std::string>& ids) { feed->Publish(ids); };
    return o;
  }
  void SetUp() override { ASSERT_TRUE(registry_.Load().ok()); }
  std::unique_ptr<CdiKeeper> Keeper() {
    CdiKeeperOptions o;
    o.state_file = dir_.File("cdi.json");
    o.registry = &registry_;
    o.feed = &feed_;
    o.log = [](const std::string&) {};
    auto keeper = CdiKeeper::Open(std::move(o));
    EXPECT_TRUE(keeper.ok()) << keeper.status().message();
    return keeper.ok() ? std::move(*keeper) : nullptr;
  }
  void CreateService(const std::string& name) {
    ServiceSpec spec;
    spec.name = name;
    auto s = registry_.CreateService(spec);
    ASSERT_TRUE(s.ok()) << s.status().message();
  }
  CdiSettings Settings(const std::string& sub = "cdi") const {
    CdiSettings s;
    s.spec_dir = dir_.File(sub);
    s.hook_path = "/opt/hook";
    return s;
  }
  // The device names of the spec file; empty when it is missing.
  std::vector<std::string> DevicesOnDisk(const std::string& sub = "cdi") const {
    auto text = ReadFileBounded(CdiSpecPath(dir_.File(sub)), 1 << 20);
    std::vector<std::string> names;
    if (!text.ok()) return names;
    const json spec = json::parse(*text);
    for (const json& d : spec["devices"]) names.push_back(d["name"]);
    return names;
  }
  // Waits (bounded) until the spec on disk names `want`; returns what it names then.
  std::vector<std::string> AwaitDevices(const std::vector<std::string>& want) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (DevicesOnDisk() != want && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return DevicesOnDisk();
  }

  testing::TempDir dir_;
  MemoryKvStore store_;
  FakeSealer sealer_;
  ChangeFeed feed_;
  Registry registry_;
};

TEST_F(CdiKeeperTest, EnableWritesTheSpecRecordsTheSettingsAndASecondEnableChangesNothing) {
  CreateService("redis");
  auto keeper = Keeper();
  auto first = keeper->Enable(Settings());
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->enabled);
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->spec_file, CdiSpecPath(dir_.File("cdi")));
  EXPECT_EQ(first->devices, std::vector<std::string>{"redis"});
  EXPECT_EQ(DevicesOnDisk(), std::vector<std::string>{"redis"});
  struct stat st {};
  ASSERT_EQ(stat(dir_.File("cdi.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto state = ParseCdiSettings(*ReadFileBounded(dir_.File("cdi.json"), 4096));
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->spec_dir, dir_.File("cdi"));
  EXPECT_EQ(state->hook_path, "/opt/hook");

  auto second = keeper->Enable(Settings());
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->changed);
}

TEST_F(CdiKeeperTest, FollowsServicesCreatedAndRemovedWithoutAnotherCall) {
  CreateService("redis");
  auto keeper = Keeper();
  ASSERT_TRUE(keeper->Enable(Settings()).ok());
  keeper->Start();
  CreateService("other");
  EXPECT_EQ(AwaitDevices({"other", "redis"}), (std::vector<std::string>{"other", "redis"}));
  ASSERT_TRUE(registry_.RemoveService("other").ok());
  EXPECT_EQ(AwaitDevices({"redis"}), std::vector<std::string>{"redis"});
  keeper->Stop();
}

TEST_F(CdiKeeperTest, AReopenedKeeperGoesOnFromItsStateFileAtStart) {
  ASSERT_TRUE(Keeper()->Enable(Settings()).ok());
  CreateService("web");  // while no keeper runs
  auto reopened = Keeper();
  auto current = reopened->Current();
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(current->enabled);
  EXPECT_EQ(current->devices, std::vector<std::string>{"web"});
  EXPECT_FALSE(current->changed);
  reopened->Start();
  EXPECT_EQ(AwaitDevices({"web"}), std::vector<std::string>{"web"});
}

TEST_F(CdiKeeperTest, DisableRemovesTheSpecAndTheStateFileOnce) {
  auto keeper = Keeper();
  ASSERT_TRUE(keeper->Enable(Settings()).ok());
  auto off = keeper->Disable();
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->changed);
  EXPECT_FALSE(off->enabled);
  struct stat st {};
  EXPECT_NE(stat(CdiSpecPath(dir_.File("cdi")).c_str(), &st), 0);
  EXPECT_NE(stat(dir_.File("cdi.json").c_str(), &st), 0);
  auto again = keeper->Disable();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_FALSE(Keeper()->Current()->enabled);
}

TEST_F(CdiKeeperTest, AnotherSpecDirTakesTheSpecAway) {
  CreateService("redis");
  auto keeper = Keeper();
  ASSERT_TRUE(keeper->Enable(Settings("cdi")).ok());
  auto moved = keeper->Enable(Settings("cdi2"));
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(moved->changed);
  EXPECT_TRUE(DevicesOnDisk("cdi").empty());
  EXPECT_EQ(DevicesOnDisk("cdi2"), std::vector<std::string>{"redis"});
}

TEST_F(CdiKeeperTest, BadSettingsAreRefusedNamingTheFieldAndRecordNothing) {
  auto keeper = Keeper();
  CdiSettings relative = Settings();
  relative.spec_dir = "cdi";
  EXPECT_TRUE(testing::IsError(keeper->Enable(relative), StatusCode::kInvalidArgument,
                               "SpecDir \"cdi\": must be an absolute path"));
  CdiSettings missing_parent = Settings("no/such");
  EXPECT_TRUE(testing::IsError(keeper->Enable(missing_parent), StatusCode::kNotFound,
                               "CDI spec dir " + dir_.File("no/such")));
  struct stat st {};
  EXPECT_NE(stat(dir_.File("cdi.json").c_str(), &st), 0);
}

TEST_F(CdiKeeperTest, ADamagedStateFileIsRefusedNamingIt) {
  ASSERT_TRUE(ReplaceFileAtomically(dir_.File("cdi.json"), R"({"SpecDir": 7})", 0600, geteuid(),
                                    getegid())
                  .ok());
  CdiKeeperOptions o;
  o.state_file = dir_.File("cdi.json");
  o.registry = &registry_;
  o.feed = &feed_;
  EXPECT_TRUE(testing::IsError(CdiKeeper::Open(std::move(o)), StatusCode::kFailedPrecondition,
                               "CDI state " + dir_.File("cdi.json") + " is damaged"));
}

}  // namespace
}  // namespace ocisecrets
