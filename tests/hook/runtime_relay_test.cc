// Finding the runtime's JSON log on its command line, and the entry written there.
#include "hook/stages/runtime_relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "test_util.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::hook {
namespace {

using ::ocisecrets::testing::TempDir;

std::string Cmdline(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += a + std::string(1, '\0');
  return out;
}

struct LogPathCase {
  const char* description;
  std::vector<std::string> args;
  std::optional<std::string> want;
};

TEST(RuntimeRelayTest, FindsTheJsonLogOnlyWhereTheRuntimeNamesOne) {
  const std::vector<LogPathCase> cases = {
      {"conmon's crun: --log-format=json --log FILE",
       {"/usr/bin/crun", "--log-format=json", "--log", "/run/c/oci-log", "create", "--bundle",
        "/b", "id"},
       "/run/c/oci-log"},
      {"--log=FILE and --log-format json, in either order",
       {"runc", "--log=/run/c/log.json", "--log-format", "json", "create", "id"},
       "/run/c/log.json"},
      {"text log format: not ours to write JSON into",
       {"crun", "--log-format=text", "--log", "/run/c/oci-log", "create", "id"},
       std::nullopt},
      {"no log format given: the runtime writes text", {"crun", "--log", "/run/l", "create"},
       std::nullopt},
      {"no log file", {"crun", "--log-format=json", "create", "id"}, std::nullopt},
      {"relative path", {"crun", "--log-format=json", "--log=oci-log", "create"}, std::nullopt},
      {"--log after the subcommand is not a global option",
       {"crun", "--log-format=json", "create", "--log", "/run/l", "id"}, std::nullopt},
      {"--log without its value at the end", {"crun", "--log-format=json", "--log"},
       std::nullopt},
      {"empty command line", {}, std::nullopt},
  };
  for (const LogPathCase& c : cases) {
    EXPECT_EQ(RuntimeJsonLogPath(Cmdline(c.args)), c.want) << c.description;
  }
}

TEST(RuntimeRelayTest, LogLineIsOneJsonObjectInTheRuntimesFormat) {
  std::string line = RuntimeJsonLogLine(
      "oci-secrets-hook: prestart: lease: cannot reach the manager \"x\"", "2026-01-02T03:04:05Z");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(entry.is_object()) << line;
  EXPECT_EQ(entry.value("msg", ""),
            "oci-secrets-hook: prestart: lease: cannot reach the manager \"x\"");
  EXPECT_EQ(entry.value("level", ""), "error");
  EXPECT_EQ(entry.value("time", ""), "2026-01-02T03:04:05Z");
}

TEST(RuntimeRelayTest, LogLineSurvivesBytesThatAreNotUtf8) {
  std::string line = RuntimeJsonLogLine(std::string("bad \xff byte"), "t");
  nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(entry.is_object()) << line;
  EXPECT_NE(entry.value("msg", "").find("bad "), std::string::npos);
}

// A stand-in runtime: `sh -s -- --log-format=json --log LOG`, waiting on its stdin, with
// stderr on a pipe the test reads (as conmon reads crun's). Killed and reaped at the end.
class FakeRuntime {
 public:
  explicit FakeRuntime(const std::string& log) {
    int in[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(err[1], 2);
      execl("/bin/sh", "sh", "-s", "--", "--log-format=json", "--log", log.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(err[1]);
    stdin_ = in[1];
    stderr_ = err[0];
    // Running sh, not the test binary it was forked from, once it answers.
    const std::string ready = "echo ready >&2\n";
    if (write(stdin_, ready.data(), ready.size()) != static_cast<ssize_t>(ready.size())) return;
    std::string got;
    char c;
    while (got != "ready\n" && read(stderr_, &c, 1) == 1) got += c;
    started_ = got == "ready\n";
  }
  ~FakeRuntime() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdin_ >= 0) close(stdin_);
    if (stderr_ >= 0) close(stderr_);
  }
  pid_t pid() const { return started_ ? pid_ : -1; }
  // What it got on stderr so far (waits until it exits: its stdin is closed first).
  std::string Stderr() {
    close(stdin_);
    stdin_ = -1;
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = read(stderr_, buf, sizeof(buf))) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

 private:
  pid_t pid_ = -1;
  bool started_ = false;
  int stdin_ = -1;
  int stderr_ = -1;
};

TEST(RuntimeRelayTest, FailureThatStopsTheContainerGoesToStderrAndTheJsonLog) {
  TempDir dir;
  std::string log = dir / "oci-log";
  testing::WriteFile(log, "");
  FakeRuntime runtime(log);
  ASSERT_GT(runtime.pid(), 0);
  RelayToRuntime(runtime.pid(), "oci-secrets-hook: prestart: lease: down", /*stops_container=*/true);
  EXPECT_EQ(runtime.Stderr(), "oci-secrets-hook: prestart: lease: down\n");
  std::string written = testing::ReadFile(log);
  nlohmann::json entry = nlohmann::json::parse(written, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(entry.is_object()) << written;
  EXPECT_EQ(entry.value("msg", ""), "oci-secrets-hook: prestart: lease: down");
  EXPECT_EQ(entry.value("level", ""), "error");
}

TEST(RuntimeRelayTest, PoststopWarningLeavesTheRuntimesLogAlone) {
  TempDir dir;
  std::string log = dir / "oci-log";
  testing::WriteFile(log, "");
  FakeRuntime runtime(log);
  ASSERT_GT(runtime.pid(), 0);
  RelayToRuntime(runtime.pid(), "oci-secrets-hook: poststop: end lease: down",
                 /*stops_container=*/false);
  EXPECT_EQ(runtime.Stderr(), "oci-secrets-hook: poststop: end lease: down\n");
  EXPECT_EQ(testing::ReadFile(log), "");
}

TEST(RuntimeRelayTest, NeverCreatesTheLogTheRuntimeNames) {
  TempDir dir;
  std::string log = dir / "missing-log";
  FakeRuntime runtime(log);
  ASSERT_GT(runtime.pid(), 0);
  RelayToRuntime(runtime.pid(), "oci-secrets-hook: prestart: x", /*stops_container=*/true);
  EXPECT_EQ(runtime.Stderr(), "oci-secrets-hook: prestart: x\n");
  EXPECT_NE(access(log.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace ocisecrets::hook
