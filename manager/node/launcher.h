// The launcher (DESIGN.md "The daemon"): a tiny process forked before the daemon has any
// thread or its seccomp filter, so that the daemon, which may no longer exec, can still
// have `oci-secrets-hook refresh` run for a live update. Over a socketpair it receives two
// fds per request (the read end of the plan pipe, the write end of the answer pipe); for
// each it forks a child that makes them its stdin and stdout (stderr too), closes every
// other fd and execs the hook with a fixed argv and environment. It never waits for its
// children (SIGCHLD ignored: the kernel reaps them), dies with the daemon
// (PR_SET_PDEATHSIG) and exits at EOF on its socket.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "shared/status.h"

namespace ocisecrets {

// What the live updater needs of the launcher, so that tests can stand in for it.
class RefreshRunner {
 public:
  virtual ~RefreshRunner() = default;
  // Runs `oci-secrets-hook refresh` with plan_json on its stdin; returns its whole stdout
  // (with stderr), read to EOF. DeadlineExceeded when it has not finished by deadline.
  // Thread-safe: several refreshes may run at once.
  virtual Result<std::string> RunRefresh(const std::string& plan_json,
                                         std::chrono::steady_clock::time_point deadline) = 0;
};

class Launcher final : public RefreshRunner {
 public:
  // Forks the launcher process for hook_path (absolute). Call before any thread exists:
  // the child of a multi-threaded process could inherit a held lock. IOError when the
  // socketpair or the fork fails. hook_path is not checked here: a missing hook shows as
  // a refresh answered with the exec's error.
  static Result<std::unique_ptr<Launcher>> Start(const std::string& hook_path);
  // Closes the socket (the launcher exits) and reaps the launcher.
  ~Launcher() override;
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // As RefreshRunner. The plan holds payloads: every buffer of it this call made is wiped;
  // the caller wipes plan_json. IOError when the launcher is gone; DeadlineExceeded
  // "oci-secrets-hook refresh did not answer within N ms".
  Result<std::string> RunRefresh(const std::string& plan_json,
                                 std::chrono::steady_clock::time_point deadline) override;

  pid_t pid() const { return pid_; }

 private:
  Launcher(int socket_fd, pid_t pid) : socket_fd_(socket_fd), pid_(pid) {}

  std::mutex send_mu_;  // one SCM_RIGHTS message at a time on the socket
  int socket_fd_;
  pid_t pid_;
};

}  // namespace ocisecrets
