#include "manager/node/cdi_spec.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "shared/file_util.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using nlohmann::json;

HookEntryOptions Hook() { return {"/usr/libexec/oci-secrets/oci-secrets-hook", "/etc/h.json", 7}; }

TEST(CdiSpecTest, OneDevicePerServiceWithTheOptInAndTheHookEntries) {
  json spec = json::parse(CdiSpecJson({"web", "redis", "web"}, Hook()));
  EXPECT_EQ(spec["cdiVersion"], "0.5.0");
  EXPECT_EQ(spec["kind"], "oci-secrets.io/service");
  ASSERT_EQ(spec["devices"].size(), 2u);  // sorted, each once
  const json& redis = spec["devices"][0];
  EXPECT_EQ(redis["name"], "redis");
  EXPECT_EQ(spec["devices"][1]["name"], "web");
  EXPECT_EQ(redis["containerEdits"]["env"], json::array({"OCI_SECRETS_SERVICE=redis"}));
  const json& hooks = redis["containerEdits"]["hooks"];
  ASSERT_EQ(hooks.size(), 2u);
  const json args = {"oci-secrets-hook", "--config", "/etc/h.json"};
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string stage = i == 0 ? "prestart" : "poststop";
    EXPECT_EQ(hooks[i]["hookName"], stage);
    EXPECT_EQ(hooks[i]["path"], "/usr/libexec/oci-secrets/oci-secrets-hook");
    json want_args = args;
    want_args.push_back(stage);
    EXPECT_EQ(hooks[i]["args"], want_args);
    EXPECT_EQ(hooks[i]["env"], json::array({"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}));
    EXPECT_EQ(hooks[i]["timeout"], 7);
  }
}

TEST(CdiSpecTest, NoServicesIsAnEmptyDeviceListAndTheSameInputTheSameText) {
  json spec = json::parse(CdiSpecJson({}, Hook()));
  EXPECT_TRUE(spec["devices"].is_array());
  EXPECT_TRUE(spec["devices"].empty());
  EXPECT_EQ(CdiSpecJson({"b", "a"}, Hook()), CdiSpecJson({"a", "b"}, Hook()));
}

TEST(CdiSpecTest, SpecPathIsTheFileInTheDir) {
  EXPECT_EQ(CdiSpecPath("/var/run/cdi"), "/var/run/cdi/oci-secrets.json");
  EXPECT_EQ(CdiSpecPath("/var/run/cdi/"), "/var/run/cdi/oci-secrets.json");
}

TEST(CdiSpecTest, WritesOnlyWhenTheContentChangesWorldReadable) {
  testing::TempDir dir;
  const std::string path = CdiSpecPath(dir.File("cdi"));  // the dir is made
  auto first = WriteCdiSpec(path, "one\n");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(*first);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  ASSERT_EQ(stat(dir.File("cdi").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  struct stat before {};
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  auto again = WriteCdiSpec(path, "one\n");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  struct stat after {};
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // not replaced
  auto changed = WriteCdiSpec(path, "two\n");
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(*ReadFileBounded(path, 100), "two\n");
}

TEST(CdiSpecTest, AMissingParentIsAnErrorNamingTheDir) {
  testing::TempDir dir;
  auto r = WriteCdiSpec(CdiSpecPath(dir.File("no/such")), "x");
  EXPECT_TRUE(testing::IsError(r, StatusCode::kNotFound, "CDI spec dir " + dir.File("no/such")));
}

TEST(CdiSpecTest, RemoveSaysWhetherItExisted) {
  testing::TempDir dir;
  const std::string path = CdiSpecPath(dir.path());
  ASSERT_TRUE(WriteCdiSpec(path, "x").ok());
  EXPECT_TRUE(*RemoveCdiSpec(path));
  EXPECT_FALSE(*RemoveCdiSpec(path));
}

}  // namespace
}  // namespace ocisecrets
