// The seccomp filters and process hardening of shared/sandbox.h. Filters are irreversible,
// so every case runs in a forked child that reports each probe's errno through a pipe. A
// control run without the filter shows the same probes succeed (or fail for another
// reason), so a pass means the filter stopped them.
#include "shared/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/requirements.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

namespace fs = std::filesystem;

constexpr int kProbeFalse = 100000;

struct Probe {
  const char* description;
  std::function<long()> call;   // the syscall's result, errno set on -1; or -1 for "no"
  bool sanitizer_exempt = false;  // allowed in ASan builds for the sanitizer runtime
};

using ::ocisecrets::testing::TempDir;

// Runs setup (may install a filter; returns false to fail) then each probe in a child;
// returns each probe's errno (0 = it succeeded), or an empty vector if the child failed.
std::vector<int> RunProbes(const std::function<bool()>& setup, const std::vector<Probe>& probes) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    // A private mount namespace: a probe that is not stopped must not touch the host.
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      _exit(90);
    }
    if (!setup()) _exit(91);
    for (const auto& p : probes) {
      errno = 0;
      long r = p.call();
      // -1 without errno is a probe's own "no": report it as kProbeFalse.
      int err = r == -1 ? (errno != 0 ? errno : kProbeFalse) : 0;
      if (write(fds[1], &err, sizeof err) != sizeof err) _exit(92);
    }
    _exit(0);
  }
  close(fds[1]);
  std::vector<int> out;
  int err;
  while (read(fds[0], &err, sizeof err) == sizeof err) out.push_back(err);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return out;
}

long Sys(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  return syscall(nr, a, b, c, d, e);
}

// What the hook must never be able to do, whatever an image author feeds it.
std::vector<Probe> ForbiddenForHook(const std::string& dir) {
  static std::string d;
  d = dir;
  return {
      {"mount(2) of a path string (CVE-2024-0132's primitive)",
       [] { return long(mount("none", d.c_str(), "tmpfs", 0, nullptr)); }},
      {"execve of any program", [] {
         char* argv[] = {nullptr};
         return long(execve("/nonexistent-oci-secrets", argv, argv));
       }},
      {"ptrace of another process",
       [] { return ptrace(PTRACE_PEEKUSER, getppid(), nullptr, nullptr); }, true},
      {"a netlink socket", [] { return long(socket(AF_NETLINK, SOCK_RAW, 0)); }},
      {"a packet socket", [] { return long(socket(AF_PACKET, SOCK_RAW, 0)); }},
      {"setns into a network namespace", [] {
         int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
         return long(setns(fd, CLONE_NEWNET));
       }},
      {"unshare", [] { return long(unshare(CLONE_NEWUTS)); }},
      {"kill of another process", [] { return long(kill(getppid(), 0)); }, true},
      {"unlinkat", [] { return long(unlinkat(AT_FDCWD, (d + "/victim").c_str(), 0)); }},
      {"symlinkat", [] { return long(symlinkat("/etc", AT_FDCWD, (d + "/link").c_str())); }},
      {"renameat", [] {
         return long(renameat(AT_FDCWD, (d + "/victim").c_str(), AT_FDCWD, (d + "/moved").c_str()));
       }},
      {"linkat", [] {
         return long(linkat(AT_FDCWD, (d + "/victim").c_str(), AT_FDCWD, (d + "/hard").c_str(), 0));
       }},
      {"chroot", [] { return long(chroot(d.c_str())); }},
      {"umount2 without MNT_DETACH", [] { return long(umount2(d.c_str(), 0)); }},
      {"umount2 with MNT_FORCE", [] { return long(umount2(d.c_str(), MNT_FORCE | MNT_DETACH)); }},
      {"setuid", [] { return long(setuid(0)); }},
      {"PR_SET_DUMPABLE 1", [] { return long(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)); }, true},
      {"TIOCSTI terminal injection", [] {
         char c = 'x';
         return long(ioctl(0, TIOCSTI, &c));
       }},
      {"open_tree (clone a host mount)",
       [] { return Sys(SYS_open_tree, AT_FDCWD, long(d.c_str()), 1 /* OPEN_TREE_CLONE */); }},
      {"bpf", [] { return Sys(SYS_bpf, 0, 0, 0); }},
      {"init_module", [] { return Sys(SYS_init_module, 0, 0, 0); }},
  };
}

// What the hook needs and must keep.
std::vector<Probe> AllowedForHook(const std::string& dir) {
  static std::string d;
  d = dir;
  return {
      {"openat", [] { return long(open("/dev/null", O_RDONLY | O_CLOEXEC)); }},
      {"mkdirat", [] { return long(mkdirat(AT_FDCWD, (d + "/newdir").c_str(), 0755)); }},
      {"a unix socket", [] { return long(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)); }},
      {"an IPv6 socket (remote manager over TLS)",
       [] { return long(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)); }},
      {"fsopen tmpfs", [] { return Sys(SYS_fsopen, long("tmpfs"), FSOPEN_CLOEXEC); }},
      {"setns into a mount namespace", [] {
         int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
         return long(setns(fd, CLONE_NEWNS));
       }},
      {"pidfd_open of ourselves", [] { return Sys(SYS_pidfd_open, getpid(), 0); }},
      {"kill of ourselves with signal 0", [] { return long(kill(getpid(), 0)); }},
      {"pidfd_send_signal 0 (refresh: is the container's init alive?)", [] {
         long fd = Sys(SYS_pidfd_open, getpid(), 0);
         return Sys(SYS_pidfd_send_signal, fd, 0, 0, 0);
       }},
      {"alarm (refresh: its deadline)", [] { return long(alarm(0)); }},
      {"fchdir (refresh: into the old tmpfs to detach it)", [] {
         int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
         return long(fchdir(fd));
       }},
      {"PR_SET_DUMPABLE 0", [] { return long(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)); }},
      {"getrandom", [] {
         char buf[16];
         return long(getrandom(buf, sizeof buf, 0));
       }},
  };
}

bool MakeVictim(const std::string& dir) {
  std::ofstream(dir + "/victim") << "x";
  return fs::exists(dir + "/victim");
}

TEST(SandboxTest, HookFilterStopsEveryForbiddenCall) {
  TempDir tmp;
  ASSERT_TRUE(MakeVictim(tmp.path()));
  auto probes = ForbiddenForHook(tmp.path());
  auto got = RunProbes([] { return InstallSyscallFilter(SyscallPolicy::kHook).ok(); }, probes);
  ASSERT_EQ(got.size(), probes.size()) << "the child failed to install the filter";
  for (std::size_t i = 0; i < probes.size(); ++i) {
    if (probes[i].sanitizer_exempt && SandboxRelaxedForSanitizer()) continue;
    EXPECT_EQ(got[i], EPERM) << probes[i].description << ": got " << std::strerror(got[i]);
  }
  EXPECT_TRUE(fs::exists(tmp.path() + "/victim")) << "the filtered child removed a file";
  EXPECT_FALSE(fs::exists(tmp.path() + "/link"));
}

TEST(SandboxTest, WithoutFilterTheForbiddenProbesAreNotRefusedByPermission) {
  // Control: as root, unfiltered, these calls work or fail for another reason (ENOENT,
  // ESRCH, ENOTTY...). So EPERM in the test above can only come from the filter.
  TempDir tmp;
  ASSERT_TRUE(MakeVictim(tmp.path()));
  ASSERT_TRUE(testing::IsRoot("the unfiltered control run"));
  auto probes = ForbiddenForHook(tmp.path());
  auto got = RunProbes([] { return true; }, probes);
  ASSERT_EQ(got.size(), probes.size());
  for (std::size_t i = 0; i < probes.size(); ++i) {
    EXPECT_NE(got[i], EPERM) << probes[i].description;
  }
}

TEST(SandboxTest, HookFilterKeepsWhatTheHookNeeds) {
  TempDir tmp;
  auto probes = AllowedForHook(tmp.path());
  auto got = RunProbes([] { return InstallSyscallFilter(SyscallPolicy::kHook).ok(); }, probes);
  ASSERT_EQ(got.size(), probes.size()) << "the child failed to install the filter";
  for (std::size_t i = 0; i < probes.size(); ++i) {
    EXPECT_EQ(got[i], 0) << probes[i].description << ": got " << std::strerror(got[i]);
  }
}

TEST(SandboxTest, ManagerFilterStopsExecMountAndNamespacesButKeepsThreads) {
  TempDir tmp;
  static std::string d;
  d = tmp.path();
  std::vector<Probe> probes = {
      {"execve", [] {
         char* argv[] = {nullptr};
         return long(execve("/nonexistent-oci-secrets", argv, argv));
       }},
      {"mount(2)", [] { return long(mount("none", d.c_str(), "tmpfs", 0, nullptr)); }},
      {"unshare", [] { return long(unshare(CLONE_NEWNET)); }},
      {"setuid", [] { return long(setuid(0)); }},
      {"clone into a new network namespace",
       [] { return Sys(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0); }},
      {"ptrace", [] { return ptrace(PTRACE_PEEKUSER, getppid(), nullptr, nullptr); }, true},
  };
  auto got = RunProbes([] { return InstallSyscallFilter(SyscallPolicy::kManager).ok(); }, probes);
  ASSERT_EQ(got.size(), probes.size()) << "the child failed to install the filter";
  for (std::size_t i = 0; i < probes.size(); ++i) {
    if (probes[i].sanitizer_exempt && SandboxRelaxedForSanitizer()) continue;
    EXPECT_EQ(got[i], EPERM) << probes[i].description << ": got " << std::strerror(got[i]);
  }
  // A threaded server still starts threads and uses files and sockets.
  std::vector<Probe> allowed = {
      {"a thread", [] {
         int v = 0;
         std::thread t([&] { v = 1; });
         t.join();
         return v == 1 ? 0L : -1L;
       }},
      {"socketpair", [] {
         int sv[2];
         return long(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
       }},
      {"a file", [] { return long(open((d + "/f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)); }},
  };
  got = RunProbes([] { return InstallSyscallFilter(SyscallPolicy::kManager).ok(); }, allowed);
  ASSERT_EQ(got.size(), allowed.size());
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    EXPECT_EQ(got[i], 0) << allowed[i].description << ": got " << std::strerror(got[i]);
  }
}

// Reads "VmLck:   123 kB" from /proc/self/status.
long LockedKiB() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmLck:") {
      long v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return -1;
}

TEST(SandboxTest, HardenedProcessIsNotDumpableHasNoCoreLimitAndLocksMemory) {
  std::vector<Probe> probes = {
      {"dumpable is 0", [] { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0L : -1L; }},
      {"RLIMIT_CORE is 0/0", [] {
         struct rlimit r;
         getrlimit(RLIMIT_CORE, &r);
         return r.rlim_cur == 0 && r.rlim_max == 0 ? 0L : -1L;
       }},
      {"touched memory is locked", [] {
         if (SandboxRelaxedForSanitizer()) return 0L;
         std::vector<char> big(1 << 20, 'x');
         return LockedKiB() >= 1024 ? 0L : -1L;
       }},
  };
  auto setup = [] {
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &unlimited);
    std::string warning;
    return HardenProcess({.lock_memory = true, .require_memory_lock = true}, &warning).ok();
  };
  auto got = RunProbes(setup, probes);
  ASSERT_EQ(got.size(), probes.size()) << "HardenProcess failed in the child";
  for (std::size_t i = 0; i < probes.size(); ++i) EXPECT_EQ(got[i], 0) << probes[i].description;
}

TEST(SandboxTest, CrashOfHardenedProcessLeavesNoCore) {
  // The kernel writes a core (core_pattern "core" puts it in the cwd) unless the process is
  // not dumpable or its RLIMIT_CORE is 0. The child asks for unlimited cores first, so only
  // HardenProcess can stop the dump.
  TempDir tmp;
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(tmp.path().c_str()) != 0) _exit(90);
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &unlimited);
    std::string warning;
    if (!HardenProcess({.lock_memory = false}, &warning).ok()) _exit(91);
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    _exit(92);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
  EXPECT_FALSE(WCOREDUMP(status)) << "the kernel dumped core";
  for (const auto& e : fs::directory_iterator(tmp.path())) {
    ADD_FAILURE() << "left behind: " << e.path();
  }
}

}  // namespace
}  // namespace ocisecrets
