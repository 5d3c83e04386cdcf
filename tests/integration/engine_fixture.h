// What the engine tests share: one manager with one secret for the whole suite, a
// hook.json that can be pointed at a dead socket ("manager down"), a busybox rootfs
// tarball to import as an image, and long-running engine daemons (containerd, dockerd)
// started in their own process group and stopped even when a test fails.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/testing/background.h"
#include "tests/testing/docker_engine.h"

namespace ocisecrets::itest {

inline constexpr char kEngineService[] = "redis";
inline constexpr char kEngineSecret[] = "pw";
inline constexpr char kEngineAnnotation[] = "org.oci-secrets.service";

// Daemons (containerd, dockerd) run as testing::Background: own session, log file,
// stopped with their process group.
using ::ocisecrets::testing::Background;

// The suite's manager and files: a running oci-secretsd holding secret "pw" (a unique
// payload, mode 0444, uid/gid 0) granted to service "redis", and hook.json pointing at it.
struct EngineWorld {
  TempDir dir;
  Daemon daemon;
  std::string payload;
  std::string hook_config;  // dir/hook.json
  std::string rootfs_tar;   // dir/rootfs.tar: busybox-static, sh, cat, stat, ...

  // Starts the manager, creates the secret and service, writes hook.json and the
  // rootfs tarball. Fails the test (ADD_FAILURE) and returns false on error.
  bool Init();
  // Rewrites hook.json to name a socket nobody listens on; the destructor of the
  // returned guard restores it.
  struct ManagerDown {
    explicit ManagerDown(EngineWorld* world);
    ~ManagerDown();
    EngineWorld* world;
  };
  void WriteHookConfig(const std::string& manager_host) const;
  // The log of the last Background started by a test, for failure messages.
  std::string ReadFile(const std::string& path) const;
};

// A program an engine test drives, and the Debian package that installs it.
struct Tool {
  std::string path;
  std::string package;
};
inline const Tool kRuncTool{"/usr/sbin/runc", "runc"};
inline const Tool kCrunTool{"/usr/bin/crun", "crun"};
inline const Tool kPodmanTool{"/usr/bin/podman", "podman"};
inline const Tool kContainerdTool{"/usr/bin/containerd", "containerd"};
inline const Tool kCtrTool{"/usr/bin/ctr", "containerd"};

// The base of every engine suite: one EngineWorld for the suite, made by the derived
// suite's ArrangeSuite (which calls StartWorld first), run once in the first test's
// SetUp, so that a failure there fails that test (a failure in SetUpTestSuite would make
// GoogleTest, and so CTest, report every test of the suite as skipped). Every later test
// fails at once when it did not finish. The derived suite's TearDownTestSuite calls
// StopWorld.
class EngineTest : public ::testing::Test {
 protected:
  virtual void ArrangeSuite() = 0;
  // Checks root and that every one of `tools` is installed, then makes and Init()s the
  // world. Fails the test naming what is missing and returns false on error.
  static bool StartWorld(const std::vector<Tool>& tools);
  static void StopWorld();
  void SetUp() override;

  static EngineWorld* world_;

 private:
  static bool arranged_;
  static bool ready_;
};

// The base of the Docker suites: the world, its containerd (StartContainerd) and a dockerd
// (StartDockerd) reading the daemon.json that the derived suite's WriteDaemonJson writes,
// all stopped after the suite.
class DockerEngineTest : public EngineTest {
 protected:
  // Writes the daemon.json, with `hermetic` (no iptables, no bridge, vfs) merged in, and
  // returns its path; fails the test and returns "" on error.
  virtual std::string WriteDaemonJson(const nlohmann::json& hermetic) = 0;
  void ArrangeSuite() override;
  static void TearDownTestSuite();
  // RunDocker against the suite's dockerd.
  static CommandResult Docker(const std::vector<std::string>& args);

  static Background* containerd_;
  static Background* dockerd_;
};

// What every engine must show, as assertions on the run of a container:
// ReadSecretScript() in an opted-in container prints the payload and "444 0 0" and exits 0.
::testing::AssertionResult ReadsTheSecretWithItsMode(const CommandResult& r,
                                                     const EngineWorld& world);
// AbsentScript() in a container that did not opt in prints "absent" and exits 0.
::testing::AssertionResult FindsNoSecretsDir(const CommandResult& r);
// "echo started" with the manager down: the engine exits `exit_code`, the container never
// ran, and stderr holds the hook's own line naming the stage and the unreachable manager.
::testing::AssertionResult RefusedByTheHookManagerDown(const CommandResult& r, int exit_code);

// Writes DIR/runtime-NAME.json for the shim: `runtime` behind oci-secrets-runtime, the
// built hook and the world's hook.json. Returns its path.
std::string WriteShimConfig(const EngineWorld& world, const Tool& runtime);

// containerd in world.dir/containerd (root, state, socket containerd/c.sock) with a
// runtime.json for the shim (runc behind oci-secrets-runtime, the built hook, the
// world's hook.json) in its environment, so every shim containerd's runc.v2 starts reads
// it. Waits until `ctr version` answers; returns null (and fails the test) otherwise.
std::unique_ptr<Background> StartContainerd(const EngineWorld& world);
// The files and command lines of the world's Docker Engine (containerd's among them).
inline ::ocisecrets::testing::DockerEngineLayout EngineLayout(const EngineWorld& world) {
  return {world.dir.path()};
}
inline constexpr char kCtr[] = "/usr/bin/ctr";
std::string ContainerdSocket(const EngineWorld& world);

inline const Tool kDockerdTool{::ocisecrets::testing::kDockerdPath, "docker.io"};
inline const Tool kDockerTool{::ocisecrets::testing::kDockerClientPath, "docker.io"};
// The image StartDockerd imports from world.rootfs_tar.
inline constexpr char kDockerImage[] = "ocs-busybox";
// The shipped runtime-config/docker/daemon.json, its runtimes pointed at the built shim and
// `extra` merged in (e.g. DockerEngineLayout::Hermetic's settings), written as
// world.dir/daemon.json. Returns its path; "" (after failing the test) when it does not
// parse.
std::string WriteShippedDaemonJson(const EngineWorld& world, const nlohmann::json& extra);
// dockerd on the world's containerd (StartContainerd), reading `config_path` as its
// daemon.json, with its data root, exec root, pid file and socket in world.dir (dk-*);
// waits until it answers and imports kDockerImage. Null (after failing the test) when it
// does not start or the import fails.
std::unique_ptr<Background> StartDockerd(const EngineWorld& world, const std::string& config_path);
// Its address, for `docker -H` and $DOCKER_HOST.
std::string DockerHost(const EngineWorld& world);
// `docker -H DockerHost(world) args...` (the 20.10 client), up to 120 s.
CommandResult RunDocker(const EngineWorld& world, const std::vector<std::string>& args);

// Podman on the world's own storage (world.dir/podman: root, runroot, tmpdir; vfs,
// cgroupfs, events to a file), with `--hooks-dir hooks_dir` when it is not empty.
inline constexpr char kPodman[] = "/usr/bin/podman";
inline constexpr char kEngineImage[] = "localhost/ocs-busybox:latest";
CommandResult RunPodman(const EngineWorld& world, const std::vector<std::string>& args,
                        const std::string& hooks_dir = "");
// RunPodman's command line, for running it under another program (e.g. unshare).
std::vector<std::string> PodmanArgv(const EngineWorld& world, const std::vector<std::string>& args,
                                    const std::string& hooks_dir = "");
// Imports world.rootfs_tar into that storage as kEngineImage. Fails the test (ADD_FAILURE)
// and returns false on error.
bool ImportEngineImage(const EngineWorld& world);
// ImportEngineImage, then kEngineImage saved as an OCI archive (what `ctr images import`
// and `docker load` read). Returns the archive's path, or "" after failing the test.
std::string SaveEngineImageArchive(const EngineWorld& world);
// `args` followed by `--annotation org.oci-secrets.service=SERVICE` when `service` is not
// empty (Podman, ctr and Docker 24+ spell it the same).
std::vector<std::string> WithServiceAnnotation(std::vector<std::string> args,
                                               const std::string& service);

// Writes world.dir/NAME/oci-secrets.json, the shipped hooks.d entry (runtime-config/hooks.d)
// with its path pointed at the built hook and, unless `shipped_args`, its args at
// "--config HOOK_CONFIG". Returns the directory (Podman's --hooks-dir), "" after failing
// the test.
std::string WriteHooksDir(const EngineWorld& world, const std::string& name, bool shipped_args);

// Polls `argv` (e.g. `ctr version`) until it exits 0, up to `seconds`.
bool WaitUntilAnswers(const std::vector<std::string>& argv, int seconds);

// The same-named applet check used by every "readable with its mode" test.
inline std::string ReadSecretScript() {
  return "cat /run/secrets/pw; echo; stat -c '%a %u %g' /run/secrets/pw";
}
inline std::string AbsentScript() {
  return "if [ -e /run/secrets ]; then echo present; else echo absent; fi";
}

}  // namespace ocisecrets::itest
