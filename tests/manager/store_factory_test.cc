#include "manager/store/store_factory.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

TEST(StoreFactoryTest, OpensSqliteByDefault) {
  testing::TempDir tmp;
  StoreOptions options;
  options.sqlite_path = tmp / "store.db";
  Result<std::unique_ptr<KvStore>> kv = OpenStore(options);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ((*kv)->Engine(), "sqlite");
}

TEST(StoreFactoryTest, RefusesOtherEnginesListingTheAvailableOnes) {
  struct Case {
    const char* description;
    std::string engine;
    StatusCode code;
    std::string says;
  };
  const Case cases[] = {
      {"unknown", "mongodb", StatusCode::kInvalidArgument, "unknown store engine 'mongodb'"},
      {"the test engine is not for users", "memory", StatusCode::kInvalidArgument,
       "unknown store engine 'memory'"},
      {"empty", "", StatusCode::kInvalidArgument, "unknown store engine ''"},
  };
  testing::TempDir tmp;
  for (const Case& c : cases) {
    StoreOptions options;
    options.engine = c.engine;
    options.sqlite_path = tmp / "store.db";
    Result<std::unique_ptr<KvStore>> kv = OpenStore(options);
    ASSERT_FALSE(kv.ok()) << c.description;
    EXPECT_EQ(kv.status().code(), c.code) << c.description;
    EXPECT_NE(kv.status().message().find(c.says), std::string::npos)
        << c.description << ": " << kv.status().message();
    EXPECT_NE(kv.status().message().find("engines: sqlite"), std::string::npos)
        << c.description << ": " << kv.status().message();
    EXPECT_EQ(CheckStoreEngine(c.engine).code(), c.code) << c.description;
  }
}

TEST(StoreFactoryTest, AcceptsEtcdAndRefusesItWithoutAnEndpoint) {
  EXPECT_TRUE(CheckStoreEngine("etcd").ok());
  StoreOptions options;
  options.engine = "etcd";
  EXPECT_TRUE(testing::IsError(OpenStore(options), StatusCode::kInvalidArgument,
                               "etcd: no endpoint (--etcd-endpoints URL,...)"));
}

}  // namespace
}  // namespace ocisecrets
