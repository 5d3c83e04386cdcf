// CDI with Podman 4.3: `oci-secrets install cdi` makes the suite's daemon keep
// CDI_DIR/oci-secrets.json current, and `podman run --device oci-secrets.io/service=S`
// reads S's secret through the spec's hooks and opt-in variable; a service created later
// is a device without any other step, a removed one is gone. Podman 4.3 reads specs only
// from /etc/cdi and /var/run/cdi (no cdi_spec_dirs yet), so each podman runs in a private
// mount namespace where /run/cdi is the suite's spec dir and /etc/cdi (if any) is empty:
// the machine's own spec dirs are never written. Needs root.
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

class EngineCdiPodmanTest : public EngineTest {
 protected:
  void ArrangeSuite() override {
    EnsureCrunCgroupFix();
    if (!StartWorld({kPodmanTool, kCrunTool})) return;
    // No hooks.d: only the CDI spec may add our hook.
    ASSERT_EQ(mkdir(world_->dir.File("no-hooks.d").c_str(), 0755), 0);
    ASSERT_TRUE(ImportEngineImage(*world_));
  }
  static void TearDownTestSuite() { StopWorld(); }

  static std::string CdiDir() { return world_->dir.File("cdi"); }
  static std::string SpecFile() { return CdiDir() + "/oci-secrets.json"; }

  static CommandResult Install(const std::string& verb) {
    std::vector<std::string> args = {verb, "cdi"};
    if (verb == "install") {
      args.insert(args.end(), {"--cdi-dir", CdiDir(), "--hook", BinPath("oci-secrets-hook"),
                               "--hook-config", world_->hook_config});
    }
    return world_->daemon.Cli(args);
  }

  // `podman run --rm --device oci-secrets.io/service=SERVICE IMAGE sh -c SCRIPT` with
  // /run/cdi bound to CdiDir() in a namespace of its own.
  static CommandResult RunWithDevice(const std::string& service, const std::string& script) {
    const std::vector<std::string> podman = PodmanArgv(
        *world_,
        {"run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit",
         "nproc=1024:1024", "--device", "oci-secrets.io/service=" + service, kEngineImage, "sh",
         "-c", script},
        world_->dir.File("no-hooks.d"));
    // $0 is the spec dir, "$@" podman's command line.
    const std::string namespaced =
        "set -e\n"
        "created=0\n"
        "if [ ! -d /run/cdi ]; then mkdir /run/cdi; created=1; fi\n"
        "mount --bind \"$0\" /run/cdi\n"
        "if [ -d /etc/cdi ]; then mount -t tmpfs oci-secrets-test /etc/cdi; fi\n"
        "rc=0\n"
        "\"$@\" || rc=$?\n"
        "umount /run/cdi\n"
        "if [ $created = 1 ]; then rmdir /run/cdi; fi\n"
        "exit $rc\n";
    std::vector<std::string> argv = {"/usr/bin/unshare", "--mount", "--propagation", "private",
                                     "/bin/sh", "-c", namespaced, CdiDir()};
    argv.insert(argv.end(), podman.begin(), podman.end());
    return RunCommand(argv, {}, {}, std::chrono::seconds(120));
  }

  // Waits (up to 10 s) until the spec names the device `name` (or, !present, does not):
  // the daemon rewrites it just after the change it follows.
  static bool SpecNames(const std::string& name, bool present) {
    const std::string needle = "\"name\": \"" + name + "\"";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      const bool found = world_->ReadFile(SpecFile()).find(needle) != std::string::npos;
      if (found == present) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
};

TEST_F(EngineCdiPodmanTest, TheDaemonKeepsADeviceForEveryServiceFromInstallToUninstall) {
  CommandResult installed = Install("install");
  ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
  EXPECT_NE(installed.out.find("the daemon now keeps " + SpecFile() + " current (devices: " +
                               std::string(kEngineService) + ")"),
            std::string::npos)
      << installed.out;
  EXPECT_NE(installed.out.find("podman run --device oci-secrets.io/service=NAME IMAGE"),
            std::string::npos)
      << installed.out;
  CommandResult again = Install("install");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("nothing changed"), std::string::npos) << again.out;
  struct stat st {};
  ASSERT_EQ(stat(SpecFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  EXPECT_TRUE(ReadsTheSecretWithItsMode(RunWithDevice(kEngineService, ReadSecretScript()),
                                        *world_));

  // A service created now is a device at once: no install, no reload.
  CommandResult created = world_->daemon.Cli(
      {"service", "create", "--name", "other", "--secret", kEngineSecret});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_TRUE(SpecNames("other", true)) << world_->ReadFile(SpecFile());
  EXPECT_TRUE(ReadsTheSecretWithItsMode(RunWithDevice("other", ReadSecretScript()), *world_));

  CommandResult removed = world_->daemon.Cli({"service", "rm", "other"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  ASSERT_TRUE(SpecNames("other", false)) << world_->ReadFile(SpecFile());
  CommandResult gone = RunWithDevice("other", "echo started");
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_EQ(gone.out.find("started"), std::string::npos) << gone.out;
  EXPECT_NE(gone.err.find("oci-secrets.io/service=other"), std::string::npos) << gone.err;

  // A restarted daemon goes on keeping it (STATE_DIR/cdi.json): a spec lost meanwhile
  // is back.
  ASSERT_EQ(world_->daemon.Stop(), 0) << world_->daemon.Log();
  ASSERT_EQ(unlink(SpecFile().c_str()), 0);
  ASSERT_TRUE(world_->daemon.Start().ok()) << world_->daemon.Log();
  ASSERT_TRUE(SpecNames(kEngineService, true)) << world_->daemon.Log();

  CommandResult uninstalled = Install("uninstall");
  ASSERT_EQ(uninstalled.exit_code, 0) << uninstalled.err;
  EXPECT_NE(uninstalled.out.find("removed " + SpecFile()), std::string::npos) << uninstalled.out;
  EXPECT_NE(stat(SpecFile().c_str(), &st), 0);
  CommandResult twice = Install("uninstall");
  ASSERT_EQ(twice.exit_code, 0) << twice.err;
  EXPECT_NE(twice.out.find("nothing changed"), std::string::npos) << twice.out;
}

}  // namespace
}  // namespace ocisecrets::itest
