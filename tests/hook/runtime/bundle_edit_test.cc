#include "hook/runtime/bundle_edit.h"
#include "shared/file_util.h"
#include "tests/testing/status_assert.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace ocisecrets {
namespace {

using Json = nlohmann::ordered_json;

// A temporary bundle directory, removed with its files at the end of the test.
class BundleEditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ocs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.hook_path = "/usr/libexec/oci-secrets/oci-secrets-hook";
  }
  void TearDown() override {
    for (const std::string& name : ListDir()) unlink((dir_ + "/" + name).c_str());
    rmdir(dir_.c_str());
  }

  std::string ConfigPath() const { return dir_ + "/config.json"; }

  void WriteConfig(const std::string& text, mode_t mode = 0644) {
    std::ofstream(ConfigPath()) << text;
    ASSERT_EQ(chmod(ConfigPath().c_str(), mode), 0);
  }

  std::string ReadConfig() const {
    std::ifstream in(ConfigPath());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::vector<std::string> ListDir() const {
    std::vector<std::string> names;
    DIR* d = opendir(dir_.c_str());
    if (d == nullptr) return names;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    return names;
  }

  std::string dir_;
  ShimConfig config_;
};

constexpr char kWithAnnotation[] = R"({
  "ociVersion": "1.0.2",
  "process": {"args": ["sh"], "env": ["A=1"]},
  "root": {"path": "rootfs"},
  "annotations": {"org.oci-secrets.service": "redis", "other": "x"},
  "linux": {"namespaces": [{"type": "mount"}]},
  "zzz": 18446744073709551615
})";

TEST_F(BundleEditTest, LeavesConfigByteIdenticalWithoutAnnotation) {
  const std::string original =
      "{\n  \"ociVersion\": \"1.0.2\",\n  \"annotations\": {\"other\": \"x\"},\n"
      "  \"hooks\": {}\n}\n";
  WriteConfig(original, 0600);
  struct stat before{};
  ASSERT_EQ(stat(ConfigPath().c_str(), &before), 0);
  Result<EditOutcome> r = InjectHooksIntoBundle(dir_, config_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, EditOutcome::kNotOptedIn);
  EXPECT_EQ(ReadConfig(), original);
  struct stat after{};
  ASSERT_EQ(stat(ConfigPath().c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "file must not be replaced";
}

TEST_F(BundleEditTest, LeavesConfigWithoutAnnotationsMemberUntouched) {
  const std::string original = R"({"ociVersion":"1.0.2"})";
  WriteConfig(original);
  Result<EditOutcome> r = InjectHooksIntoBundle(dir_, config_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, EditOutcome::kNotOptedIn);
  EXPECT_EQ(ReadConfig(), original);
}

TEST_F(BundleEditTest, AddsPrestartAndPoststopWithEnvAndTimeout) {
  WriteConfig(kWithAnnotation, 0640);
  config_.hook_timeout = 7;
  config_.hook_config = "/etc/oci-secrets/hook.json";
  Result<EditOutcome> r = InjectHooksIntoBundle(dir_, config_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, EditOutcome::kAdded);

  Json doc = Json::parse(ReadConfig());
  for (const char* stage : {"prestart", "poststop"}) {
    const Json& list = doc["hooks"][stage];
    ASSERT_EQ(list.size(), 1u) << stage;
    EXPECT_EQ(list[0]["path"], config_.hook_path);
    EXPECT_EQ(list[0]["args"], Json::array({"oci-secrets-hook", "--config",
                                            "/etc/oci-secrets/hook.json", stage}));
    EXPECT_EQ(list[0]["env"], Json::array({"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}));
    EXPECT_EQ(list[0]["timeout"], 7);
  }
  // Everything else kept, in order, including a full-width unsigned number.
  Json original = Json::parse(kWithAnnotation);
  doc.erase("hooks");
  EXPECT_EQ(doc, original);
  EXPECT_EQ(doc.dump(), original.dump());

  struct stat st{};
  ASSERT_EQ(stat(ConfigPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(ListDir(), std::vector<std::string>{"config.json"}) << "no temporary file left";
}

TEST_F(BundleEditTest, SecondRunChangesNothing) {
  WriteConfig(kWithAnnotation);
  ASSERT_TRUE(InjectHooksIntoBundle(dir_, config_).ok());
  const std::string once = ReadConfig();
  Result<EditOutcome> r = InjectHooksIntoBundle(dir_, config_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, EditOutcome::kAlreadyPresent);
  EXPECT_EQ(ReadConfig(), once);
}

TEST_F(BundleEditTest, UsesCreateRuntimeStageWhenConfigured) {
  config_.hook_stage = "createRuntime";
  Result<ConfigEdit> e = AddHookEntries(kWithAnnotation, config_);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Json doc = Json::parse(e->new_config);
  EXPECT_FALSE(doc["hooks"].contains("prestart"));
  ASSERT_EQ(doc["hooks"]["createRuntime"].size(), 1u);
  EXPECT_EQ(doc["hooks"]["createRuntime"][0]["args"].back(), "createRuntime");
  EXPECT_EQ(doc["hooks"]["poststop"][0]["args"].back(), "poststop");
}

TEST_F(BundleEditTest, KeepsExistingHooksAndAppendsOnlyTheMissingEntry) {
  Json doc = Json::parse(kWithAnnotation);
  doc["hooks"]["prestart"] = Json::array({{{"path", "/bin/other"}}});
  doc["hooks"]["poststop"] = Json::array(
      {{{"path", config_.hook_path}, {"args", {"oci-secrets-hook", "poststop"}}}});
  Result<ConfigEdit> e = AddHookEntries(doc.dump(), config_);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->outcome, EditOutcome::kAdded);
  Json out = Json::parse(e->new_config);
  ASSERT_EQ(out["hooks"]["prestart"].size(), 2u);
  EXPECT_EQ(out["hooks"]["prestart"][0]["path"], "/bin/other");
  EXPECT_EQ(out["hooks"]["prestart"][1]["path"], config_.hook_path);
  EXPECT_EQ(out["hooks"]["poststop"].size(), 1u);
}

TEST_F(BundleEditTest, RuntimeBoundToServiceAddsAnnotationAndHooks) {
  Result<ConfigEdit> e = AddHookEntries(R"({"ociVersion":"1.0.2"})", config_, "redis");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->outcome, EditOutcome::kAdded);
  Json doc = Json::parse(e->new_config);
  EXPECT_EQ(doc["annotations"]["org.oci-secrets.service"], "redis");
  EXPECT_EQ(doc["hooks"]["prestart"].size(), 1u);
  EXPECT_EQ(doc["hooks"]["poststop"].size(), 1u);
  Result<ConfigEdit> again = AddHookEntries(e->new_config, config_, "redis");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, EditOutcome::kAlreadyPresent);
}

TEST_F(BundleEditTest, RuntimeBoundToServiceRefusesAnotherServiceAnnotation) {
  Result<ConfigEdit> e = AddHookEntries(kWithAnnotation, config_, "web");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("differs"), std::string::npos);
}

TEST_F(BundleEditTest, TheEnvironmentVariableAloneAddsTheHooks) {
  const std::string with_env =
      R"({"ociVersion":"1.0.2","process":{"env":["PATH=/bin","OCI_SECRETS_SERVICE=redis"]}})";
  Result<ConfigEdit> e = AddHookEntries(with_env, config_);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->outcome, EditOutcome::kAdded);
  nlohmann::json doc = nlohmann::json::parse(e->new_config);
  EXPECT_EQ(doc["hooks"]["prestart"].size(), 1u);
  EXPECT_EQ(doc["hooks"]["poststop"].size(), 1u);
}

TEST_F(BundleEditTest, AnnotationAndVariableNamingDifferentServicesAreRefused) {
  const std::string both =
      R"({"annotations":{"org.oci-secrets.service":"redis"},)"
      R"("process":{"env":["OCI_SECRETS_SERVICE=web"]}})";
  EXPECT_TRUE(testing::IsError(AddHookEntries(both, config_), StatusCode::kInvalidArgument,
                               "name different services"));
}

TEST_F(BundleEditTest, RuntimeBoundToServiceRefusesAnotherServiceVariable) {
  const std::string with_env = R"({"process":{"env":["OCI_SECRETS_SERVICE=web"]}})";
  Result<ConfigEdit> e = AddHookEntries(with_env, config_, "redis");
  EXPECT_TRUE(testing::IsError(e, StatusCode::kInvalidArgument,
                               "OCI_SECRETS_SERVICE in the container's environment (web) differs "
                               "from this runtime's service redis"));
}

struct BadBundle {
  std::string description;
  std::string json;
};

class BundleEditRejectTest : public ::testing::TestWithParam<BadBundle> {};

TEST_P(BundleEditRejectTest, RejectsMalformedConfig) {
  ShimConfig config;
  Result<ConfigEdit> e = AddHookEntries(GetParam().json, config);
  EXPECT_FALSE(e.ok()) << GetParam().description;
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << GetParam().description;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BundleEditRejectTest,
    ::testing::Values(
        BadBundle{"not JSON", "{\"annotations\":"},
        BadBundle{"not an object", "[1]"},
        BadBundle{"annotations not an object", R"({"annotations":["x"]})"},
        BadBundle{"hooks not an object",
                  R"({"annotations":{"org.oci-secrets.service":"s"},"hooks":[]})"},
        BadBundle{"prestart not an array",
                  R"({"annotations":{"org.oci-secrets.service":"s"},"hooks":{"prestart":{}}})"},
        BadBundle{"invalid UTF-8 would be mangled",
                  "{\"annotations\":{\"org.oci-secrets.service\":\"s\"},\"x\":\"\xff\"}"}),
    [](const ::testing::TestParamInfo<BadBundle>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST_F(BundleEditTest, FailsOnMissingConfigAndWritesNothing) {
  Result<EditOutcome> r = InjectHooksIntoBundle(dir_, config_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("config.json"), std::string::npos);
  EXPECT_TRUE(ListDir().empty());
}

TEST_F(BundleEditTest, RefusesSymlinkedConfig) {
  std::string target = dir_ + "/real.json";
  std::ofstream(target) << kWithAnnotation;
  ASSERT_EQ(symlink(target.c_str(), ConfigPath().c_str()), 0);
  EXPECT_FALSE(InjectHooksIntoBundle(dir_, config_).ok());
}

// Both durabilities replace the file whole, keep the requested mode and leave no
// temporary behind; only kSync waits for the disk.
TEST_F(BundleEditTest, ReplaceFileAtomicallyReplacesWholeInBothDurabilities) {
  struct Case {
    const char* description;
    Durability durability;
  };
  for (const Case& c : {Case{"sync", Durability::kSync}, Case{"no sync", Durability::kNoSync}}) {
    SCOPED_TRACE(c.description);
    WriteConfig(std::string(4096, 'o'), 0600);
    ASSERT_TRUE(ReplaceFileAtomically(ConfigPath(), "{\"new\":1}", 0640, geteuid(), getegid(),
                                      c.durability)
                    .ok());
    EXPECT_EQ(ReadConfig(), "{\"new\":1}");
    struct stat st {};
    ASSERT_EQ(stat(ConfigPath().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(ListDir(), std::vector<std::string>{"config.json"});
  }
}

TEST_F(BundleEditTest, ReplaceFileAtomicallyLeavesOriginalWhenDirIsGone) {
  std::string missing = dir_ + "/gone/config.json";
  EXPECT_FALSE(ReplaceFileAtomically(missing, "{}", 0644, geteuid(), getegid(),
                                     Durability::kNoSync)
                   .ok());
  EXPECT_TRUE(ListDir().empty());
}

}  // namespace
}  // namespace ocisecrets
