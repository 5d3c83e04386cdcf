#include "hook/config/hook_config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::hook {
namespace {

using ::ocisecrets::testing::IsError;

using ::ocisecrets::testing::TempDir;

TEST(HookConfigTest, EmptyObjectGivesDefaults) {
  Result<HookConfig> c = ParseHookConfig("{}");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->manager, "unix:///run/oci-secrets/manager.sock");
  EXPECT_EQ(c->secrets_dir, "/run/secrets");
  EXPECT_EQ(c->windows_secrets_dir, "C:\\ProgramData\\Docker\\secrets");
  EXPECT_LT(c->deadline.count(), 10000);  // well under the 10 s hook timeout we install
  EXPECT_EQ(c->log_file, "/var/log/oci-secrets/hook.log");
}

TEST(HookConfigTest, ReadsEveryKey) {
  Result<HookConfig> c = ParseHookConfig(
      R"({"manager":"unix:///tmp/m.sock","deadline_ms":1500,"secrets_dir":"/var/secrets",)"
      R"("windows_secrets_dir":"D:\\secrets","tmpfs_size_bytes":65536,"log_file":""})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->manager, "unix:///tmp/m.sock");
  EXPECT_EQ(c->deadline.count(), 1500);
  EXPECT_EQ(c->secrets_dir, "/var/secrets");
  EXPECT_EQ(c->windows_secrets_dir, "D:\\secrets");
  EXPECT_EQ(c->tmpfs_size_bytes, 65536u);
  EXPECT_EQ(c->log_file, "");
}

TEST(HookConfigTest, RefusesBadValuesNamingTheKey) {
  struct Case {
    const char* description;
    const char* json;
    const char* key;
  };
  const std::vector<Case> cases = {
      {"unknown key (a typo)", R"({"deadline":100})", "deadline"},
      {"deadline zero", R"({"deadline_ms":0})", "deadline_ms"},
      {"deadline a minute and more", R"({"deadline_ms":60001})", "deadline_ms"},
      {"deadline a string", R"({"deadline_ms":"5s"})", "deadline_ms"},
      {"relative secrets dir", R"({"secrets_dir":"run/secrets"})", "secrets_dir"},
      {"secrets dir with ..", R"({"secrets_dir":"/run/../etc"})", "secrets_dir"},
      {"secrets dir /", R"({"secrets_dir":"/"})", "secrets_dir"},
      {"windows dir reserved name", R"({"windows_secrets_dir":"C:\\CON"})",
       "windows_secrets_dir"},
      {"windows dir without drive", R"({"windows_secrets_dir":"\\secrets"})",
       "windows_secrets_dir"},
      {"tiny tmpfs", R"({"tmpfs_size_bytes":1})", "tmpfs_size_bytes"},
      {"relative log file", R"({"log_file":"hook.log"})", "log_file"},
      {"empty manager", R"({"manager":""})", "manager"},
      {"not an object", R"([])", "object"},
      {"malformed", R"({"manager":)", "malformed"},
  };
  for (const auto& c : cases) {
    Result<HookConfig> r = ParseHookConfig(c.json);
    EXPECT_TRUE(IsError(r, StatusCode::kInvalidArgument, c.key)) << c.description;
  }
}

TEST(HookConfigTest, MissingDefaultFileMeansDefaultsButNamedFileMustExist) {
  TempDir dir;
  Result<HookConfig> defaults = LoadHookConfig(dir / "absent.json", /*must_exist=*/false);
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(defaults->secrets_dir, "/run/secrets");
  Result<HookConfig> named = LoadHookConfig(dir / "absent.json", /*must_exist=*/true);
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.status().code(), StatusCode::kNotFound);
  EXPECT_NE(named.status().message().find("absent.json"), std::string::npos);
}

TEST(HookConfigTest, FileErrorsNameTheFile) {
  TempDir dir;
  testing::WriteFile(dir / "hook.json", R"({"deadline_ms":-5})");
  Result<HookConfig> r = LoadHookConfig(dir / "hook.json", true);
  ASSERT_TRUE(IsError(r, StatusCode::kInvalidArgument, "hook.json"));
  EXPECT_NE(r.status().message().find("deadline_ms"), std::string::npos) << r.status().message();
}

TEST(HookConfigTest, ContainerDirRules) {
  EXPECT_TRUE(ValidateContainerDir("/run/secrets").ok());
  EXPECT_TRUE(ValidateContainerDir("/run/secrets/").ok());
  EXPECT_TRUE(IsError(ValidateContainerDir("/run//secrets"), StatusCode::kInvalidArgument,
                      "empty component"));
  EXPECT_TRUE(IsError(ValidateContainerDir("/run/./secrets"), StatusCode::kInvalidArgument,
                      "\".\" and \"..\" are not allowed"));
  EXPECT_TRUE(IsError(ValidateContainerDir(std::string("/run/\0x", 8)),
                      StatusCode::kInvalidArgument, "must not hold NUL"));
  EXPECT_TRUE(IsError(ValidateContainerDir("/" + std::string(256, 'a')),
                      StatusCode::kInvalidArgument, "longer than 255 bytes"));
}

}  // namespace
}  // namespace ocisecrets::hook
