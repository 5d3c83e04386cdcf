// Docker Engine 20.10 through daemon.json "runtimes": the runtimes of
// runtime-config/docker/daemon.json, pointed at the built shim. Docker 20.10 does not pass
// annotations to the runtime, so a container opts in by its environment (`--runtime
// oci-secrets -e OCI_SECRETS_SERVICE=redis`) or by a per-service runtime (`--runtime
// oci-secrets-redis`, runtimeArgs "--oci-secrets-service redis"). dockerd runs
// in the suite's temp dir (data-root, exec-root, socket) on the suite's own containerd.
// Needs root.
#include <unistd.h>

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
    return WriteShippedDaemonJson(*world_, hermetic);
  }
  // `docker run --rm --network none --runtime RUNTIME EXTRA... ocs-busybox sh -c SCRIPT`.
  static CommandResult Run(const std::string& runtime, const std::string& script,
                           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run", "--rm", "--network", "none", "--runtime", runtime};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"ocs-busybox", "sh", "-c", script});
    return Docker(args);
  }
  // The opt-in by environment: `-e OCI_SECRETS_SERVICE=SERVICE`.
  static std::vector<std::string> OptIn(const std::string& service) {
    return {"-e", "OCI_SECRETS_SERVICE=" + service};
  }
};

TEST_F(EngineDockerTest, PerServiceRuntimeContainerReadsSecretWithItsMode) {
  EXPECT_TRUE(ReadsTheSecretWithItsMode(Run("oci-secrets-redis", ReadSecretScript()), *world_));
}

TEST_F(EngineDockerTest, ContainerOnDefaultRuntimeIsUntouched) {
  EXPECT_TRUE(FindsNoSecretsDir(Run("runc", AbsentScript())));
}

// Docker 20.10 passes no annotations, but the container's environment reaches config.json:
// one runtime serves every service, also one created after dockerd started (no reload).
TEST_F(EngineDockerTest, OneRuntimeServesTwoServicesByEnvWithoutADaemonReload) {
  EXPECT_TRUE(ReadsTheSecretWithItsMode(
      Run("oci-secrets", ReadSecretScript(), OptIn(kEngineService)), *world_));
  const std::string payload = UniquePayload();
  CreateSecretAndService(world_->daemon, "web_pw", payload, "web", {"web_pw", 0, 0, 0400});
  ASSERT_FALSE(HasFailure());
  CommandResult r = Run("oci-secrets", "cat /run/secrets/web_pw; echo; ls /run/secrets",
                        OptIn("web"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The test's own marker (UniquePayload), not a user's secret; redis's "pw" is not there.
  EXPECT_EQ(r.out, payload + "\nweb_pw\n") << r.err;
}

// The per-service runtime binds the service; a variable naming another one is refused,
// naming both, before anything is asked or mounted.
TEST_F(EngineDockerTest, PerServiceRuntimeAndADifferentVariableFailClosedNamingBoth) {
  CommandResult r = Run("oci-secrets-redis", "echo started", OptIn("other"));
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_EQ(r.out.find("started"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("OCI_SECRETS_SERVICE"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(other) differs from this runtime's service redis"), std::string::npos)
      << r.err;
}

// `-v FILE:/run/secrets/x` (what Compose does with its own `file:` secrets) under the
// opt-in: our tmpfs would hide the file, so the container fails closed naming it.
TEST_F(EngineDockerTest, OwnFileUnderTheSecretsDirFailsClosedNamingIt) {
  const std::string file = world_->dir.WriteFile("own_secret", "not ours", 0644);
  std::vector<std::string> extra = OptIn(kEngineService);
  extra.insert(extra.end(), {"-v", file + ":/run/secrets/x:ro"});
  CommandResult r = Run("oci-secrets", "echo started", extra);
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_EQ(r.out.find("started"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("already holds mounts (/run/secrets/x)"), std::string::npos) << r.err;
}

// Neither opt-in: the container runs unchanged, and the shim says why in the runtime's
// log (containerd's runc.v2 shim passes --log BUNDLE/log.json; it lasts while the
// container runs).
TEST_F(EngineDockerTest, GenericRuntimeWithoutOptInIsUntouchedAndTheLogSaysWhy) {
  EXPECT_TRUE(FindsNoSecretsDir(Run("oci-secrets", AbsentScript())));
  CommandResult started = Docker({"run", "-d", "--network", "none", "--runtime", "oci-secrets",
                                  "ocs-busybox", "sleep", "60"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string id = started.out.substr(0, started.out.find('\n'));
  const std::string log = ReadFile(world_->dir.File(
      "containerd/state/io.containerd.runtime.v2.task/moby/" + id + "/log.json"));
  Docker({"rm", "-f", id});
  EXPECT_NE(log.find("\"level\":\"info\""), std::string::npos) << log;
  EXPECT_NE(log.find("oci-secrets-runtime: create: no org.oci-secrets.service annotation and no "
                     "OCI_SECRETS_SERVICE in the container's environment: no secrets added"),
            std::string::npos)
      << log;
}

TEST_F(EngineDockerTest, ManagerDownFailsTheStartWithTheHooksLine) {
  EngineWorld::ManagerDown down(world_);
  // docker run exits 125 when the daemon cannot create the container (the runtime failed).
  EXPECT_TRUE(RefusedByTheHookManagerDown(Run("oci-secrets-redis", "echo started"), 125));
}

}  // namespace
}  // namespace ocisecrets::itest
