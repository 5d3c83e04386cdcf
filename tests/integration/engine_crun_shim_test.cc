// crun behind the shim: oci-secrets-runtime (runtime_path = crun) adds the hook entries
// to an opted-in bundle and execs crun. A real oci-secretsd, a busybox-static rootfs.
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

constexpr char kService[] = "redis";

class EngineCrunShimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    EnsureCrunCgroupFix();
    daemon_ = new Daemon();
    Status started = daemon_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString() << daemon_->Log();
    payload_ = new std::string(UniquePayload());
    CreateSecretAndService(*daemon_, "pw", *payload_, kService, {"pw", 0, 0, 0444});
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    delete payload_;
    payload_ = nullptr;
    unsetenv("OCI_SECRETS_RUNTIME_CONFIG");
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "runtimes need root";
    ASSERT_NE(daemon_, nullptr);
    hook_config_ = dir_.WriteFile(
        "hook.json", nlohmann::json{{"manager", daemon_->host()}, {"deadline_ms", 3000}}.dump(),
        0644);
    std::string shim_config = dir_.WriteFile(
        "runtime.json",
        nlohmann::json{{"runtime_path", "/usr/bin/crun"},
                       {"hook_path", BinPath("oci-secrets-hook")},
                       {"hook_config", hook_config_}}
            .dump(),
        0644);
    setenv("OCI_SECRETS_RUNTIME_CONFIG", shim_config.c_str(), 1);
  }
  CommandResult RunThroughShim(Bundle& bundle) {
    return bundle.Run({"oci-secrets-runtime", BinPath("oci-secrets-runtime")},
                      "ocs-shim-" + std::to_string(getpid()));
  }

  static Daemon* daemon_;
  static std::string* payload_;
  TempDir dir_;
  std::string hook_config_;
};
Daemon* EngineCrunShimTest::daemon_ = nullptr;
std::string* EngineCrunShimTest::payload_ = nullptr;

TEST_F(EngineCrunShimTest, OptedInContainerReadsSecretWithItsMode) {
  Bundle b(dir_, hook_config_);
  b.SetScript("cat /run/secrets/pw; echo; stat -c '%a %u %g' /run/secrets/pw");
  b.SetAnnotation("org.oci-secrets.service", kService);
  CommandResult r = RunThroughShim(b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, *payload_ + "\n444 0 0\n");
}

TEST_F(EngineCrunShimTest, ContainerWithoutAnnotationIsUntouched) {
  Bundle b(dir_, hook_config_);
  b.SetScript("if [ -e /run/secrets ]; then echo present; else echo absent; fi");
  CommandResult r = RunThroughShim(b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "absent\n");
}

TEST_F(EngineCrunShimTest, ManagerDownFailsTheStartWithTheHooksLine) {
  hook_config_ = dir_.WriteFile(
      "hook.json",
      nlohmann::json{{"manager", "unix://" + dir_.Join("nobody.sock")}, {"deadline_ms", 2000}}
          .dump(),
      0644);
  Bundle b(dir_, hook_config_);
  b.SetScript("echo started");
  b.SetAnnotation("org.oci-secrets.service", kService);
  CommandResult r = RunThroughShim(b);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("started"), std::string::npos);
  EXPECT_NE(r.err.find("oci-secrets-hook: prestart: lease: cannot reach the manager"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ocisecrets::itest
