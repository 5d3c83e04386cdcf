#include "hook/runtime/shim_config.h"

#include <gtest/gtest.h>

#include <string>

namespace ocisecrets {
namespace {

TEST(ShimConfigTest, EmptyObjectGivesDefaults) {
  Result<ShimConfig> c = ParseShimConfig("{}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime_path, "runc");
  EXPECT_EQ(c->hook_path, "/usr/libexec/oci-secrets/oci-secrets-hook");
  EXPECT_EQ(c->hook_stage, "prestart");
  EXPECT_EQ(c->hook_timeout, 10);
  EXPECT_TRUE(c->hook_config.empty());
}

TEST(ShimConfigTest, ReadsEveryKey) {
  Result<ShimConfig> c = ParseShimConfig(
      R"({"runtime_path":"/usr/bin/crun","hook_path":"/opt/h","hook_config":"/etc/h.json",)"
      R"("hook_stage":"createRuntime","hook_timeout":30})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime_path, "/usr/bin/crun");
  EXPECT_EQ(c->hook_path, "/opt/h");
  EXPECT_EQ(c->hook_config, "/etc/h.json");
  EXPECT_EQ(c->hook_stage, "createRuntime");
  EXPECT_EQ(c->hook_timeout, 30);
}

struct BadConfig {
  std::string description;
  std::string json;
  std::string expected;  // a piece of the error message
};

class ShimConfigRejectTest : public testing::TestWithParam<BadConfig> {};

TEST_P(ShimConfigRejectTest, RejectsWithClearMessage) {
  Result<ShimConfig> c = ParseShimConfig(GetParam().json);
  ASSERT_FALSE(c.ok()) << GetParam().description;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << GetParam().description;
  EXPECT_NE(c.status().message().find(GetParam().expected), std::string::npos)
      << GetParam().description << ": " << c.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ShimConfigRejectTest,
    testing::Values(BadConfig{"not JSON", "{", "not valid JSON"},
                    BadConfig{"not an object", "[]", "object"},
                    BadConfig{"a typo is not silently ignored", R"({"hookpath":"/x"})",
                              "unknown key"},
                    BadConfig{"relative hook path", R"({"hook_path":"hook"})", "absolute"},
                    BadConfig{"wrong type", R"({"runtime_path":1})", "string"},
                    BadConfig{"empty runtime", R"({"runtime_path":""})", "empty"},
                    BadConfig{"unknown stage", R"({"hook_stage":"poststart"})", "hook_stage"},
                    BadConfig{"timeout zero", R"({"hook_timeout":0})", "hook_timeout"},
                    BadConfig{"timeout too long", R"({"hook_timeout":301})", "hook_timeout"},
                    BadConfig{"timeout as string", R"({"hook_timeout":"5"})", "hook_timeout"}),
    [](const testing::TestParamInfo<BadConfig>& info) {
      return "Case" + std::to_string(info.index);
    });

}  // namespace
}  // namespace ocisecrets
