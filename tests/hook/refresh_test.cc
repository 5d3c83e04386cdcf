// `oci-secrets-hook refresh`, the built binary under its seccomp filter, against a stand-in
// container: a child in its own mount namespace, chrooted into a rootfs, with our tmpfs at
// /run/secrets built and attached as the start does. The child answers commands on a
// socket (read the file, read a descriptor it opened before, count its SIGHUPs, loop
// reading), so the test sees what a process in the container sees.
#include "hook/stages/refresh.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "hook/mount/safe_path.h"
#include "hook/mount/tmpfs_builder.h"
#include "shared/refresh_plan.h"
#include "test_util.h"
#include "tests/integration/harness.h"
#include "tests/testing/requirements.h"

namespace ocisecrets::hook {
namespace {

using itest::BinPath;
using itest::RunCommand;
using ::ocisecrets::testing::TempDir;

const std::vector<std::string> kHookEnv = {"ASAN_OPTIONS="};

volatile sig_atomic_t g_hups = 0;
extern "C" void CountHup(int) { g_hups = g_hups + 1; }

bool WholeValue(const std::string& s) {
  if (!s.starts_with("value-") || s.size() == 6) return false;
  return s.find_first_not_of("0123456789", 6) == std::string::npos;
}

std::string ReadPath(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "ERR " + std::string(std::strerror(errno));
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n < 0 ? "ERR read" : std::string(buf, static_cast<std::size_t>(n));
}

// The container's side: never returns.
[[noreturn]] void ContainerMain(const std::string& rootfs, int sock) {
  auto die = [](int code) { _exit(code); };
  if (unshare(CLONE_NEWNS) != 0) die(20);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die(21);
  // Our tmpfs at /run/secrets, as the start builds it.
  SecretBytes v0 = {'v', 'a', 'l', 'u', 'e', '-', '0'};
  TmpfsFile f;
  f.path = "db";
  f.data = &v0;
  Result<ScopedFd> tmpfs = BuildSecretsTmpfs({f}, TmpfsOptions{});
  if (!tmpfs.ok()) die(22);
  ScopedFd target(open((rootfs + "/run/secrets").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!AttachTmpfs(tmpfs->get(), target.get()).ok()) die(23);
  // A non-tmpfs mount where a secrets dir could be.
  if (mount("none", (rootfs + "/run/other").c_str(), "ramfs", 0, nullptr) != 0) die(24);
  if (chroot(rootfs.c_str()) != 0 || chdir("/") != 0) die(25);
  int held = open("/run/secrets/db", O_RDONLY | O_CLOEXEC);
  if (held < 0) die(26);
  struct sigaction sa {};
  sa.sa_handler = CountHup;
  sa.sa_flags = SA_RESTART;  // the reads and the socket go on through each SIGHUP
  sigaction(SIGHUP, &sa, nullptr);

  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, bad{0};
  std::string first_bad;
  std::thread reader;
  char cmd[64];
  for (;;) {
    ssize_t n = recv(sock, cmd, sizeof cmd - 1, 0);
    if (n <= 0) die(0);
    std::string c(cmd, static_cast<std::size_t>(n)), reply;
    if (c == "read") {
      reply = ReadPath("/run/secrets/db");
    } else if (c == "old") {
      char buf[64];
      ssize_t r = pread(held, buf, sizeof buf, 0);
      reply = r < 0 ? "ERR" : std::string(buf, static_cast<std::size_t>(r));
    } else if (c == "hups") {
      reply = std::to_string(g_hups);
    } else if (c == "loop") {
      reader = std::thread([&] {
        while (!stop) {
          std::string s = ReadPath("/run/secrets/db");
          ++reads;
          if (!WholeValue(s)) {
            if (bad++ == 0) first_bad = s;
          }
        }
      });
      reply = "ok";
    } else if (c == "stop") {
      stop = true;
      reader.join();
      reply = "reads=" + std::to_string(reads) + " bad=" + std::to_string(bad) + " " + first_bad;
    }
    if (send(sock, reply.data(), reply.size(), 0) < 0) die(27);
  }
}

// The mount lines of `mountinfo` that concern the test: under its temp dir or ours.
std::string OurMounts(const std::string& mountinfo, const std::string& dir) {
  std::string out;
  std::size_t pos = 0;
  while (pos < mountinfo.size()) {
    std::size_t eol = mountinfo.find('\n', pos);
    if (eol == std::string::npos) eol = mountinfo.size();
    std::string line = mountinfo.substr(pos, eol - pos);
    if (line.find(dir) != std::string::npos || line.find(" oci-secrets ") != std::string::npos) {
      out += line + "\n";
    }
    pos = eol + 1;
  }
  return out;
}

// Mounts at `mountpoint` in a mountinfo text, as "TYPE" each.
std::vector<std::string> MountsAt(const std::string& mountinfo, const std::string& mountpoint) {
  std::vector<std::string> types;
  std::size_t pos = 0;
  while (pos < mountinfo.size()) {
    std::size_t eol = mountinfo.find('\n', pos);
    if (eol == std::string::npos) eol = mountinfo.size();
    std::string line = mountinfo.substr(pos, eol - pos);
    pos = eol + 1;
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..."
    std::size_t f = 0;
    for (int i = 0; i < 4 && f != std::string::npos; ++i) f = line.find(' ', f + 1);
    if (f == std::string::npos) continue;
    std::size_t end = line.find(' ', f + 1);
    if (line.substr(f + 1, end - f - 1) != mountpoint) continue;
    std::size_t dash = line.find(" - ");
    types.push_back(line.substr(dash + 3, line.find(' ', dash + 3) - dash - 3));
  }
  return types;
}

class RefreshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(::ocisecrets::testing::IsRoot("mount namespaces and tmpfs mounts"));
    rootfs_ = dir_ / "rootfs";
    for (const char* d : {"", "/run", "/run/secrets", "/run/plain", "/run/other", "/etc"}) {
      ASSERT_EQ(mkdir((rootfs_ + d).c_str(), 0755), 0) << d;
    }
    ASSERT_EQ(symlink("/etc", (rootfs_ + "/run/link").c_str()), 0);
    host_before_ = OurMounts(testing::ReadFile("/proc/self/mountinfo"), dir_.path());
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    container_ = fork();
    ASSERT_GE(container_, 0);
    if (container_ == 0) {
      close(sv[0]);
      ContainerMain(rootfs_, sv[1]);
    }
    close(sv[1]);
    sock_ = sv[0];
    // Ready when it answers (it set everything up before reading its first command).
    ASSERT_EQ(Ask("read"), "value-0");
  }
  void TearDown() override {
    if (container_ > 0) {
      kill(container_, SIGKILL);
      waitpid(container_, nullptr, 0);
    }
    if (sock_ >= 0) close(sock_);
    // The host's mount table never saw any of it.
    EXPECT_EQ(OurMounts(testing::ReadFile("/proc/self/mountinfo"), dir_.path()), host_before_);
  }

  std::string Ask(const std::string& cmd) {
    if (send(sock_, cmd.data(), cmd.size(), 0) < 0) return "send failed";
    char buf[512];
    ssize_t n = recv(sock_, buf, sizeof buf, 0);
    return n <= 0 ? "container gone" : std::string(buf, static_cast<std::size_t>(n));
  }

  // Whether the container has counted `n` SIGHUPs, asking for up to about 5 s.
  bool WaitForHups(int n) {
    for (int tries = 0; tries < 500; ++tries) {
      if (Ask("hups") == std::to_string(n)) return true;
      usleep(10000);
    }
    return false;
  }

  RefreshPlan Plan(const std::string& value, const std::string& dir = "/run/secrets") {
    RefreshPlan p;
    p.container_id = "c1";
    p.pid = container_;
    Result<std::uint64_t> start = ProcessStartTime(container_);
    p.start_time = start.ok() ? *start : 1;
    p.secrets_dir = dir;
    p.tmpfs_size = 1 << 20;
    if (!value.empty()) {
      LeasedFile f;
      f.name = "db";
      f.mode = 0444;
      f.data.assign(value.begin(), value.end());
      p.files.push_back(std::move(f));
    }
    return p;
  }

  itest::CommandResult Refresh(const RefreshPlan& plan) {
    std::string json = ToJson(plan);
    itest::CommandResult r = RunCommand({BinPath("oci-secrets-hook"), "refresh"}, json, kHookEnv);
    WipeString(json);
    return r;
  }

  std::string ContainerMountinfo() {
    return testing::ReadFile("/proc/" + std::to_string(container_) + "/mountinfo");
  }
  std::string InContainer(const std::string& path) {
    return testing::ReadFile("/proc/" + std::to_string(container_) + "/root" + path);
  }

  TempDir dir_;
  std::string rootfs_;
  std::string host_before_;
  pid_t container_ = -1;
  int sock_ = -1;
};

TEST_F(RefreshTest, SwapsInTheNewTmpfsKeepsOpenFilesOnTheOldAndSignals) {
  RefreshPlan plan = Plan("value-1");
  plan.signal = SIGHUP;
  itest::CommandResult r = Refresh(plan);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "refreshed files=1\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(InContainer("/run/secrets/db"), "value-1");
  EXPECT_EQ(Ask("read"), "value-1");
  EXPECT_EQ(Ask("old"), "value-0") << "a descriptor opened before keeps the old content";
  EXPECT_TRUE(WaitForHups(1)) << Ask("hups");
  EXPECT_EQ(MountsAt(ContainerMountinfo(), "/run/secrets"), std::vector<std::string>{"tmpfs"});
}

TEST_F(RefreshTest, AReaderLoopingThrough20RefreshesNeverSeesAMissingOrPartialFile) {
  ASSERT_EQ(Ask("loop"), "ok");
  for (int i = 1; i <= 20; ++i) {
    RefreshPlan plan = Plan("value-" + std::to_string(i));
    plan.signal = SIGHUP;
    itest::CommandResult r = Refresh(plan);
    ASSERT_EQ(r.out, "refreshed files=1\n") << "refresh " << i << ": " << r.err;
    // Two SIGHUPs pending at once count as one: let each arrive before the next refresh.
    EXPECT_TRUE(WaitForHups(i)) << "refresh " << i << ": hups " << Ask("hups");
  }
  std::string result = Ask("stop");
  EXPECT_NE(result.find(" bad=0 "), std::string::npos) << result;
  EXPECT_GE(std::stol(result.substr(6)), 100) << "the reader ran through the refreshes: " << result;
  EXPECT_EQ(Ask("read"), "value-20");
  EXPECT_EQ(Ask("hups"), "20");
  // MOVE_MOUNT_BENEATH then the old top detached: nothing stacks.
  EXPECT_EQ(MountsAt(ContainerMountinfo(), "/run/secrets"), std::vector<std::string>{"tmpfs"});
}

TEST_F(RefreshTest, APlanWithoutFilesLeavesAnEmptyTmpfs) {
  itest::CommandResult r = Refresh(Plan(""));
  EXPECT_EQ(r.out, "refreshed files=0\n") << r.err;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(Ask("read"), "ERR " + std::string(std::strerror(ENOENT)));
  EXPECT_EQ(MountsAt(ContainerMountinfo(), "/run/secrets"), std::vector<std::string>{"tmpfs"});
}

TEST_F(RefreshTest, AnExitedPidIsSkipped) {
  pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_EQ(waitpid(gone, nullptr, 0), gone);
  RefreshPlan plan = Plan("value-1");
  plan.pid = gone;
  itest::CommandResult r = Refresh(plan);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "skipped: container exited\n");
}

TEST_F(RefreshTest, ALivePidWhoseStartTimeDiffersIsSkippedAndItsMountsUntouched) {
  const std::string before = ContainerMountinfo();
  RefreshPlan plan = Plan("value-1");
  plan.start_time += 1;
  plan.signal = SIGHUP;
  itest::CommandResult r = Refresh(plan);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "skipped: pid " + std::to_string(container_) +
                       " is now another process (start time differs)\n");
  EXPECT_EQ(ContainerMountinfo(), before);
  EXPECT_EQ(Ask("read"), "value-0");
  EXPECT_EQ(Ask("hups"), "0");
}

TEST_F(RefreshTest, RefusesWhatIsNotOurTmpfsTouchingNothing) {
  struct Case {
    const char* description;
    const char* dir;
    std::string line;
  };
  const Case cases[] = {
      {"a plain directory", "/run/plain",
       "oci-secrets-hook: refresh: secrets dir /run/plain: not a mount point (no secrets tmpfs "
       "there)\n"},
      {"a symlink to /etc (resolved inside the root)", "/run/link",
       "oci-secrets-hook: refresh: secrets dir /run/link: not a mount point (no secrets tmpfs "
       "there)\n"},
      {"another file system", "/run/other",
       "oci-secrets-hook: refresh: secrets dir /run/other: a ramfs mount (none), not the "
       "secrets tmpfs\n"},
      {"a missing directory", "/run/missing",
       "oci-secrets-hook: refresh: secrets dir /run/missing: missing\n"},
  };
  const std::string before = ContainerMountinfo();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.description);
    RefreshPlan plan = Plan("value-1", c.dir);
    plan.signal = SIGHUP;
    itest::CommandResult r = Refresh(plan);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, c.line);
    EXPECT_EQ(r.out.find("value-1"), std::string::npos);
  }
  EXPECT_EQ(ContainerMountinfo(), before);
  EXPECT_FALSE(std::filesystem::exists(rootfs_ + "/etc/db"));
  EXPECT_EQ(Ask("hups"), "0") << "no signal after a refused refresh";
  EXPECT_EQ(Ask("read"), "value-0");
}

TEST_F(RefreshTest, AMalformedPlanFailsInOneLine) {
  itest::CommandResult r =
      RunCommand({BinPath("oci-secrets-hook"), "refresh"}, "{\"Data\":\"hunter2\"", kHookEnv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "oci-secrets-hook: refresh: refresh plan: malformed JSON\n");
}

// Kernels before 6.5 refuse MOVE_MOUNT_BENEATH: the fallback puts the new tmpfs on top.
// Run in-process (the binary always tries beneath first) in a child, since it enters the
// container's mount namespace.
TEST_F(RefreshTest, WithoutBeneathTheNewTmpfsGoesOnTopAndReadersSeeIt) {
  for (int i = 1; i <= 2; ++i) {
    std::string json = ToJson(Plan("value-" + std::to_string(i)));
    int in[2];
    ASSERT_EQ(pipe(in), 0);
    ASSERT_EQ(write(in[1], json.data(), json.size()), static_cast<ssize_t>(json.size()));
    close(in[1]);
    WipeString(json);
    std::FILE* out = std::tmpfile();
    pid_t hook = fork();
    if (hook == 0) {
      RefreshOptions options;
      options.try_beneath = false;
      _exit(RunRefresh(in[0], out, options));
    }
    close(in[0]);
    int status = 0;
    ASSERT_EQ(waitpid(hook, &status, 0), hook);
    std::rewind(out);
    char buf[512] = {0};
    std::string line(buf, std::fread(buf, 1, sizeof buf - 1, out));
    std::fclose(out);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << line;
    EXPECT_EQ(line,
              "refreshed files=1 (stacked over the old tmpfs: kernel without "
              "MOVE_MOUNT_BENEATH)\n");
    EXPECT_EQ(Ask("read"), "value-" + std::to_string(i));
  }
  EXPECT_EQ(Ask("old"), "value-0");
  EXPECT_EQ(MountsAt(ContainerMountinfo(), "/run/secrets"),
            (std::vector<std::string>{"tmpfs", "tmpfs", "tmpfs"}));
}

}  // namespace
}  // namespace ocisecrets::hook
