// containerd 1.6 through `ctr run --runc-binary oci-secrets-runtime`: containerd's runc.v2
// shim calls our shim as its runc, which adds the hook to an annotated bundle and execs
// runc. containerd runs in the suite's temp dir (own root, state and socket); the image
// is the busybox rootfs imported by Podman and saved as an OCI archive. Needs root.
#include <unistd.h>

#include <memory>

#include <gtest/gtest.h>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

constexpr char kImage[] = "localhost/ocs-busybox:latest";

class EngineContainerdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || access("/usr/bin/containerd", X_OK) != 0 ||
        access("/usr/bin/podman", X_OK) != 0) {
      return;
    }
    world_ = new EngineWorld();
    if (!world_->Init()) return;
    // An OCI archive of the rootfs: podman import, then podman save.
    std::vector<std::string> podman = {"/usr/bin/podman", "--root", world_->dir.Join("p-root"),
                                       "--runroot", world_->dir.Join("p-runroot"),
                                       "--tmpdir", world_->dir.Join("p-tmp"),
                                       "--storage-driver", "vfs", "--events-backend", "file"};
    auto run_podman = [&](std::vector<std::string> args) {
      std::vector<std::string> argv = podman;
      argv.insert(argv.end(), args.begin(), args.end());
      return RunCommand(argv, {}, {}, std::chrono::seconds(120));
    };
    CommandResult imported = run_podman({"import", world_->rootfs_tar, "ocs-busybox"});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    std::string archive = world_->dir.Join("image.tar");
    CommandResult saved = run_podman({"save", "--format", "oci-archive", "-o", archive, kImage});
    ASSERT_EQ(saved.exit_code, 0) << saved.err;
    containerd_ = StartContainerd(*world_).release();
    ASSERT_NE(containerd_, nullptr);
    CommandResult loaded = Ctr({"images", "import", "--snapshotter", "native", archive});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
    ready_ = true;
  }
  static void TearDownTestSuite() {
    delete containerd_;  // stops containerd (SIGTERM to its group, then SIGKILL)
    containerd_ = nullptr;
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "containerd needs root";
    if (access("/usr/bin/containerd", X_OK) != 0) GTEST_SKIP() << "containerd is not installed";
    if (access("/usr/bin/podman", X_OK) != 0) GTEST_SKIP() << "podman (image build) is not installed";
    ASSERT_TRUE(ready_) << "suite setup failed";
  }
  static CommandResult Ctr(std::vector<std::string> args) {
    std::vector<std::string> argv = {kCtr, "-a", ContainerdSocket(*world_)};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {}, {}, std::chrono::seconds(120));
  }
  // `ctr run --rm` with the runc.v2 runtime and our shim as its runc binary.
  static CommandResult Run(const std::string& script, const std::string& service) {
    static int n = 0;
    std::vector<std::string> args = {"run", "--rm", "--snapshotter", "native",
                                     "--runtime", "io.containerd.runc.v2",
                                     "--runc-binary", BinPath("oci-secrets-runtime")};
    if (!service.empty()) {
      args.push_back("--annotation");
      args.push_back(std::string(kEngineAnnotation) + "=" + service);
    }
    args.insert(args.end(), {kImage, "ocs-ctr-" + std::to_string(++n), "sh", "-c", script});
    return Ctr(args);
  }

  static EngineWorld* world_;
  static Background* containerd_;
  static bool ready_;
};
EngineWorld* EngineContainerdTest::world_ = nullptr;
Background* EngineContainerdTest::containerd_ = nullptr;
bool EngineContainerdTest::ready_ = false;

TEST_F(EngineContainerdTest, AnnotatedContainerReadsSecretWithItsMode) {
  CommandResult r = Run(ReadSecretScript(), kEngineService);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, world_->payload + "\n444 0 0\n");
}

TEST_F(EngineContainerdTest, ContainerWithoutAnnotationIsUntouched) {
  CommandResult r = Run(AbsentScript(), "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "absent\n");
}

TEST_F(EngineContainerdTest, ManagerDownFailsTheStartWithTheHooksLine) {
  EngineWorld::ManagerDown down(world_);
  CommandResult r = Run("echo started", kEngineService);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("started"), std::string::npos);
  EXPECT_NE(r.err.find("oci-secrets-hook: prestart: lease: cannot reach the manager"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ocisecrets::itest
