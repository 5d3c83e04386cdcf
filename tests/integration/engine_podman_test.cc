// Podman with --hooks-dir: a temp copy of runtime-config/hooks.d whose hook path and
// --config point at build/bin and the suite's hook.json. Podman runs in its own root,
// runroot and tmpdir (vfs storage, cgroupfs), with the image imported from a busybox
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
    // The shipped hooks.d entry, pointed at the built hook and the suite's hook.json.
    std::ifstream in(std::string(OCI_SECRETS_SOURCE_DIR) + "/runtime-config/hooks.d/oci-secrets.json");
    nlohmann::json hook = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(hook.is_discarded()) << "runtime-config/hooks.d/oci-secrets.json";
    hook["hook"]["path"] = BinPath("oci-secrets-hook");
    hook["hook"]["args"] = {"oci-secrets-hook", "--config", world_->hook_config};
    mkdir(world_->dir.File("hooks.d").c_str(), 0755);
    world_->dir.WriteFile("hooks.d/oci-secrets.json", hook.dump(1), 0644);
    ASSERT_TRUE(ImportEngineImage(*world_));
  }
  // Podman leaves its vfs layers and state under the world's temp dir, which goes with
  // it. Containers ran with --rm.
  static void TearDownTestSuite() { StopWorld(); }
  // `podman run --rm` of `script`, with the annotation when `service` is not empty.
  static CommandResult Run(const std::string& script, const std::string& service) {
    std::vector<std::string> args =
        WithServiceAnnotation({"run", "--rm", "--network", "none", "--ulimit",
                               "nofile=1024:1024", "--ulimit", "nproc=1024:1024"},
                              service);
    args.insert(args.end(), {kEngineImage, "sh", "-c", script});
    return RunPodman(*world_, args, world_->dir.File("hooks.d"));
  }
};

TEST_F(EnginePodmanTest, AnnotatedContainerReadsSecretWithItsMode) {
  EXPECT_TRUE(ReadsTheSecretWithItsMode(Run(ReadSecretScript(), kEngineService), *world_));
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
