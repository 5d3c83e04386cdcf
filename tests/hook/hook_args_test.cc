// The hook's command line, every case, without a process (hook/stages/hook_args.h).
#include "hook/stages/hook_args.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace ocisecrets::hook {
namespace {

HookArgs Parse(std::vector<const char*> args, bool tty = false, const char* env = nullptr) {
  args.insert(args.begin(), "oci-secrets-hook");
  return ParseHookArgs(static_cast<int>(args.size()), args.data(), tty, env);
}

// What ReportHookArgs writes on each stream, and its exit code.
struct Report {
  int exit_code;
  std::string out;
  std::string err;
};

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buf[512];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

Report ReportOf(const HookArgs& args) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  EXPECT_NE(out, nullptr);
  EXPECT_NE(err, nullptr);
  const int code = ReportHookArgs(args, out, err);
  return {code, ReadAll(out), ReadAll(err)};
}

TEST(HookArgsTest, UnknownStageIsAUsageErrorOnStderrWithExit2) {
  HookArgs a = Parse({"bogus"});
  EXPECT_EQ(a.action, HookArgs::Action::kUsageError);
  Report r = ReportOf(a);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, kHookUsage);
  EXPECT_NE(r.err.find("usage: oci-secrets-hook [--config FILE]"), std::string::npos);
}

TEST(HookArgsTest, HelpPrintsTheUsageOnStdoutWithExit0) {
  for (const char* flag : {"-h", "--help"}) {
    HookArgs a = Parse({flag});
    EXPECT_EQ(a.action, HookArgs::Action::kHelp) << flag;
    Report r = ReportOf(a);
    EXPECT_EQ(r.exit_code, 0) << flag;
    EXPECT_EQ(r.out, kHookUsage) << flag;
    EXPECT_EQ(r.err, "") << flag;
  }
  // Help is answered where it stands, before a stage given earlier is looked at.
  EXPECT_EQ(Parse({"prestart", "--help"}).action, HookArgs::Action::kHelp);
}

TEST(HookArgsTest, EveryStageNameRuns) {
  struct Case {
    const char* name;
    Stage stage;
  } cases[] = {{"prestart", Stage::kPrestart},
               {"createRuntime", Stage::kCreateRuntime},
               {"poststop", Stage::kPoststop}};
  for (const Case& c : cases) {
    HookArgs a = Parse({c.name}, /*tty=*/true);
    ASSERT_EQ(a.action, HookArgs::Action::kRun) << c.name;
    EXPECT_EQ(a.stage, c.stage) << c.name;
    EXPECT_EQ(a.source.path, kDefaultConfigPath) << c.name;
    EXPECT_FALSE(a.source.must_exist) << c.name;
    EXPECT_EQ(ReportOf(a).exit_code, -1) << c.name;
  }
}

TEST(HookArgsTest, RefreshIsTheDaemonsLiveUpdateAndTakesNothingElse) {
  for (const auto& args : {std::vector<const char*>{"refresh"},
                           std::vector<const char*>{"--config", "/etc/h.json", "refresh"}}) {
    HookArgs a = Parse(args, /*tty=*/true);
    EXPECT_EQ(a.action, HookArgs::Action::kRefresh) << args.size();
    EXPECT_EQ(ReportOf(a).exit_code, -1) << args.size();
  }
  EXPECT_EQ(Parse({"refresh", "prestart"}).action, HookArgs::Action::kUsageError);
  EXPECT_EQ(Parse({"refresh", "--verbose"}).action, HookArgs::Action::kUsageError);
  EXPECT_EQ(ParseStage("refresh"), std::nullopt) << "not a runtime stage";
  EXPECT_NE(std::string(kHookUsage).find("oci-secrets-hook refresh\n"), std::string::npos);
}

TEST(HookArgsTest, BothFormsOfConfigNameAConfigThatMustExist) {
  for (const auto& args : {std::vector<const char*>{"--config", "/etc/h.json", "prestart"},
                           std::vector<const char*>{"prestart", "--config=/etc/h.json"}}) {
    HookArgs a = Parse(args, false, "/from/env.json");
    ASSERT_EQ(a.action, HookArgs::Action::kRun) << args[0];
    EXPECT_EQ(a.stage, Stage::kPrestart) << args[0];
    EXPECT_EQ(a.source.path, "/etc/h.json") << args[0];
    EXPECT_TRUE(a.source.must_exist) << args[0];
  }
  // The value of --config is taken as it is, even when it starts with '-'.
  EXPECT_EQ(Parse({"--config", "-odd", "poststop"}).source.path, "-odd");
}

TEST(HookArgsTest, ConfigWithoutItsValueIsAUsageError) {
  EXPECT_EQ(Parse({"prestart", "--config"}).action, HookArgs::Action::kUsageError);
  EXPECT_EQ(ReportOf(Parse({"--config"})).exit_code, 2);
}

TEST(HookArgsTest, TheEnvironmentNamesTheConfigOnlyWithoutConfigFlag) {
  HookArgs from_env = Parse({"prestart"}, false, "/from/env.json");
  ASSERT_EQ(from_env.action, HookArgs::Action::kRun);
  EXPECT_EQ(from_env.source.path, "/from/env.json");
  EXPECT_TRUE(from_env.source.must_exist);

  HookArgs flag_wins = Parse({"--config=/flag.json", "prestart"}, false, "/from/env.json");
  EXPECT_EQ(flag_wins.source.path, "/flag.json");

  HookArgs empty_env = Parse({"prestart"}, false, "");
  EXPECT_EQ(empty_env.source.path, kDefaultConfigPath);
  EXPECT_FALSE(empty_env.source.must_exist);
}

TEST(HookArgsTest, ASecondStageOrAnUnknownOptionIsRefused) {
  struct Case {
    const char* description;
    std::vector<const char*> args;
  } cases[] = {
      {"a second stage", {"prestart", "poststop"}},
      {"an unknown option", {"--verbose", "prestart"}},
      {"an empty argument", {"prestart", ""}},
  };
  for (const Case& c : cases) {
    HookArgs a = Parse(c.args);
    EXPECT_EQ(a.action, HookArgs::Action::kUsageError) << c.description;
    Report r = ReportOf(a);
    EXPECT_EQ(r.exit_code, 2) << c.description;
    EXPECT_EQ(r.err, kHookUsage) << c.description;
  }
}

// hooks.d files give no stage: the state picks it. By hand, with a terminal on stdin and
// no state coming, the hook says how it is meant to be run instead of waiting.
TEST(HookArgsTest, NoStageReadsItFromTheStateUnlessStdinIsATerminal) {
  HookArgs piped = Parse({}, /*tty=*/false);
  ASSERT_EQ(piped.action, HookArgs::Action::kRun);
  EXPECT_EQ(piped.stage, Stage::kFromState);

  HookArgs by_hand = Parse({}, /*tty=*/true);
  EXPECT_EQ(by_hand.action, HookArgs::Action::kUsageError);
  EXPECT_EQ(ReportOf(by_hand).exit_code, 2);
}

}  // namespace
}  // namespace ocisecrets::hook
