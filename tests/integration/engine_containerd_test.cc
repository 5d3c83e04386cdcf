// containerd 1.6 through `ctr run --runc-binary oci-secrets-runtime`: containerd's runc.v2
// shim calls our shim as its runc, which adds the hook to an annotated bundle and execs
// runc. containerd runs in the suite's temp dir (own root, state and socket); the image
// is the busybox rootfs imported by Podman and saved as an OCI archive. Needs root.
// The CRI runtime that `oci-secrets install containerd` defines is selected by a
// RuntimeClass, which only a CRI client (crictl, a kubelet) can ask for; none is packaged
// for Debian 12, so the test shows that containerd loads it from the installed config.
#include <unistd.h>

#include <filesystem>
#include <fstream>
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

// `oci-secrets install containerd` on a copy of Debian's config.toml (plus a root, state
// and socket of the test's): containerd 1.6 started on the result loads its CRI plugin
// with the runtime oci-secrets (runc.v2, BinaryName = the shim, the opt-in annotation
// passed on), runc still there as the default, and Debian's CNI setting kept.
TEST_F(EngineContainerdTest, InstalledConfigLoadsTheCriRuntimeAndKeepsTheUsersSettings) {
  const std::string root = world_->dir.Join("install-root");
  const std::string base = world_->dir.Join("cri");
  std::filesystem::create_directories(root + "/etc/containerd");
  std::filesystem::create_directories(base);
  const std::string config = root + "/etc/containerd/config.toml";
  const std::string socket = base + "/c.sock";
  {
    std::ofstream out(config);
    out << "version = 2\nroot = \"" << base << "/root\"\nstate = \"" << base
        << "/state\"\n[grpc]\n  address = \"" << socket << "\"\n\n[plugins]\n"
        << "  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
        << "    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
        << "      bin_dir = \"/usr/lib/cni\"\n      conf_dir = \"/etc/cni/net.d\"\n";
  }
  CommandResult installed = RunCommand({BinPath("oci-secrets"), "install", "containerd",
                                        "--root", root, "--shim", BinPath("oci-secrets-runtime")});
  ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;

  CommandResult dump = RunCommand({"/usr/bin/containerd", "--config", config, "config", "dump"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const std::string runtimes = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.";
  std::size_t at = dump.out.find(runtimes + "oci-secrets]");
  ASSERT_NE(at, std::string::npos) << dump.out;
  // The runtime's own table and its options, up to the next runtime's table.
  std::string runtime = dump.out.substr(at, dump.out.find(runtimes, at + 1) - at);
  std::size_t options = dump.out.find(runtimes + "oci-secrets.options]");
  ASSERT_NE(options, std::string::npos) << dump.out;
  runtime += dump.out.substr(options, dump.out.find("\n\n", options) - options);
  for (const std::string& want :
       {std::string("runtime_type = \"io.containerd.runc.v2\""),
        std::string("pod_annotations = [\"org.oci-secrets.service\"]"),
        std::string("container_annotations = [\"org.oci-secrets.service\"]"),
        "BinaryName = \"" + BinPath("oci-secrets-runtime") + "\""}) {
    EXPECT_NE(runtime.find(want), std::string::npos) << want << "\n" << runtime;
  }
  EXPECT_NE(dump.out.find(runtimes + "runc]"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("bin_dir = \"/usr/lib/cni\""), std::string::npos) << dump.out;

  // containerd itself on that configuration: the CRI plugin loads (a runtime list without
  // runc, or a replaced CRI section, makes it fail with "no corresponding runtime").
  Background containerd({"/usr/bin/containerd", "--config", config}, base + "/containerd.log");
  ASSERT_TRUE(WaitUntilAnswers({kCtr, "-a", socket, "version"}, 30))
      << world_->ReadFile(base + "/containerd.log");
  CommandResult plugins = RunCommand({kCtr, "-a", socket, "plugins", "ls"});
  ASSERT_EQ(plugins.exit_code, 0) << plugins.err;
  std::size_t cri = plugins.out.find("io.containerd.grpc.v1 ");
  bool cri_ok = false;
  for (; cri != std::string::npos; cri = plugins.out.find("io.containerd.grpc.v1 ", cri + 1)) {
    std::string line = plugins.out.substr(cri, plugins.out.find('\n', cri) - cri);
    if (line.find(" cri ") != std::string::npos) cri_ok = line.find(" ok") != std::string::npos;
  }
  EXPECT_TRUE(cri_ok) << plugins.out << world_->ReadFile(base + "/containerd.log");
}

}  // namespace
}  // namespace ocisecrets::itest
