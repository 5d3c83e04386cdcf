// Podman with --hooks-dir: a temp copy of runtime-config/hooks.d whose hook path and
// --config point at build/bin and the suite's hook.json. Podman runs in its own root,
// runroot and tmpdir (vfs storage, cgroupfs), with the image imported from a busybox
// rootfs. Needs root.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

class EnginePodmanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || access(kPodman, X_OK) != 0) return;
    EnsureCrunCgroupFix();
    world_ = new EngineWorld();
    if (!world_->Init()) return;
    // The shipped hooks.d entry, pointed at the built hook and the suite's hook.json.
    std::ifstream in(std::string(OCI_SECRETS_SOURCE_DIR) + "/runtime-config/hooks.d/oci-secrets.json");
    nlohmann::json hook = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(hook.is_discarded()) << "runtime-config/hooks.d/oci-secrets.json";
    hook["hook"]["path"] = BinPath("oci-secrets-hook");
    hook["hook"]["args"] = {"oci-secrets-hook", "--config", world_->hook_config};
    mkdir(world_->dir.Join("hooks.d").c_str(), 0755);
    world_->dir.WriteFile("hooks.d/oci-secrets.json", hook.dump(1), 0644);
    ASSERT_TRUE(ImportEngineImage(*world_));
  }
  static void TearDownTestSuite() {
    if (world_ != nullptr) {
      // Podman leaves overlay-free vfs layers and its state under the temp dir; the
      // TempDir removes them. Containers ran with --rm.
      delete world_;
      world_ = nullptr;
    }
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "podman needs root";
    if (access(kPodman, X_OK) != 0) GTEST_SKIP() << "podman is not installed";
    ASSERT_NE(world_, nullptr);
    ASSERT_FALSE(world_->rootfs_tar.empty()) << "suite setup failed";
  }
  // `podman run --rm` of `script`, with the annotation when `service` is not empty.
  static CommandResult Run(const std::string& script, const std::string& service) {
    std::vector<std::string> args =
        WithServiceAnnotation({"run", "--rm", "--network", "none", "--ulimit",
                               "nofile=1024:1024", "--ulimit", "nproc=1024:1024"},
                              service);
    args.insert(args.end(), {kEngineImage, "sh", "-c", script});
    return RunPodman(*world_, args, world_->dir.Join("hooks.d"));
  }

  static EngineWorld* world_;
};
EngineWorld* EnginePodmanTest::world_ = nullptr;

TEST_F(EnginePodmanTest, AnnotatedContainerReadsSecretWithItsMode) {
  CommandResult r = Run(ReadSecretScript(), kEngineService);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, world_->payload + "\n444 0 0\n");
}

TEST_F(EnginePodmanTest, ContainerWithoutAnnotationIsUntouched) {
  CommandResult r = Run(AbsentScript(), "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "absent\n");
}

TEST_F(EnginePodmanTest, ManagerDownFailsTheStartWithTheHooksLine) {
  EngineWorld::ManagerDown down(world_);
  CommandResult r = Run("echo started", kEngineService);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("started"), std::string::npos);
  // crun (Podman's runtime here) gives the hook /dev/null as stderr and reports only the
  // hook's path and exit code; the hook relays its line to crun (runtime_relay.h).
  EXPECT_NE(r.err.find("oci-secrets-hook: prestart: lease: cannot reach the manager"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ocisecrets::itest
