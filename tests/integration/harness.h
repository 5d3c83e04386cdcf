// The integration-test harness: drives the built binaries (build/bin) against real
// services, hermetically. Each test makes its own TempDir and Daemon; both clean up in
// their destructors, also when an ASSERT fails half-way. What a test needs from the
// machine (root, a runtime) it asserts with tests/testing/requirements.h: never a skip.
//
//   Daemon d;                                   // temp dir, state dir, socket
//   ASSERT_TRUE(d.Start().ok());                // oci-secretsd, waits for /v1/health
//   auto r = d.Cli({"secret", "create", "pw", "-"}, "s3cret");
//   EXPECT_EQ(r.exit_code, 0) << r.err;
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"
#include "tests/testing/requirements.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::itest {

// Absolute path of a built binary: BinPath("oci-secrets") → ".../build/bin/oci-secrets".
std::string BinPath(std::string_view name);

// The tests' one TempDir (tests/testing/temp_dir.h), by its short name here.
using ::ocisecrets::testing::TempDir;

// The whole content of the file at path; empty when it cannot be read.
std::string ReadFile(const std::string& path);

// Who a child runs as: setgroups({}), setgid, setuid before exec. For "a non-root caller".
struct RunAs {
  uid_t uid = 65534;
  gid_t gid = 65534;
};

struct CommandResult {
  int exit_code = -1;  // the exit status; 128+N when killed by signal N; -1 on timeout
  std::string out;
  std::string err;
};

// Runs argv[0] (a path, no PATH search, no shell) with stdin_data on its standard input
// and both outputs captured. The child's environment is this process's plus `env`
// ("K=V" entries, which override). At `timeout` the child's process group is killed and
// exit_code is -1. A program that cannot be executed gives exit_code 127 and the reason
// in err.
CommandResult RunCommand(const std::vector<std::string>& argv, std::string_view stdin_data = {},
                         const std::vector<std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60),
                         std::optional<RunAs> run_as = std::nullopt);

// One oci-secretsd in its own temp dir: --state-dir DIR/state --socket DIR/m.sock.
// Start/Stop/Start keeps the state dir, so a restart sees the same store.
class Daemon {
 public:
  struct Options {
    std::vector<std::string> extra_args;  // appended to the daemon's command line
    std::vector<std::string> env;         // "K=V" for the daemon's environment
  };

  Daemon();
  explicit Daemon(Options options);
  ~Daemon();  // Stop()s a running daemon
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts the daemon and waits (up to 20 s) until GET /v1/health answers 200. On
  // failure the daemon is killed and the Status carries the tail of its log.
  Status Start();
  // SIGTERM, then waits up to 20 s (then SIGKILL). Returns the exit status as
  // RunCommand reports it; -1 when it was not running.
  int Stop();
  // SIGKILL and reap: a crash, with no chance to clean up.
  void Kill();
  // Sends sig to the running daemon (SIGSTOP, then SIGCONT: a machine that froze for a
  // while). False when it is not running or kill(2) failed.
  bool Signal(int sig) const;
  bool running() const { return pid_ > 0; }
  // Replaces Options::env from the next Start() on: the same daemon restarted with another
  // environment (a test-only switch armed after the set-up).
  void set_env(std::vector<std::string> env) { options_.env = std::move(env); }

  // Runs build/bin/oci-secrets --host unix://SOCKET ARGS... as this process (root).
  CommandResult Cli(const std::vector<std::string>& args, std::string_view stdin_data = {},
                    const std::vector<std::string>& env = {}) const;
  // The same as another user. The CLI binary is copied into the temp dir and the temp
  // dir made traversable (0711), so the user reaches both; the socket's own mode is the
  // daemon's business.
  CommandResult CliAs(RunAs who, const std::vector<std::string>& args,
                      std::string_view stdin_data = {}) const;

  const std::string& socket_path() const { return socket_; }
  std::string host() const { return "unix://" + socket_; }
  const std::string& state_dir() const { return state_dir_; }
  const TempDir& dir() const { return dir_; }
  // Everything the daemon wrote to stdout and stderr, over all its runs.
  std::string Log() const;

 private:
  Options options_;
  TempDir dir_;
  std::string socket_;
  std::string state_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace ocisecrets::itest
