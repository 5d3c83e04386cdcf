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

class EngineDockerTest : public DockerEngineTest {
 protected:
  // The shipped daemon.json, with the built shim and settings for a hermetic dockerd.
  std::string WriteDaemonJson(const nlohmann::json& hermetic) override {
    std::ifstream in(std::string(OCI_SECRETS_SOURCE_DIR) + "/runtime-config/docker/daemon.json");
    nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(config.is_discarded()) << "runtime-config/docker/daemon.json";
    EXPECT_TRUE(config["runtimes"].contains("oci-secrets-redis"));
    if (config.is_discarded() || !config["runtimes"].contains("oci-secrets-redis")) return "";
    for (auto& [name, runtime] : config["runtimes"].items()) {
      runtime["path"] = BinPath("oci-secrets-runtime");
    }
    config.update(hermetic);
    return world_->dir.WriteFile("daemon.json", config.dump(1), 0644);
  }
  static CommandResult Run(const std::string& runtime, const std::string& script) {
    return Docker({"run", "--rm", "--network", "none", "--runtime", runtime, "ocs-busybox", "sh",
                   "-c", script});
  }
};

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
