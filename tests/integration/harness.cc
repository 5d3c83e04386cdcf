#include "tests/integration/harness.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "shared/api_client.h"

extern char** environ;

#ifndef OCI_SECRETS_BIN_DIR
#error "OCI_SECRETS_BIN_DIR must name the directory of the built binaries"
#endif

namespace ocisecrets::itest {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

int MillisLeft(steady_clock::time_point deadline) {
  auto left = std::chrono::ceil<milliseconds>(deadline - steady_clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

void SleepMs(int ms) { ::poll(nullptr, 0, ms); }

// Exit status as RunCommand reports it.
int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// This process's environment with "K=V" overrides; kept alive for execve.
std::vector<std::string> MergeEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& x : extra) {
      if (x.size() > key.size() && x.compare(0, key.size(), key) == 0 && x[key.size()] == '=') {
        overridden = true;
      }
    }
    if (!overridden) out.emplace_back(kv);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Only async-signal-safe calls between fork and exec: the child of a test process.
[[noreturn]] void ExecChild(int in_fd, int out_fd, int err_fd, int report_fd,
                            const std::optional<RunAs>& run_as, char* const* argv,
                            char* const* envp) {
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) {
    int e = errno;
    (void)!::write(report_fd, &e, sizeof(e));
    ::_exit(127);
  }
  if (run_as) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(run_as->gid) != 0 || ::setuid(run_as->uid) != 0) {
      int e = errno;
      (void)!::write(report_fd, &e, sizeof(e));
      ::_exit(127);
    }
  }
  ::execve(argv[0], argv, envp);
  int e = errno;
  (void)!::write(report_fd, &e, sizeof(e));
  ::_exit(127);
}

}  // namespace

std::string BinPath(std::string_view name) {
  return std::string(OCI_SECRETS_BIN_DIR) + "/" + std::string(name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv_in, std::string_view stdin_data,
                         const std::vector<std::string>& env, milliseconds timeout,
                         std::optional<RunAs> run_as) {
  CommandResult result;
  if (argv_in.empty()) {
    result.exit_code = 127;
    result.err = "RunCommand: empty argv";
    return result;
  }
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test
  std::vector<std::string> argv_copy = argv_in;
  std::vector<std::string> env_copy = MergeEnv(env);
  std::vector<char*> argv = CStrings(argv_copy);
  std::vector<char*> envp = CStrings(env_copy);

  int in[2], out[2], err[2], report[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(report, O_CLOEXEC) != 0) {
    result.err = std::string("RunCommand: pipe: ") + std::strerror(errno);
    return result;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    result.err = std::string("RunCommand: fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) ExecChild(in[0], out[1], err[1], report[1], run_as, argv.data(), envp.data());
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(report[1]);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  if (stdin_data.empty()) {
    ::close(in[1]);
    in[1] = -1;
  }

  auto deadline = steady_clock::now() + timeout;
  bool timed_out = false;
  std::size_t written = 0;
  char buf[16384];
  while (out[0] >= 0 || err[0] >= 0) {
    pollfd p[3] = {{in[1], POLLOUT, 0}, {out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int ms = MillisLeft(deadline);
    if (ms == 0) {
      timed_out = true;
      break;
    }
    int r = ::poll(p, 3, ms);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    if (in[1] >= 0 && p[0].revents != 0) {
      ssize_t n = ::write(in[1], stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) {
        ::close(in[1]);  // done, or the child stopped reading (EPIPE)
        in[1] = -1;
      }
    }
    for (int i = 1; i <= 2; ++i) {
      int& fd = (i == 1) ? out[0] : err[0];
      if (fd < 0 || p[i].revents == 0) continue;
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n > 0) {
        (i == 1 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fd);
        fd = -1;
      }
    }
  }
  for (int fd : {in[1], out[0], err[0]}) {
    if (fd >= 0) ::close(fd);
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  // Outputs are closed: the child is exiting; bound the wait anyway.
  while (::waitpid(pid, &status, timed_out ? 0 : WNOHANG) == 0) {
    if (MillisLeft(deadline) == 0) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      timed_out = true;
    }
    SleepMs(2);
  }
  int exec_errno = 0;
  if (::read(report[0], &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno)) {
    result.exit_code = 127;
    result.err += "RunCommand: cannot run " + argv_in[0] + ": " + std::strerror(exec_errno);
  } else if (timed_out) {
    result.exit_code = -1;
    result.err += "\nRunCommand: timed out after " + std::to_string(timeout.count()) + " ms";
  } else {
    result.exit_code = DecodeWait(status);
  }
  ::close(report[0]);
  return result;
}

Daemon::Daemon() : Daemon(Options{}) {}

Daemon::Daemon(Options options) : options_(std::move(options)) {
  socket_ = dir_.File("m.sock");
  state_dir_ = dir_.File("state");
  log_path_ = dir_.File("daemon.log");
}

Daemon::~Daemon() {
  if (running()) Stop();
}

Status Daemon::Start() {
  if (running()) return Status::FailedPrecondition("daemon already running");
  std::vector<std::string> args = {BinPath("oci-secretsd"), "--state-dir", state_dir_, "--socket",
                                   socket_};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<std::string> env = MergeEnv(options_.env);
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2];
  if (log_fd < 0 || null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    return PosixError("daemon: open log", errno);
  }
  pid_t pid = ::fork();
  if (pid < 0) return PosixError("daemon: fork", errno);
  if (pid == 0)
    ExecChild(null_fd, log_fd, log_fd, report[1], std::nullopt, argv.data(), envp.data());
  ::close(log_fd);
  ::close(null_fd);
  ::close(report[1]);
  pid_ = pid;
  int exec_errno = 0;
  bool exec_failed = ::read(report[0], &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno);
  ::close(report[0]);
  if (exec_failed) {
    Kill();
    return PosixError("daemon: exec " + args[0], exec_errno);
  }

  auto deadline = steady_clock::now() + std::chrono::seconds(20);
  Status last = Status::Unavailable("not started");
  while (MillisLeft(deadline) > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Unavailable("daemon exited with status " + std::to_string(DecodeWait(status)) +
                                 " before it was healthy; log:\n" + Log());
    }
    auto transport = MakeTransport(host());
    if (!transport.ok()) {
      Kill();
      return transport.status();
    }
    ApiClient client(std::move(transport).value(), milliseconds(1000));
    auto health = client.Health();
    if (health.ok()) return Status::Ok();
    last = health.status();
    SleepMs(20);
  }
  Kill();
  return Status::DeadlineExceeded("daemon not healthy within 20 s: " + last.message() + "; log:\n" +
                                  Log());
}

int Daemon::Stop() {
  if (!running()) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (MillisLeft(deadline) == 0) {
      ADD_FAILURE() << "oci-secretsd ignored SIGTERM for 20 s; killing it";
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    SleepMs(5);
  }
  pid_ = -1;
  return DecodeWait(status);
}

void Daemon::Kill() {
  if (!running()) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool Daemon::Signal(int sig) const { return running() && ::kill(pid_, sig) == 0; }

CommandResult Daemon::Cli(const std::vector<std::string>& args, std::string_view stdin_data,
                          const std::vector<std::string>& env) const {
  std::vector<std::string> argv = {BinPath("oci-secrets"), "--host", host()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, stdin_data, env);
}

CommandResult Daemon::CliAs(RunAs who, const std::vector<std::string>& args,
                            std::string_view stdin_data) const {
  std::string copy = dir_.File("oci-secrets");
  std::error_code ec;
  if (!std::filesystem::exists(copy)) {
    std::filesystem::copy_file(BinPath("oci-secrets"), copy, ec);
    if (ec) ADD_FAILURE() << "copy oci-secrets: " << ec.message();
  }
  ::chmod(copy.c_str(), 0755);
  ::chmod(dir_.path().c_str(), 0711);
  std::vector<std::string> argv = {copy, "--host", host()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, stdin_data, {}, std::chrono::seconds(60), who);
}

std::string Daemon::Log() const { return ReadFile(log_path_); }

}  // namespace ocisecrets::itest
