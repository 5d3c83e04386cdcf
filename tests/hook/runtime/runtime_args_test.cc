#include "hook/runtime/runtime_args.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace ocisecrets {
namespace {

struct ArgsCase {
  std::string description;
  std::vector<std::string> args;
  std::string subcommand;
  std::optional<std::string> bundle;
  std::optional<std::string> log;
  std::string log_format;
};

class ParseRuntimeArgsTest : public testing::TestWithParam<ArgsCase> {};

TEST_P(ParseRuntimeArgsTest, FindsSubcommandBundleAndLog) {
  const ArgsCase& c = GetParam();
  Result<RuntimeInvocation> inv = ParseRuntimeArgs(c.args);
  ASSERT_TRUE(inv.ok()) << c.description << ": " << inv.status().ToString();
  EXPECT_EQ(inv->subcommand, c.subcommand) << c.description;
  EXPECT_EQ(inv->bundle, c.bundle) << c.description;
  EXPECT_EQ(inv->log_path, c.log) << c.description;
  EXPECT_EQ(inv->log_format, c.log_format) << c.description;
  if (!c.subcommand.empty()) {
    EXPECT_EQ(c.args[inv->subcommand_index], c.subcommand);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseRuntimeArgsTest,
    testing::Values(
        ArgsCase{"containerd's create call",
                 {"--root", "/run/containerd/runc/default", "--log", "/run/x/log.json",
                  "--log-format", "json", "create", "--bundle", "/run/b", "--pid-file",
                  "/run/b/init.pid", "abc"},
                 "create", "/run/b", "/run/x/log.json", "json"},
        ArgsCase{"short -b and equals forms of global flags",
                 {"--root=/r", "--log=/l", "--log-format=text", "--systemd-cgroup", "create",
                  "-b", "bundle", "id"},
                 "create", "bundle", "/l", "text"},
        ArgsCase{"bundle with equals, single dash globals",
                 {"-root", "/r", "-debug", "run", "--bundle=/b", "id"}, "run", "/b",
                 std::nullopt, "text"},
        ArgsCase{"no bundle means the working directory",
                 {"create", "--pid-file", "p", "id"}, "create", std::nullopt, std::nullopt,
                 "text"},
        ArgsCase{"bundle flag after the container id",
                 {"run", "id", "-b", "/late"}, "run", "/late", std::nullopt, "text"},
        ArgsCase{"a value flag's value is not taken for the bundle",
                 {"create", "--console-socket", "-b", "id"}, "create", std::nullopt,
                 std::nullopt, "text"},
        ArgsCase{"other subcommands carry no bundle",
                 {"--root", "/r", "start", "id"}, "start", std::nullopt, std::nullopt, "text"},
        ArgsCase{"delete with a bundle-like flag is not a create",
                 {"delete", "-b", "/x", "id"}, "delete", std::nullopt, std::nullopt, "text"},
        ArgsCase{"unknown boolean global flag before the subcommand",
                 {"--future-bool", "create", "-b", "/b", "id"}, "create", "/b", std::nullopt,
                 "text"},
        ArgsCase{"unknown global flag with a value",
                 {"--future-flag", "value", "create", "-b", "/b", "id"}, "create", "/b",
                 std::nullopt, "text"},
        ArgsCase{"crun's global flags",
                 {"--cgroup-manager", "cgroupfs", "--log-level", "debug", "create", "--bundle",
                  "/b", "id"},
                 "create", "/b", std::nullopt, "text"},
        ArgsCase{"double dash ends the global flags",
                 {"--debug", "--", "create", "-b", "/b", "id"}, "create", "/b", std::nullopt,
                 "text"},
        ArgsCase{"version only", {"--version"}, "", std::nullopt, std::nullopt, "text"},
        ArgsCase{"nothing at all", {}, "", std::nullopt, std::nullopt, "text"}),
    [](const testing::TestParamInfo<ArgsCase>& info) { return "Case" + std::to_string(info.index); });

TEST(ParseRuntimeArgsTest, RejectsBundleFlagWithoutValue) {
  Result<RuntimeInvocation> inv = ParseRuntimeArgs({"create", "id", "--bundle"});
  ASSERT_FALSE(inv.ok());
  EXPECT_NE(inv.status().message().find("--bundle"), std::string::npos);
}

TEST(ParseRuntimeArgsTest, RejectsGlobalValueFlagWithoutValue) {
  EXPECT_FALSE(ParseRuntimeArgs({"--root"}).ok());
}

TEST(ParseRuntimeArgsTest, OnlyCreateAndRunCreateContainers) {
  for (const char* sub : {"create", "run"}) {
    RuntimeInvocation inv;
    inv.subcommand = sub;
    EXPECT_TRUE(CreatesContainer(inv)) << sub;
  }
  for (const char* sub : {"start", "delete", "kill", "state", "exec", ""}) {
    RuntimeInvocation inv;
    inv.subcommand = sub;
    EXPECT_FALSE(CreatesContainer(inv)) << sub;
  }
}

}  // namespace
}  // namespace ocisecrets
