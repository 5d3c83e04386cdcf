#include "manager/node/launcher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A stand-in for the hook: its stdin to a file named by its pid, then the answer.
std::string WriteHook(const testing::TempDir& dir, const std::string& body) {
  std::string path = dir / "hook.sh";
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0700);
  return path;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LauncherTest, RunsTheHookWithThePlanOnStdinAndReturnsItsAnswer) {
  testing::TempDir dir;
  auto launcher = Launcher::Start(WriteHook(
      dir, "cat > " + dir.path() + "/plan.$$\nmv " + dir.path() + "/plan.$$ " + dir.path() +
               "/plan\necho \"$1 argc=$#\"\necho 'refreshed files=1'\n"));
  ASSERT_TRUE(launcher.ok()) << launcher.status().message();
  auto out = (*launcher)->RunRefresh("{\"Pid\":1}", steady_clock::now() + milliseconds(10000));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "refresh argc=1\nrefreshed files=1\n");
  EXPECT_EQ(Slurp(dir / "plan"), "{\"Pid\":1}");
}

TEST(LauncherTest, ServesSeveralRefreshesAtOnce) {
  testing::TempDir dir;
  auto launcher = Launcher::Start(WriteHook(dir, "read line\nsleep 0.2\necho \"got $line\"\n"));
  ASSERT_TRUE(launcher.ok()) << launcher.status().message();
  std::vector<std::thread> threads;
  std::vector<std::string> answers(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto out = (*launcher)->RunRefresh("plan" + std::to_string(i) + "\n",
                                         steady_clock::now() + milliseconds(10000));
      answers[i] = out.ok() ? *out : out.status().message();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(answers[i], "got plan" + std::to_string(i) + "\n");
}

TEST(LauncherTest, GivesTheHookNoOtherOpenFileAndAFixedEnvironment) {
  testing::TempDir dir;
  auto launcher = Launcher::Start(WriteHook(dir, "ls /proc/self/fd | sort -n | tr '\\n' ' '\necho\nenv | sort\n"));
  ASSERT_TRUE(launcher.ok()) << launcher.status().message();
  auto out = (*launcher)->RunRefresh("", steady_clock::now() + milliseconds(10000));
  ASSERT_TRUE(out.ok()) << out.status().message();
  // 0, 1, 2 and the one ls itself opens (its directory fd, 3).
  EXPECT_EQ(out->substr(0, out->find('\n')), "0 1 2 3 ");
  EXPECT_NE(out->find("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), std::string::npos);
  EXPECT_EQ(out->find("HOME="), std::string::npos);
}

TEST(LauncherTest, AHookThatDoesNotAnswerInTimeIsDeadlineExceeded) {
  testing::TempDir dir;
  auto launcher = Launcher::Start(WriteHook(dir, "exec sleep 5\n"));
  ASSERT_TRUE(launcher.ok()) << launcher.status().message();
  auto out = (*launcher)->RunRefresh("{}", steady_clock::now() + milliseconds(200));
  EXPECT_TRUE(testing::IsError(out.status(), StatusCode::kDeadlineExceeded,
                      "oci-secrets-hook refresh did not answer within"))
      << out.status().message();
}

TEST(LauncherTest, AMissingHookAnswersWithTheExecError) {
  testing::TempDir dir;
  auto launcher = Launcher::Start(dir / "absent");
  ASSERT_TRUE(launcher.ok()) << launcher.status().message();
  auto out = (*launcher)->RunRefresh("{}", steady_clock::now() + milliseconds(10000));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NE(out->find("oci-secrets-hook: refresh: exec " + dir.File("absent")), std::string::npos)
      << *out;
}

}  // namespace
}  // namespace ocisecrets
