// The precompiled seccomp program of the hook (hook/sandbox/hook_filter.h): the same
// instructions libseccomp compiles at run time, for any pid, and it loads and filters.
// What the filter allows and denies is tested in tests/shared/sandbox_test.cc.
#include "hook/sandbox/hook_filter.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "shared/sandbox.h"

namespace ocisecrets::hook {
namespace {

bool SameProgram(const std::vector<sock_filter>& a, const std::vector<sock_filter>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(sock_filter)) == 0;
}

TEST(HookFilterTest, PrecompiledProgramEqualsLibseccompsForEveryPid) {
  // A build choice, not the machine: cross and sanitizer builds compile the filter with
  // libseccomp at run time and have no precompiled program to compare.
  if (!HookFilterIsPrecompiled()) GTEST_SKIP() << "cross or sanitizer build: no precompiled program";
  struct Case {
    const char* description;
    pid_t pid;
  };
  for (const Case& c : {Case{"this process", getpid()}, Case{"pid 1", 1},
                        Case{"the largest pid_max", 4194304}, Case{"a small pid", 300}}) {
    SCOPED_TRACE(c.description);
    Result<std::vector<sock_filter>> expected = ExportSyscallFilter(SyscallPolicy::kHook, c.pid);
    ASSERT_TRUE(expected.ok()) << expected.status().message();
    std::vector<sock_filter> precompiled = PrecompiledHookFilter(c.pid);
    EXPECT_GT(precompiled.size(), 10u);
    EXPECT_TRUE(SameProgram(precompiled, *expected));
  }
  // The pid is really in the program: another pid gives another program.
  EXPECT_FALSE(SameProgram(PrecompiledHookFilter(1), PrecompiledHookFilter(2)));
}

// In a child: install, then probe one allowed and three denied calls.
TEST(HookFilterTest, InstalledFilterAllowsTheHooksCallsAndDeniesOthers) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!InstallHookSyscallFilter().ok()) _exit(10);
    if (kill(getpid(), 0) != 0) _exit(11);                          // itself: allowed
    // another process (ASan builds let the sanitizer runtime signal)
    if (!SandboxRelaxedForSanitizer() && (kill(getppid(), 0) != -1 || errno != EPERM)) _exit(12);
    if (socket(AF_NETLINK, SOCK_RAW, 0) != -1 || errno != EPERM) _exit(13);
    if (getpgid(0) < 0) _exit(14);                                  // allowed
    int fds[2];
    if (pipe(fds) != -1 || errno != EPERM) _exit(15);  // pipe/pipe2: not on the list
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "probe that failed: exit code " << WEXITSTATUS(status);
}

}  // namespace
}  // namespace ocisecrets::hook
