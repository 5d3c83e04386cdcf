// Hostile images with real runc and crun: each either gets its secrets mounted inside its
// own rootfs or fails closed, and nothing is ever written or mounted outside the rootfs.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

class HookHostileImageTest : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "runtimes need root";
    if (GetParam().name == "crun") EnsureCrunCgroupFix();
    ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
    payload_ = UniquePayload();
    CreateSecretAndService(daemon_, "pw", payload_, "redis", {"pw", 0, 0, 0444});
    ASSERT_FALSE(HasFailure());
    std::string config = dir_.WriteFile(
        "hook.json",
        nlohmann::json{{"manager", daemon_.host()}, {"log_file", dir_.Join("hook.log")}}.dump(),
        0644);
    bundle_.emplace(dir_, config);
    bundle_->SetScript("echo \"CONTENT $(cat /run/secrets/pw)\"");
    bundle_->SetAnnotation("org.oci-secrets.service", "redis");
    bundle_->InstallHook();
    mounts_before_ = HostMounts();
  }
  void TearDown() override {
    if (mounts_before_.empty()) return;
    for (const auto& m : NewMounts(mounts_before_, HostMounts())) {
      EXPECT_EQ(m.find("secrets"), std::string::npos) << "new host mount: " << m;
      EXPECT_EQ(m.find(dir_.path()), std::string::npos) << "new host mount: " << m;
      EXPECT_EQ(m.find(" tmpfs "), std::string::npos) << "new host tmpfs: " << m;
    }
  }
  std::string Root() { return bundle_->rootfs(); }
  CommandResult Run() { return bundle_->Run(GetParam(), "ocs-hostile-" + std::to_string(getpid())); }
  // Failing closed: the runtime refused to start the container with the hook's line.
  void ExpectFailedClosed(const CommandResult& r, const std::string& part) {
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_EQ(r.out.find("CONTENT"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("oci-secrets-hook: prestart: secrets dir /run/secrets: "),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  }

  Daemon daemon_;
  TempDir dir_;
  std::string payload_;
  std::optional<Bundle> bundle_;
  std::vector<std::string> mounts_before_;
};

TEST_P(HookHostileImageTest, RunSymlinkToEtcMountsInsideTheImagesEtc) {
  ASSERT_EQ(mkdir((Root() + "/etc").c_str(), 0755), 0);
  ASSERT_EQ(symlink("/etc", (Root() + "/run").c_str()), 0);
  struct stat host_etc_before {};
  ASSERT_EQ(stat("/etc", &host_etc_before), 0);
  CommandResult r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CONTENT " + payload_), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::is_directory(Root() + "/etc/secrets"));
  EXPECT_FALSE(std::filesystem::exists("/etc/secrets/pw"));
}

TEST_P(HookHostileImageTest, RunSymlinkToAbsoluteHostPathFailsClosed) {
  TempDir host_target;  // exists on the host, not in the image
  ASSERT_EQ(symlink(host_target.path().c_str(), (Root() + "/run").c_str()), 0);
  ExpectFailedClosed(Run(), "symlink refused");
  EXPECT_TRUE(std::filesystem::is_empty(host_target.path()));
}

TEST_P(HookHostileImageTest, SecretsSymlinkClimbingToTmpXFailsClosed) {
  ASSERT_EQ(mkdir((Root() + "/run").c_str(), 0755), 0);
  ASSERT_EQ(symlink("../../../../tmp/x", (Root() + "/run/secrets").c_str()), 0);
  bool host_tmp_x_existed = std::filesystem::exists("/tmp/x");
  ExpectFailedClosed(Run(), "symlink refused");
  EXPECT_EQ(std::filesystem::exists("/tmp/x"), host_tmp_x_existed);
  EXPECT_FALSE(std::filesystem::exists(Root() + "/tmp/x"));
}

TEST_P(HookHostileImageTest, SecretsSymlinkClimbingToAnImageDirStaysInTheImage) {
  ASSERT_EQ(mkdir((Root() + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((Root() + "/tmp").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((Root() + "/tmp/x").c_str(), 0755), 0);
  ASSERT_EQ(symlink("../../../../tmp/x", (Root() + "/run/secrets").c_str()), 0);
  CommandResult r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CONTENT " + payload_), std::string::npos) << r.out;
}

TEST_P(HookHostileImageTest, SecretsAsARegularFileFailsClosed) {
  ASSERT_EQ(mkdir((Root() + "/run").c_str(), 0755), 0);
  std::string file = Root() + "/run/secrets";
  { std::ofstream(file) << "decoy"; }
  ExpectFailedClosed(Run(), "not a directory");
  std::ifstream in(file);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "decoy");
}

TEST_P(HookHostileImageTest, SecretsAsAFifoFailsClosed) {
  ASSERT_EQ(mkdir((Root() + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkfifo((Root() + "/run/secrets").c_str(), 0644), 0);
  ExpectFailedClosed(Run(), "not a directory");
}

TEST_P(HookHostileImageTest, SymlinkLoopFailsClosed) {
  ASSERT_EQ(symlink("/run", (Root() + "/run").c_str()), 0);
  ExpectFailedClosed(Run(), "symlink refused");
}

std::string RuntimeName(const ::testing::TestParamInfo<Runtime>& info) { return info.param.name; }

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(HookHostileImageTest);
INSTANTIATE_TEST_SUITE_P(Runtimes, HookHostileImageTest, ::testing::ValuesIn(Runtimes()),
                         RuntimeName);

}  // namespace
}  // namespace ocisecrets::itest
