// Podman with --hooks-dir: a temp copy of runtime-config/hooks.d whose hook path and
// --config point at build/bin and the suite's hook.json; and the shipped entry itself
// (only its path rewritten) on a machine without hook.json, the manager at the default
// socket. Podman runs in its own root, runroot and tmpdir (vfs storage, cgroupfs), with the image imported from a busybox
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

class EnginePodmanTest : public EngineTest {
 protected:
  void ArrangeSuite() override {
    EnsureCrunCgroupFix();
    if (!StartWorld({kPodmanTool, kCrunTool})) return;
    // The shipped hooks.d entry, pointed at the built hook and the suite's hook.json; and
    // as shipped: args, env and timeout untouched.
    ASSERT_FALSE(WriteHooksDir(*world_, "hooks.d", /*shipped_args=*/false).empty());
    ASSERT_FALSE(WriteHooksDir(*world_, "shipped.d", /*shipped_args=*/true).empty());
    ASSERT_TRUE(ImportEngineImage(*world_));
  }
  // Podman leaves its vfs layers and state under the world's temp dir, which goes with
  // it. Containers ran with --rm.
  static void TearDownTestSuite() { StopWorld(); }
  // podman's arguments for `run --rm` of `script`, with the annotation when `service` is
  // not empty.
  static std::vector<std::string> RunArgs(const std::string& script, const std::string& service) {
    std::vector<std::string> args =
        WithServiceAnnotation({"run", "--rm", "--network", "none", "--ulimit",
                               "nofile=1024:1024", "--ulimit", "nproc=1024:1024"},
                              service);
    args.insert(args.end(), {kEngineImage, "sh", "-c", script});
    return args;
  }
  // `podman run --rm` of `script` with the suite's hooks.d.
  static CommandResult Run(const std::string& script, const std::string& service) {
    return RunPodman(*world_, RunArgs(script, service), world_->dir.File("hooks.d"));
  }
};

TEST_F(EnginePodmanTest, AnnotatedContainerReadsSecretWithItsMode) {
  EXPECT_TRUE(ReadsTheSecretWithItsMode(Run(ReadSecretScript(), kEngineService), *world_));
}

// Defect 1: the shipped entry passed --config /etc/oci-secrets/hook.json, so a machine
// without hook.json refused every annotated container. With the documented defaults the
// hook needs none: podman runs in a private mount namespace where /run/oci-secrets holds
// only the manager's socket (a link to the suite's) and /etc/oci-secrets no hook.json.
TEST_F(EnginePodmanTest, ShippedHooksDEntryWorksWithoutHookJson) {
  const std::vector<std::string> podman = PodmanArgv(
      *world_, RunArgs(ReadSecretScript(), kEngineService), world_->dir.File("shipped.d"));
  // $0 is the suite's socket, "$@" podman's command line.
  const std::string script =
      "set -e\n"
      "created=0\n"
      "if [ ! -d /run/oci-secrets ]; then mkdir /run/oci-secrets; created=1; fi\n"
      "mount -t tmpfs -o mode=0755 oci-secrets-test /run/oci-secrets\n"
      "ln -s \"$0\" /run/oci-secrets/manager.sock\n"
      "if [ -d /etc/oci-secrets ]; then mount -t tmpfs oci-secrets-test /etc/oci-secrets; fi\n"
      "test ! -e /etc/oci-secrets/hook.json\n"
      "rc=0\n"
      "\"$@\" || rc=$?\n"
      "umount /run/oci-secrets\n"
      "if [ $created = 1 ]; then rmdir /run/oci-secrets; fi\n"
      "exit $rc\n";
  std::vector<std::string> argv = {"/usr/bin/unshare", "--mount", "--propagation", "private",
                                   "/bin/sh", "-c", script, world_->daemon.socket_path()};
  argv.insert(argv.end(), podman.begin(), podman.end());
  CommandResult r = RunCommand(argv, {}, {}, std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, world_->payload + "\n444 0 0\n");
}

TEST_F(EnginePodmanTest, ContainerWithoutAnnotationIsUntouched) {
  EXPECT_TRUE(FindsNoSecretsDir(Run(AbsentScript(), "")));
}

TEST_F(EnginePodmanTest, ManagerDownFailsTheStartWithTheHooksLine) {
  EngineWorld::ManagerDown down(world_);
  // crun (Podman's runtime here) gives the hook /dev/null as stderr and reports only the
  // hook's path and exit code; the hook relays its line to crun (runtime_relay.h).
  // Podman exits 127 here: it reads crun's error, whose cause is the socket's ENOENT ("No
  // such file or directory"), as "the OCI runtime could not find a command".
  EXPECT_TRUE(RefusedByTheHookManagerDown(Run("echo started", kEngineService), 127));
}

}  // namespace
}  // namespace ocisecrets::itest
