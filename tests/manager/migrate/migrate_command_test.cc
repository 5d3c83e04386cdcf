#include "manager/daemon/migrate_command.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

#include "manager/store/state_dir.h"
#include "tests/manager/migrate/migrate_test_util.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;
using ::ocisecrets::testing::TempDir;

// A stopped single-machine manager's state dir: store.db and root.key.
class MigrateCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(source_dir().c_str(), 0700), 0);
    auto key = LoadOrCreateRootKey(source_dir() + "/root.key");
    ASSERT_TRUE(key.ok()) << key.status().message();
    root_ = *key;
    ::ocisecrets::testing::SeedStore(source_dir() + "/store.db", root_);
  }

  std::string source_dir() const { return dir_ / "source"; }
  std::string dest_dir() const { return dir_ / "dest"; }

  MigrateCommandOptions SqliteToSqlite() const {
    MigrateCommandOptions o;
    o.from = {.engine = "sqlite", .dir = source_dir(), .endpoints = {}};
    o.to = {.engine = "sqlite", .dir = dest_dir(), .endpoints = {}};
    o.progress_interval = std::chrono::milliseconds(0);
    return o;
  }

  TempDir dir_;
  KeyBytes root_;
};

TEST_F(MigrateCommandTest, CopiesIntoAStateDirWithItsRootKey) {
  auto report = RunMigrate(SqliteToSqlite());
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->secrets, 12u);
  auto copied = LoadOrCreateRootKey(dest_dir() + "/root.key");
  ASSERT_TRUE(copied.ok()) << copied.status().message();
  EXPECT_TRUE(*copied == root_);
  struct stat st {};
  ASSERT_EQ(::stat((dest_dir() + "/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(MigrateCommandTest, RefusesASourceADaemonHolds) {
  auto held = StateDir::Open(source_dir());
  ASSERT_TRUE(held.ok()) << held.status().message();
  EXPECT_TRUE(IsError(RunMigrate(SqliteToSqlite()), StatusCode::kFailedPrecondition,
                      "is in use by another oci-secretsd"));
}

TEST_F(MigrateCommandTest, RefusesADestinationWithAnotherRootKey) {
  ASSERT_EQ(::mkdir(dest_dir().c_str(), 0700), 0);
  ASSERT_TRUE(LoadOrCreateRootKey(dest_dir() + "/root.key").ok()) << "a fresh, other key";
  EXPECT_TRUE(IsError(RunMigrate(SqliteToSqlite()), StatusCode::kFailedPrecondition,
                      "holds another root key than the source's"));
}

TEST_F(MigrateCommandTest, RefusesAnAutolockedSourceBeforeLookingForItsRootKey) {
  {
    auto store = SqliteKvStore::Open(source_dir() + "/store.db");
    ASSERT_TRUE(store.ok());
    Txn lock;
    lock.ops.push_back({Op::Kind::kPut, "keyring/root", R"({"Wrapped":"AAAA"})"});
    ASSERT_TRUE((*store)->Commit(lock).ok());
  }
  ASSERT_EQ(::unlink((source_dir() + "/root.key").c_str()), 0) << "autolock keeps none";
  EXPECT_TRUE(IsError(RunMigrate(SqliteToSqlite()), StatusCode::kFailedPrecondition,
                      "turn autolock off first: oci-secrets cluster update --autolock=false"));
}

TEST_F(MigrateCommandTest, RefusesADirectoryThatIsNoStateDir) {
  MigrateCommandOptions o = SqliteToSqlite();
  o.from.dir = dir_ / "nothing";
  EXPECT_TRUE(IsError(RunMigrate(o), StatusCode::kNotFound, "not a manager's state dir"));
}

TEST(StoreLocationTest, ParsesBothEngines) {
  auto sqlite = ParseStoreLocation("sqlite:/var/lib/oci-secrets/");
  ASSERT_TRUE(sqlite.ok());
  EXPECT_EQ(sqlite->engine, "sqlite");
  EXPECT_EQ(sqlite->dir, "/var/lib/oci-secrets");
  auto etcd = ParseStoreLocation("etcd:https://e1:2379,http://127.0.0.1:2379");
  ASSERT_TRUE(etcd.ok());
  EXPECT_EQ(etcd->endpoints,
            (std::vector<std::string>{"https://e1:2379", "http://127.0.0.1:2379"}));
}

TEST(StoreLocationTest, RefusesOtherForms) {
  EXPECT_TRUE(IsError(ParseStoreLocation("/var/lib/oci-secrets"), StatusCode::kInvalidArgument,
                      "want sqlite:STATE_DIR or etcd:URL[,URL...]"));
  EXPECT_TRUE(IsError(ParseStoreLocation("etcd:e1:2379"), StatusCode::kInvalidArgument,
                      "\"e1:2379\" is not an http:// or https:// URL"));
  EXPECT_TRUE(IsError(ParseStoreLocation("sqlite:"), StatusCode::kInvalidArgument, "want"));
}

}  // namespace
}  // namespace ocisecrets
