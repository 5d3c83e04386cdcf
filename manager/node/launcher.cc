#include "manager/node/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ocisecrets {

namespace {

constexpr int kSocketFd = 3;  // the launcher's socket, after it has closed the rest
constexpr std::size_t kMaxAnswerBytes = 64 * 1024;

void CloseFrom(unsigned first) { syscall(SYS_close_range, first, ~0U, 0); }

// In the hook's child: the plan on 0, the answer on 1 and 2, nothing else open, SIGCHLD
// back to its default, then the hook. Never returns.
[[noreturn]] void ExecHook(const std::string& hook_path, int plan_fd, int answer_fd) {
  if (dup2(plan_fd, 0) < 0 || dup2(answer_fd, 1) < 0 || dup2(1, 2) < 0) _exit(127);
  CloseFrom(3);
  signal(SIGCHLD, SIG_DFL);
  char arg0[] = "oci-secrets-hook";
  char arg1[] = "refresh";
  char* argv[] = {arg0, arg1, nullptr};
  char env0[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {env0, nullptr};
  execve(hook_path.c_str(), argv, envp);
  std::string line = "oci-secrets-hook: refresh: exec " + hook_path + ": " +
                     std::strerror(errno) + "\n";
  ssize_t ignored = write(1, line.data(), line.size());
  (void)ignored;
  _exit(127);
}

// Receives one request: two fds. 0 at EOF (or an error: the daemon is gone), else 1.
int ReceiveFds(int fds[2]) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(kSocketFd, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(2 * sizeof(int))) {
    return -1;  // not what the daemon sends: ignored
  }
  std::memcpy(fds, CMSG_DATA(c), 2 * sizeof(int));
  return 1;
}

// The launcher's whole life. Never returns.
[[noreturn]] void LauncherMain(int socket_fd, const std::string& hook_path, pid_t daemon) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != daemon) _exit(0);  // the daemon died before the line above
  signal(SIGCHLD, SIG_IGN);           // children are reaped by the kernel
  if (socket_fd != kSocketFd) {
    if (dup2(socket_fd, kSocketFd) < 0) _exit(1);
  }
  int null_fd = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) {
    if (null_fd >= 0 && null_fd != fd) dup2(null_fd, fd);
  }
  CloseFrom(kSocketFd + 1);
  for (;;) {
    int fds[2] = {-1, -1};
    int got = ReceiveFds(fds);
    if (got == 0) _exit(0);
    if (got < 0) continue;
    pid_t child = fork();
    if (child == 0) ExecHook(hook_path, fds[0], fds[1]);
    // A failed fork: the closed answer pipe tells the daemon (an empty answer).
    close(fds[0]);
    close(fds[1]);
  }
}

Status SendFds(int socket_fd, int plan_fd, int answer_fd) {
  char byte = 'r';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  int fds[2] = {plan_fd, answer_fd};
  std::memcpy(CMSG_DATA(c), fds, sizeof(fds));
  ssize_t n;
  do {
    n = sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return PosixError("send the refresh to the launcher", errno);
  return Status::Ok();
}

struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

}  // namespace

Result<std::unique_ptr<Launcher>> Launcher::Start(const std::string& hook_path) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return PosixError("launcher: socketpair", errno);
  }
  const pid_t daemon = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    return PosixError("launcher: fork", err);
  }
  if (pid == 0) {
    close(sv[0]);
    LauncherMain(sv[1], hook_path, daemon);
  }
  close(sv[1]);
  return std::unique_ptr<Launcher>(new Launcher(sv[0], pid));
}

Launcher::~Launcher() {
  close(socket_fd_);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

Result<std::string> Launcher::RunRefresh(const std::string& plan_json,
                                         std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  const auto start = steady_clock::now();
  int plan[2];
  int answer[2];
  if (pipe2(plan, O_CLOEXEC) != 0) return PosixError("refresh: plan pipe", errno);
  Fd plan_read{plan[0]}, plan_write{plan[1]};
  if (pipe2(answer, O_CLOEXEC) != 0) return PosixError("refresh: answer pipe", errno);
  Fd answer_read{answer[0]}, answer_write{answer[1]};
  {
    std::lock_guard<std::mutex> lock(send_mu_);
    RETURN_IF_ERROR(SendFds(socket_fd_, plan_read.fd, answer_write.fd), "");
  }
  plan_read.Close();    // the hook has its own copies now: EOF comes when it exits
  answer_write.Close();
  fcntl(plan_write.fd, F_SETFL, O_NONBLOCK);
  fcntl(answer_read.fd, F_SETFL, O_NONBLOCK);

  std::string out;
  std::size_t written = 0;
  if (plan_json.empty()) plan_write.Close();
  char buf[4096];
  for (;;) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) {
      return Status::DeadlineExceeded(
          "oci-secrets-hook refresh did not answer within " +
          std::to_string(duration_cast<milliseconds>(deadline - start).count()) + " ms");
    }
    pollfd p[2] = {{answer_read.fd, POLLIN, 0}, {plan_write.fd, POLLOUT, 0}};
    int n = poll(p, plan_write.fd >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno != EINTR) return PosixError("refresh: poll", errno);
    if (n <= 0) continue;
    if (plan_write.fd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(plan_write.fd, plan_json.data() + written, plan_json.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      // EPIPE: the hook stopped reading; its answer says why.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == plan_json.size()) {
        plan_write.Close();
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(answer_read.fd, buf, sizeof(buf));
      if (r == 0) break;
      if (r < 0 && errno != EAGAIN && errno != EINTR) return PosixError("refresh: read", errno);
      if (r > 0 && out.size() < kMaxAnswerBytes) out.append(buf, static_cast<std::size_t>(r));
    }
  }
  return out;
}

}  // namespace ocisecrets
