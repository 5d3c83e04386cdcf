// Docker Engine 20.10 through daemon.json "runtimes": the runtimes of
// runtime-config/docker/daemon.json, pointed at the built shim. Docker 20.10 does not pass
// annotations to the runtime, so a container opts in by its per-service runtime
// (`--runtime oci-secrets-redis`, runtimeArgs "--oci-secrets-service redis"). dockerd runs
// in the suite's temp dir (data-root, exec-root, socket) on the suite's own containerd.
// Needs root.
#include <unistd.h>

#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

constexpr char kDockerd[] = "/usr/sbin/dockerd";
constexpr char kDocker[] = "/usr/bin/docker";  // the 20.10 client that matches dockerd

class EngineDockerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0 || access(kDockerd, X_OK) != 0 || access(kDocker, X_OK) != 0) return;
    world_ = new EngineWorld();
    if (!world_->Init()) return;
    containerd_ = StartContainerd(*world_).release();
    ASSERT_NE(containerd_, nullptr);
    // The shipped daemon.json, with the built shim and settings for a hermetic dockerd.
    std::ifstream in(std::string(OCI_SECRETS_SOURCE_DIR) + "/runtime-config/docker/daemon.json");
    nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(config.is_discarded()) << "runtime-config/docker/daemon.json";
    ASSERT_TRUE(config["runtimes"].contains("oci-secrets-redis"));
    for (auto& [name, runtime] : config["runtimes"].items()) {
      runtime["path"] = BinPath("oci-secrets-runtime");
    }
    config.update(nlohmann::json{{"iptables", false}, {"bridge", "none"}, {"ip-forward", false},
                                 {"ip-masq", false}, {"storage-driver", "vfs"}});
    std::string config_path = world_->dir.WriteFile("daemon.json", config.dump(1), 0644);
    dockerd_ = new Background({kDockerd, "--config-file", config_path,
                               "--data-root", world_->dir.Join("dk-root"),
                               "--exec-root", world_->dir.Join("dk-exec"),
                               "--pidfile", world_->dir.Join("dk.pid"),
                               "-H", "unix://" + world_->dir.Join("dk.sock"),
                               "--containerd", ContainerdSocket(*world_)},
                              world_->dir.Join("dockerd.log"));
    ASSERT_TRUE(WaitUntilAnswers({kDocker, "-H", Host(), "version"}, 60))
        << world_->ReadFile(world_->dir.Join("dockerd.log"));
    CommandResult imported = Docker({"import", world_->rootfs_tar, "ocs-busybox"});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    ready_ = true;
  }
  static void TearDownTestSuite() {
    delete dockerd_;
    dockerd_ = nullptr;
    delete containerd_;
    containerd_ = nullptr;
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "dockerd needs root";
    ASSERT_EQ(access(kDockerd, X_OK), 0) << "docker.io is not installed: packaging/test.sh installs it";
    ASSERT_TRUE(ready_) << "suite setup failed";
  }
  static std::string Host() { return "unix://" + world_->dir.Join("dk.sock"); }
  static CommandResult Docker(std::vector<std::string> args) {
    std::vector<std::string> argv = {kDocker, "-H", Host()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {}, {}, std::chrono::seconds(120));
  }
  static CommandResult Run(const std::string& runtime, const std::string& script) {
    return Docker({"run", "--rm", "--network", "none", "--runtime", runtime, "ocs-busybox", "sh",
                   "-c", script});
  }

  static EngineWorld* world_;
  static Background* containerd_;
  static Background* dockerd_;
  static bool ready_;
};
EngineWorld* EngineDockerTest::world_ = nullptr;
Background* EngineDockerTest::containerd_ = nullptr;
Background* EngineDockerTest::dockerd_ = nullptr;
bool EngineDockerTest::ready_ = false;

TEST_F(EngineDockerTest, PerServiceRuntimeContainerReadsSecretWithItsMode) {
  CommandResult r = Run("oci-secrets-redis", ReadSecretScript());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, world_->payload + "\n444 0 0\n");
}

TEST_F(EngineDockerTest, ContainerOnDefaultRuntimeIsUntouched) {
  CommandResult r = Run("runc", AbsentScript());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "absent\n");
}

// The generic runtime needs the annotation, which Docker 20.10 never passes on: a
// container on it gets nothing (this is why the per-service runtime exists).
TEST_F(EngineDockerTest, GenericRuntimeWithoutAnnotationIsUntouched) {
  CommandResult r = Run("oci-secrets", AbsentScript());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "absent\n");
}

TEST_F(EngineDockerTest, ManagerDownFailsTheStartWithTheHooksLine) {
  EngineWorld::ManagerDown down(world_);
  CommandResult r = Run("oci-secrets-redis", "echo started");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("started"), std::string::npos);
  EXPECT_NE(r.err.find("oci-secrets-hook: prestart: lease: cannot reach the manager"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ocisecrets::itest
