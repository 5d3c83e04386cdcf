// `oci-secrets install docker` against a real Docker Engine 20.10: the daemon.json it
// writes (the one runtime, --default-runtime, a --service runtime checked with the real
// manager) is what dockerd loads, and what `uninstall docker` says about restarting holds:
// a reload (SIGHUP) drops neither the runtime nor the default-runtime. dockerd runs hermetically on the suite's
// containerd, in the world's temp dir; the daemon.json is under install's --root there.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/harness.h"

namespace ocisecrets::itest {
namespace {

class EngineDockerInstallTest : public DockerEngineTest {
 protected:
  // The user's own daemon.json (the hermetic settings), which install then merges into.
  std::string WriteDaemonJson(const nlohmann::json& hermetic) override {
    std::filesystem::create_directories(world_->dir.File("root/etc/docker"));
    world_->dir.WriteFile("root/etc/docker/daemon.json", hermetic.dump(1), 0644);
    CommandResult install = Install({"install", "docker", "--default-runtime", "--service",
                                     "redis", "--shim", BinPath("oci-secrets-runtime")});
    EXPECT_EQ(install.exit_code, 0) << install.out << install.err;
    EXPECT_NE(install.out.find("added runtimes.oci-secrets, runtimes.oci-secrets-redis, "
                               "default-runtime"),
              std::string::npos)
        << install.out;
    return install.exit_code == 0 ? DaemonJson() : "";
  }
  static std::string DaemonJson() { return world_->dir.File("root/etc/docker/daemon.json"); }
  // The CLI against the world's manager, install's --root in the world's dir.
  static CommandResult Install(std::vector<std::string> args) {
    args.insert(args.end(), {"--root", world_->dir.File("root")});
    return world_->daemon.Cli(args);
  }
  // `docker info` field by Go template, e.g. "{{.DefaultRuntime}}".
  static std::string Info(const std::string& format) {
    CommandResult r = Docker({"info", "--format", format});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
};

TEST_F(EngineDockerInstallTest, DefaultRuntimeIsOursAndAContainerWithoutOptInIsUntouched) {
  EXPECT_EQ(Info("{{.DefaultRuntime}}"), "oci-secrets\n");
  // No --runtime: dockerd's default, our shim, which passes a container without opt-in on.
  EXPECT_TRUE(FindsNoSecretsDir(
      Docker({"run", "--rm", "--network", "none", kDockerImage, "sh", "-c", AbsentScript()})));
}

TEST_F(EngineDockerInstallTest, ServiceRuntimeFromInstallReadsTheSecret) {
  EXPECT_TRUE(ReadsTheSecretWithItsMode(
      Docker({"run", "--rm", "--network", "none", "--runtime", "oci-secrets-redis", kDockerImage,
              "sh", "-c", ReadSecretScript()}),
      *world_));
}

// Why uninstall says "restart dockerd": after it, a SIGHUP reload of Docker 20.10 still
// has the runtime and keeps it the default (a reload applies the keys the file has; it
// neither drops a runtime nor resets a key the file no longer has).
TEST_F(EngineDockerInstallTest, UninstallSaysRestartBecauseAReloadKeepsTheRuntime) {
  CommandResult u = Install({"uninstall", "docker"});
  ASSERT_EQ(u.exit_code, 0) << u.out << u.err;
  EXPECT_NE(u.out.find("next: restart dockerd to drop the runtime: systemctl restart docker"),
            std::string::npos)
      << u.out;
  nlohmann::json left = nlohmann::json::parse(world_->ReadFile(DaemonJson()));
  EXPECT_FALSE(left.contains("runtimes")) << left.dump();
  EXPECT_FALSE(left.contains("default-runtime")) << left.dump();
  ASSERT_EQ(kill(dockerd_->pid(), SIGHUP), 0);
  const std::string log_path = world_->dir.File("dockerd.log");
  for (int i = 0; i < 100; ++i) {  // the reload is asynchronous
    if (world_->ReadFile(log_path).find("Reloaded configuration") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(world_->ReadFile(log_path).find("Reloaded configuration"), std::string::npos)
      << world_->ReadFile(log_path);
  EXPECT_NE(Info("{{json .Runtimes}}").find("\"oci-secrets\""), std::string::npos)
      << "a reload dropped the runtime after all; uninstall's advice to restart is too strong";
  EXPECT_EQ(Info("{{.DefaultRuntime}}"), "oci-secrets\n");
}

}  // namespace
}  // namespace ocisecrets::itest
