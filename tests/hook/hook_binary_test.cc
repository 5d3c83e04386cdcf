// The built oci-secrets-hook's command line, run as a runtime or a person runs it: what
// hook_args_test checks of the parser must hold for the binary, after its sandbox.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace ocisecrets::hook {
namespace {

using itest::BinPath;
using itest::RunCommand;

// Runtimes start the hook with its entry's own env, which names no sanitizer options; a
// sanitizer build's hook then keeps its built-in ones (no leak check: it needs ptrace,
// which the hook's seccomp filter forbids). Clear what sanitize.sh exports for the tests.
const std::vector<std::string> kHookEnv = {"ASAN_OPTIONS="};

TEST(HookBinaryTest, UnknownStageExits2WithTheUsageOnStderr) {
  auto r = RunCommand({BinPath("oci-secrets-hook"), "bogus"}, {}, kHookEnv);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("usage: oci-secrets-hook [--config FILE]", 0), 0u) << r.err;
}

TEST(HookBinaryTest, HelpExits0WithTheUsageOnStdout) {
  auto r = RunCommand({BinPath("oci-secrets-hook"), "--help"}, {}, kHookEnv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("usage: oci-secrets-hook [--config FILE]", 0), 0u) << r.out;
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace ocisecrets::hook
