// The .deb end to end: cpack -G DEB from the build dir, dpkg -i, the manager answers on
// the default socket, dpkg -r removes it and stops a manager run by hand on the package's
// state dir and socket (and names one running elsewhere). This touches the real system, so a guard puts
// the machine back (purge, stop a manager the package left, remove the state, run and
// log paths this test created) even when an assertion fails half-way. It refuses to run
// (a failure with the reason) when something already listens on the default socket or
// the package is already installed. Needs root.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace ocisecrets::itest {
namespace {

constexpr char kSocket[] = "/run/oci-secrets/manager.sock";
constexpr char kPidFile[] = "/run/oci-secrets/oci-secretsd.pid";
constexpr char kStateDir[] = "/var/lib/oci-secrets";
constexpr char kRunDir[] = "/run/oci-secrets";
constexpr char kLogFile[] = "/var/log/oci-secretsd.log";
constexpr char kPackage[] = "oci-secrets";

bool Exists(const char* path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

// True when a process accepts connections on the unix socket `path`.
bool Listening(const char* path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string(path).copy(addr.sun_path, sizeof addr.sun_path - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// True while `pid` runs the package's daemon (also once dpkg -r deleted the binary).
bool RunsPackagedDaemon(pid_t pid) {
  std::error_code ec;
  std::string exe =
      std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
  return !ec && exe.rfind("/usr/bin/oci-secretsd", 0) == 0;
}

// An oci-secretsd started by hand (as a user would, not by the package), in the
// background; its pid comes from a pid file of the test's own. Killed when the test ends
// if still running.
class HandStartedManager {
 public:
  HandStartedManager(const std::string& pid_file, const std::string& state_dir,
                     const std::string& socket)
      : pid_file_(pid_file), socket_(socket) {
    start_ = RunCommand({"/sbin/start-stop-daemon", "--start", "--background", "--make-pidfile",
                         "--pidfile", pid_file, "--exec", "/usr/bin/oci-secretsd", "--",
                         "--state-dir", state_dir, "--socket", socket});
    for (int i = 0; i < 100 && !Listening(socket.c_str()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::ifstream(pid_file) >> pid_;
  }
  ~HandStartedManager() {
    if (pid_ > 1 && RunsPackagedDaemon(pid_)) kill(pid_, SIGKILL);
  }
  // Empty when it started and listens; else why not.
  std::string Problem() const {
    if (start_.exit_code != 0) return "start-stop-daemon: " + start_.out + start_.err;
    if (pid_ <= 1) return "no pid in " + pid_file_;
    if (!Listening(socket_.c_str())) return "not listening on " + socket_;
    return "";
  }
  pid_t pid() const { return pid_; }

 private:
  std::string pid_file_;
  std::string socket_;
  CommandResult start_;
  pid_t pid_ = -1;
};

bool PackageInstalled() {
  CommandResult r = RunCommand({"/usr/bin/dpkg-query", "-W", "-f=${Status}", kPackage});
  return r.exit_code == 0 && r.out.find("installed") != std::string::npos &&
         r.out.find("not-installed") == std::string::npos;
}

// Puts the machine back as it was: what existed before the test is left alone.
class SystemRestore {
 public:
  SystemRestore()
      : had_state_(Exists(kStateDir)), had_run_(Exists(kRunDir)), had_log_(Exists(kLogFile)) {}
  ~SystemRestore() {
    if (!armed_) return;
    RunCommand({"/usr/bin/dpkg", "--purge", kPackage}, {}, {}, std::chrono::seconds(120));
    // A manager the package scripts failed to stop.
    std::ifstream pid_in(kPidFile);
    pid_t pid = 0;
    if (pid_in >> pid && pid > 1) {
      std::string exe = std::filesystem::path("/proc/" + std::to_string(pid) + "/exe").string();
      std::error_code ec;
      if (std::filesystem::read_symlink(exe, ec).filename() == "oci-secretsd") kill(pid, SIGKILL);
    }
    std::error_code ec;
    if (!had_state_) std::filesystem::remove_all(kStateDir, ec);
    if (!had_run_) std::filesystem::remove_all(kRunDir, ec);
    if (!had_log_) std::filesystem::remove(kLogFile, ec);
  }
  void Arm() { armed_ = true; }

 private:
  bool had_state_, had_run_, had_log_;
  bool armed_ = false;
};

TEST(DebPackageTest, InstallsAnswersOnDefaultSocketAndRemovesCleanly) {
  ASSERT_TRUE(testing::IsRoot("dpkg -i"));
  ASSERT_FALSE(Listening(kSocket))
      << "something already listens on " << kSocket
      << "; this test installs the package's manager there and will not disturb it";
  ASSERT_FALSE(PackageInstalled())
      << "package " << kPackage << " is already installed; this test will not replace it";
  SystemRestore restore;
  restore.Arm();

  // Build the package from this build tree into a temp dir.
  TempDir dir;
  std::string build_dir = std::filesystem::path(OCI_SECRETS_BIN_DIR).parent_path().string();
  CommandResult pack = RunCommand({"/usr/bin/cpack", "--config", build_dir + "/CPackConfig.cmake",
                                   "-G", "DEB", "-B", dir.path()},
                                  {}, {}, std::chrono::seconds(600));
  ASSERT_EQ(pack.exit_code, 0) << pack.out << pack.err;
  std::string deb;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().extension() == ".deb") deb = entry.path().string();
  }
  ASSERT_FALSE(deb.empty()) << "cpack made no .deb: " << pack.out;

  CommandResult install = RunCommand({"/usr/bin/dpkg", "-i", deb}, {}, {}, std::chrono::seconds(120));
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_TRUE(PackageInstalled());
  for (const char* path : {"/usr/bin/oci-secretsd", "/usr/bin/oci-secrets",
                           "/usr/libexec/oci-secrets/oci-secrets-hook",
                           "/usr/libexec/oci-secrets/oci-secrets-runtime"}) {
    EXPECT_TRUE(Exists(path)) << path;
  }

  // The manager answers on the default socket (the CLI's default host).
  CommandResult ls;
  for (int i = 0; i < 100; ++i) {
    ls = RunCommand({"/usr/bin/oci-secrets", "secret", "ls"}, {}, {"OCI_SECRETS_HOST="});
    if (ls.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(ls.exit_code, 0) << ls.out << ls.err;

  // A user stops the package's manager and runs one by hand on the same state dir and
  // socket, and another on a state dir and socket of their own.
  CommandResult stop = RunCommand({"/sbin/start-stop-daemon", "--stop", "--retry", "TERM/10",
                                   "--pidfile", kPidFile, "--exec", "/usr/bin/oci-secretsd"});
  ASSERT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  std::filesystem::remove(kPidFile);
  for (int i = 0; i < 100 && Listening(kSocket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(Listening(kSocket)) << "the package's manager did not stop";
  HandStartedManager by_hand(dir.File("by-hand.pid"), kStateDir, kSocket);
  ASSERT_EQ(by_hand.Problem(), "");
  HandStartedManager elsewhere(dir.File("elsewhere.pid"), dir.File("state"), dir.File("m.sock"));
  ASSERT_EQ(elsewhere.Problem(), "");

  CommandResult remove = RunCommand({"/usr/bin/dpkg", "-r", kPackage}, {}, {}, std::chrono::seconds(120));
  ASSERT_EQ(remove.exit_code, 0) << remove.out << remove.err;
  EXPECT_FALSE(PackageInstalled());
  EXPECT_FALSE(Exists("/usr/bin/oci-secretsd"));
  EXPECT_FALSE(Exists("/usr/libexec/oci-secrets/oci-secrets-hook"));
  EXPECT_FALSE(Listening(kSocket)) << "the manager still answers after dpkg -r";
  const std::string by_hand_pid = std::to_string(by_hand.pid());
  EXPECT_NE(remove.out.find("oci-secrets: stopping oci-secretsd (pid " + by_hand_pid +
                            "), which the package did not start"),
            std::string::npos)
      << remove.out << remove.err;
  EXPECT_FALSE(RunsPackagedDaemon(by_hand.pid())) << "the manager run by hand still runs";
  // The other one is not the package's to stop, but dpkg -r says that it runs and how to
  // stop it.
  const std::string elsewhere_pid = std::to_string(elsewhere.pid());
  EXPECT_TRUE(RunsPackagedDaemon(elsewhere.pid()));
  EXPECT_NE(remove.err.find("oci-secrets: warning: oci-secretsd (pid " + elsewhere_pid +
                            ") still runs, on another state dir or socket; its binary goes "
                            "with the package: stop it with: kill " + elsewhere_pid),
            std::string::npos)
      << remove.out << remove.err;
}

}  // namespace
}  // namespace ocisecrets::itest
