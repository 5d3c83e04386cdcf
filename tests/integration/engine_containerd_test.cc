// containerd 1.6 through `ctr run --runc-binary oci-secrets-runtime`: containerd's runc.v2
// shim calls our shim as its runc, which adds the hook to an annotated bundle and execs
// runc. containerd runs in the suite's temp dir (own root, state and socket); the image
// is the busybox rootfs imported by Podman and saved as an OCI archive. Needs root.
// The CRI runtime that `oci-secrets install containerd` defines is selected by a
// RuntimeClass, which only a CRI client (crictl, a kubelet) can ask for; none is packaged
// for Debian 12, so the test shows what containerd makes of the installed drop-in.
#include <unistd.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

class EngineContainerdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || access("/usr/bin/containerd", X_OK) != 0 ||
        access(kPodman, X_OK) != 0) {
      return;
    }
    world_ = new EngineWorld();
    if (!world_->Init()) return;
    // An OCI archive of the rootfs: podman import, then podman save.
    std::string archive = SaveEngineImageArchive(*world_);
    ASSERT_FALSE(archive.empty());
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
    if (access(kPodman, X_OK) != 0) GTEST_SKIP() << "podman (image build) is not installed";
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
    std::vector<std::string> args = WithServiceAnnotation(
        {"run", "--rm", "--snapshotter", "native", "--runtime", "io.containerd.runc.v2",
         "--runc-binary", BinPath("oci-secrets-runtime")},
        service);
    args.insert(args.end(), {kEngineImage, "ocs-ctr-" + std::to_string(++n), "sh", "-c", script});
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

// `oci-secrets install containerd` into a temp root; containerd 1.6 merges the drop-in it
// wrote (imported from a config like the one install edits) into a runtime "oci-secrets":
// runc.v2 with the shim as BinaryName, passing the opt-in annotation from pods and
// containers into the OCI config.
TEST_F(EngineContainerdTest, InstalledDropInIsTheShimRuntimeWithTheAnnotationPassedOn) {
  std::string root = world_->dir.Join("install-root");
  CommandResult installed = RunCommand({BinPath("oci-secrets"), "install", "containerd",
                                        "--root", root, "--shim", BinPath("oci-secrets-runtime")});
  ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
  std::string dropin = root + "/etc/containerd/conf.d/oci-secrets.toml";
  std::string config_toml = world_->ReadFile(root + "/etc/containerd/config.toml");
  EXPECT_NE(config_toml.find("imports = [\"/etc/containerd/conf.d/oci-secrets.toml\"]"),
            std::string::npos)
      << config_toml;
  std::string config = world_->dir.WriteFile(
      "dropin-check.toml", "version = 2\nimports = [\"" + dropin + "\"]\n", 0644);
  CommandResult dump = RunCommand({"/usr/bin/containerd", "--config", config, "config", "dump"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const std::string table = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-secrets]";
  std::size_t at = dump.out.find(table);
  ASSERT_NE(at, std::string::npos) << dump.out;
  // The runtime's own table and its options, up to the next runtime's table.
  std::size_t end = dump.out.find("[plugins.\"io.containerd.grpc.v1.cri\".containerd.",
                                  dump.out.find(".options]", at));
  std::string runtime = dump.out.substr(at, end == std::string::npos ? std::string::npos : end - at);
  EXPECT_NE(runtime.find("runtime_type = \"io.containerd.runc.v2\""), std::string::npos) << runtime;
  EXPECT_NE(runtime.find("pod_annotations = [\"org.oci-secrets.service\"]"), std::string::npos)
      << runtime;
  EXPECT_NE(runtime.find("container_annotations = [\"org.oci-secrets.service\"]"),
            std::string::npos)
      << runtime;
  EXPECT_NE(runtime.find("BinaryName = \"" + BinPath("oci-secrets-runtime") + "\""),
            std::string::npos)
      << runtime;
}

}  // namespace
}  // namespace ocisecrets::itest
