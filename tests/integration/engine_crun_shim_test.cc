// crun behind the shim: oci-secrets-runtime (runtime_path = crun) adds the hook entries
// to an opted-in bundle and execs crun. The suite's EngineWorld (a real oci-secretsd),
// a busybox-static rootfs per test.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

class EngineCrunShimTest : public EngineTest {
 protected:
  void ArrangeSuite() override {
    EnsureCrunCgroupFix();
    if (!StartWorld({kCrunTool})) return;
    setenv("OCI_SECRETS_RUNTIME_CONFIG", WriteShimConfig(*world_, kCrunTool).c_str(), 1);
  }
  static void TearDownTestSuite() {
    unsetenv("OCI_SECRETS_RUNTIME_CONFIG");
    StopWorld();
  }
  // `crun run` through the shim of a fresh bundle (in the test's own dir) running `script`,
  // with the annotation when `service` is not empty.
  CommandResult Run(const std::string& script, const std::string& service) {
    Bundle bundle(dir_, world_->hook_config);
    bundle.SetScript(script);
    if (!service.empty()) bundle.SetAnnotation(kEngineAnnotation, service);
    return bundle.Run({"oci-secrets-runtime", BinPath("oci-secrets-runtime")},
                      "ocs-shim-" + std::to_string(getpid()));
  }

  TempDir dir_;
};

TEST_F(EngineCrunShimTest, OptedInContainerReadsSecretWithItsMode) {
  EXPECT_TRUE(ReadsTheSecretWithItsMode(Run(ReadSecretScript(), kEngineService), *world_));
}

TEST_F(EngineCrunShimTest, ContainerWithoutAnnotationIsUntouched) {
  EXPECT_TRUE(FindsNoSecretsDir(Run(AbsentScript(), "")));
}

TEST_F(EngineCrunShimTest, ManagerDownFailsTheStartWithTheHooksLine) {
  EngineWorld::ManagerDown down(world_);
  // crun exits 255 (its -1) when a hook fails, and the shim passes crun's status on.
  EXPECT_TRUE(RefusedByTheHookManagerDown(Run("echo started", kEngineService), 255));
}

}  // namespace
}  // namespace ocisecrets::itest
