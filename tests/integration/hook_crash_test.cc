// The shipped hook, crashed on purpose while it holds a payload: run by real runc and
// crun against a real manager, through a proxy that relays the lease reply but its last
// byte. The hook then sits in read() with the payload in its buffer; the test checks its
// RLIMIT_CORE is 0, points kernel.core_pattern at a pipe (which ignores RLIMIT_CORE, so only
// the hook's non-dumpable state stands between a crash and a core file; restored after),
// and kills it with SIGSEGV or SIGABRT. The container must not start, and no core file and
// no payload may be found. A dumpable control process shows a core would be caught.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "shared/models.h"
#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"

extern char** environ;

namespace ocisecrets::itest {
namespace {

std::string ReadLink(const std::string& path) {
  std::error_code ec;
  return std::filesystem::read_symlink(path, ec).string();
}

// Sets kernel.core_pattern for the test's life and puts the old one back in the
// destructor (also when an assertion failed half-way).
class CorePattern {
 public:
  explicit CorePattern(const std::string& pattern) : old_(ReadFile(kPath)) {
    std::ofstream(kPath) << pattern;
    ok_ = ReadFile(kPath) == pattern + "\n";
  }
  ~CorePattern() { std::ofstream(kPath) << old_; }
  bool ok() const { return ok_; }

 private:
  static constexpr const char* kPath = "/proc/sys/kernel/core_pattern";
  std::string old_;
  bool ok_ = false;
};

// A unix-socket proxy in front of the manager. It relays every request and reply, except
// the first reply that holds one of `needles`: of that one it sends all but the last byte,
// and the client waits for it.
class HoldingProxy {
 public:
  HoldingProxy(std::string listen_path, std::string upstream_path,
               std::vector<std::string> needles)
      : upstream_path_(std::move(upstream_path)), needles_(std::move(needles)) {
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = Address(listen_path);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0 || pipe2(stop_, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "proxy on " << listen_path << ": " << std::strerror(errno);
      return;
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~HoldingProxy() {
    if (thread_.joinable()) {
      (void)!write(stop_[1], "x", 1);
      thread_.join();
    }
    for (int fd : {listen_fd_, stop_[0], stop_[1]}) {
      if (fd >= 0) close(fd);
    }
  }

  // The pid of the client whose reply is held (SO_PEERCRED), once there is one; -1 when
  // none came within `timeout`.
  pid_t WaitHeld(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return held_pid_ > 0; });
    return held_pid_;
  }

 private:
  struct Pair {
    int client = -1;
    int upstream = -1;
    pid_t pid = -1;
    std::string reply;  // bytes from upstream not yet relayed
  };

  static sockaddr_un Address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    return addr;
  }

  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The length of the first complete HTTP message in `buf` (by Content-Length), or 0.
  static std::size_t CompleteMessage(const std::string& buf) {
    std::size_t end = buf.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    std::string head = buf.substr(0, end);
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::size_t cl = head.find("\r\ncontent-length:");
    std::size_t body = 0;
    if (cl != std::string::npos) body = std::stoul(head.substr(cl + 17));
    return buf.size() >= end + 4 + body ? end + 4 + body : 0;
  }

  // Relays what upstream sent; false when the pair is done.
  bool RelayReply(Pair& p) {
    char buf[16384];
    ssize_t n = read(p.upstream, buf, sizeof(buf));
    if (n <= 0) return false;
    p.reply.append(buf, static_cast<std::size_t>(n));
    while (std::size_t len = CompleteMessage(p.reply)) {
      std::string msg = p.reply.substr(0, len);
      p.reply.erase(0, len);
      bool hold = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& needle : needles_) {
          hold = hold || (held_pid_ <= 0 && msg.find(needle) != std::string::npos);
        }
      }
      if (!SendAll(p.client, hold ? std::string_view(msg).substr(0, len - 1) : msg)) {
        return false;
      }
      if (hold) {
        std::lock_guard<std::mutex> lock(mu_);
        held_pid_ = p.pid;
        cv_.notify_all();
      }
    }
    return true;
  }

  void Serve() {
    std::vector<Pair> pairs;
    for (;;) {
      std::vector<pollfd> fds = {{stop_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (const Pair& p : pairs) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.upstream, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[0].revents != 0) break;
      std::vector<bool> done(pairs.size(), false);
      for (std::size_t i = 0; i < pairs.size(); ++i) {
        Pair& p = pairs[i];
        if (fds[2 + 2 * i].revents != 0) {
          char buf[16384];
          ssize_t n = read(p.client, buf, sizeof(buf));
          done[i] = n <= 0 || !SendAll(p.upstream, std::string_view(buf, n));
        }
        if (!done[i] && fds[3 + 2 * i].revents != 0) done[i] = !RelayReply(p);
      }
      for (std::size_t i = pairs.size(); i-- > 0;) {
        if (!done[i]) continue;
        close(pairs[i].client);
        close(pairs[i].upstream);
        pairs.erase(pairs.begin() + static_cast<long>(i));
      }
      if (fds[1].revents != 0) {
        Pair p;
        p.client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (p.client < 0) continue;
        ucred cred{};
        socklen_t len = sizeof(cred);
        if (getsockopt(p.client, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) p.pid = cred.pid;
        p.upstream = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr = Address(upstream_path_);
        if (connect(p.upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
          close(p.client);
          close(p.upstream);
          continue;
        }
        pairs.push_back(p);
      }
    }
    for (Pair& p : pairs) {
      close(p.client);
      close(p.upstream);
    }
  }

  std::string upstream_path_;
  std::vector<std::string> needles_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  std::mutex mu_;
  std::condition_variable cv_;
  pid_t held_pid_ = -1;
  std::thread thread_;
};

// Entries named core* directly in `dir`.
std::vector<std::string> Cores(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind("core", 0) == 0) out.push_back(e.path().string());
  }
  return out;
}

// The soft and hard "Max core file size" of /proc/PID/limits, as written there.
std::string CoreLimits(pid_t pid) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/limits"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max core file size", 0) != 0) continue;
    std::istringstream fields(line.substr(18));
    std::string soft, hard;
    fields >> soft >> hard;
    return soft + " " + hard;
  }
  return "?";
}

// Whether `sig` is in the SigBlk mask of /proc/PID/status.
bool SignalBlocked(pid_t pid, int sig) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SigBlk:", 0) != 0) continue;
    unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
    return (mask >> (sig - 1)) & 1;
  }
  return true;
}

class HookCrashTest : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    payload_ = StartManagerWithSecret(GetParam(), daemon_, "redis", {"pw", 0, 0, 0444});
    ASSERT_FALSE(HasFailure());
    std::string config = dir_.WriteFile("hook.json",
                                        nlohmann::json{{"manager", "unix://" + dir_.File("p.sock")},
                                                       {"log_file", dir_.File("hook.log")}}
                                            .dump(),
                                        0644);
    bundle_.emplace(dir_, config);
    bundle_->SetScript("echo \"CONTENT $(cat /run/secrets/pw)\"");
    bundle_->SetAnnotation("org.oci-secrets.service", "redis");
    bundle_->InstallHook();
    ASSERT_EQ(mkdir(dir_.File("dumps").c_str(), 0777), 0);
    mounts_before_ = HostMounts();
  }
  void TearDown() override {
    if (mounts_before_.empty()) return;
    for (const auto& m : SuspiciousNewMounts(mounts_before_, HostMounts(), {dir_.path()})) {
      ADD_FAILURE() << "new host mount: " << m;
    }
  }

  // A dumpable process killed by `sig` leaves a core in dumps/: the check can see one.
  void ExpectControlCore(int sig) {
    std::string busybox = bundle_->rootfs() + "/bin/busybox";
    char* argv[] = {const_cast<char*>("sleep"), const_cast<char*>("30"), nullptr};
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, busybox.c_str(), nullptr, nullptr, argv, environ), 0);
    usleep(100 * 1000);  // past exec
    ASSERT_EQ(kill(pid, sig), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WCOREDUMP(status)) << "status " << status;
    std::vector<std::string> cores;
    for (int i = 0; i < 100 && cores.empty(); ++i) {  // the helper runs on its own
      usleep(50 * 1000);
      cores = Cores(dir_.File("dumps"));
    }
    EXPECT_EQ(cores.size(), 1u) << "the control left no core in dumps/: cannot tell";
    for (const auto& c : cores) std::filesystem::remove(c);
  }

  void CrashTheHookWith(int sig) {
    // A pipe: the kernel ignores RLIMIT_CORE for it, so only the hook's non-dumpable
    // state stands between the crash and a core written to dumps/.
    std::string helper = dir_.WriteFile(
        "dump.sh", "#!/bin/sh\nexec cat > " + dir_.File("dumps") + "/core.$1.$2\n", 0755);
    CorePattern pattern("|" + helper + " %e %p");
    ASSERT_TRUE(pattern.ok()) << "cannot set kernel.core_pattern";
    ExpectControlCore(sig);
    ASSERT_FALSE(HasFailure());

    std::string encoded =
        Base64Encode(reinterpret_cast<const std::uint8_t*>(payload_.data()), payload_.size());
    HoldingProxy proxy(dir_.File("p.sock"), daemon_.socket_path(), {encoded, payload_});
    CommandResult r;
    std::thread runner([&] {
      r = bundle_->Run(GetParam(), "ocs-crash-" + std::to_string(getpid()));
    });
    pid_t pid = proxy.WaitHeld(std::chrono::seconds(30));
    std::string hook_cwd, hook_exe, core_limits;
    bool killed = false, blocked = true;
    if (pid > 0) {
      std::string proc = "/proc/" + std::to_string(pid);
      hook_exe = ReadLink(proc + "/exe");
      hook_cwd = ReadLink(proc + "/cwd");
      core_limits = CoreLimits(pid);
      blocked = SignalBlocked(pid, sig);
      killed = kill(pid, sig) == 0;
    }
    runner.join();
    usleep(1000 * 1000);  // a core helper, had one been started, runs on its own
    ASSERT_GT(pid, 0) << "the hook never got the lease reply: " << r.err;
    EXPECT_EQ(hook_exe, BinPath("oci-secrets-hook"));
    EXPECT_EQ(core_limits, "0 0") << "the hook's RLIMIT_CORE (soft hard)";
    EXPECT_FALSE(blocked) << "the hook blocks the signal: it would not die of it";
    EXPECT_TRUE(killed);
    // It died of the signal: a hook that ended by itself logs why.
    EXPECT_EQ(ReadFile(dir_.File("hook.log")).find("prestart"), std::string::npos)
        << ReadFile(dir_.File("hook.log"));

    EXPECT_EQ(r.exit_code, GetParam().hook_failed_exit) << r.out << r.err;
    EXPECT_EQ(r.out.find("CONTENT"), std::string::npos) << r.out;
    std::vector<std::string> where = {dir_.File("dumps"), bundle_->path(), dir_.path()};
    if (!hook_cwd.empty()) where.push_back(hook_cwd);
    std::error_code ec;
    where.push_back(std::filesystem::current_path(ec).string());
    for (const auto& d : where) EXPECT_EQ(Cores(d), std::vector<std::string>{}) << d;
    std::vector<std::string> roots = {"/tmp", "/var/tmp", "/dev/shm"};
    EXPECT_EQ(FilesHolding(payload_, roots), std::vector<std::string>{});
    EXPECT_EQ(FilesHolding(encoded, roots), std::vector<std::string>{});
  }

  Daemon daemon_;
  TempDir dir_;
  std::string payload_;
  std::optional<Bundle> bundle_;
  std::vector<std::string> mounts_before_;
};

TEST_P(HookCrashTest, SegvWhileHoldingTheLeaseReplyLeavesNoCoreAndNoPayload) {
  CrashTheHookWith(SIGSEGV);
}

TEST_P(HookCrashTest, AbortWhileHoldingTheLeaseReplyLeavesNoCoreAndNoPayload) {
  CrashTheHookWith(SIGABRT);
}

std::string RuntimeName(const ::testing::TestParamInfo<Runtime>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Runtimes, HookCrashTest, ::testing::ValuesIn(Runtimes()), RuntimeName);

}  // namespace
}  // namespace ocisecrets::itest
