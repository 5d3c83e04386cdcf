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

class EngineDockerTest : public EngineTest {
 protected:
  void ArrangeSuite() override {
    if (!StartWorld({kDockerdTool, kDockerTool, kContainerdTool, kCtrTool, kRuncTool})) return;
    containerd_ = StartContainerd(*world_).release();
    ASSERT_NE(containerd_, nullptr);
    dockerd_ = StartDockerd(*world_).release();
    ASSERT_NE(dockerd_, nullptr);
  }
  static void TearDownTestSuite() {
    delete dockerd_;
    dockerd_ = nullptr;
    delete containerd_;
    containerd_ = nullptr;
    StopWorld();
  }
  static CommandResult Docker(std::vector<std::string> args) { return RunDocker(*world_, args); }
  static CommandResult Run(const std::string& runtime, const std::string& script) {
    return Docker({"run", "--rm", "--network", "none", "--runtime", runtime, "ocs-busybox", "sh",
                   "-c", script});
  }

  static Background* containerd_;
  static Background* dockerd_;
};
Background* EngineDockerTest::containerd_ = nullptr;
Background* EngineDockerTest::dockerd_ = nullptr;

TEST_F(EngineDockerTest, PerServiceRuntimeContainerReadsSecretWithItsMode) {
  EXPECT_TRUE(ReadsTheSecretWithItsMode(Run("oci-secrets-redis", ReadSecretScript()), *world_));
}

TEST_F(EngineDockerTest, ContainerOnDefaultRuntimeIsUntouched) {
  EXPECT_TRUE(FindsNoSecretsDir(Run("runc", AbsentScript())));
}

// The generic runtime needs the annotation, which Docker 20.10 never passes on: a
// container on it gets nothing (this is why the per-service runtime exists).
TEST_F(EngineDockerTest, GenericRuntimeWithoutAnnotationIsUntouched) {
  EXPECT_TRUE(FindsNoSecretsDir(Run("oci-secrets", AbsentScript())));
}

TEST_F(EngineDockerTest, ManagerDownFailsTheStartWithTheHooksLine) {
  EngineWorld::ManagerDown down(world_);
  // docker run exits 125 when the daemon cannot create the container (the runtime failed).
  EXPECT_TRUE(RefusedByTheHookManagerDown(Run("oci-secrets-redis", "echo started"), 125));
}

}  // namespace
}  // namespace ocisecrets::itest
