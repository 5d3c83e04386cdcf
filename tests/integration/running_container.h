// A runc container that keeps running, for the tests of live updates: `runc run -d` of a
// Bundle (busybox rootfs, the hook at prestart and poststop) in a TempDir of its own, and
// its secrets read from the host through /proc/PID/root, which shows the container's own
// mount namespace. The destructor kills and deletes it, also when an ASSERT fails.
//
//   RunningContainer c(daemon, "app", "ocs-live-1", "while :; do sleep 1; done");
//   ASSERT_TRUE(c.ok()) << c.error();
//   EXPECT_EQ(c.Read("db"), value);          // /proc/PID/root/run/secrets/db
//   c.Stop();                                // kill, delete: the poststop ends the lease
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {

// Calls `done` every 20 ms until it returns true or `timeout` has passed; returns its last
// answer.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

class RunningContainer {
 public:
  // Starts container `id` of `service` (the annotation), running `script` through /bin/sh
  // -c as root, its hook asking `node`'s socket; `edit` may change the bundle's config
  // first. Returns when runc has (the prestart hook has run): ok() says whether the
  // container runs; if not, error() holds runc's words, the hook's line among them.
  RunningContainer(const Daemon& node, const std::string& service, const std::string& id,
                   const std::string& script, const std::function<void(Bundle&)>& edit = nullptr);
  ~RunningContainer();  // Stop()
  RunningContainer(const RunningContainer&) = delete;
  RunningContainer& operator=(const RunningContainer&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  const std::string& id() const { return id_; }
  // The container's init in the host's pid namespace; -1 when it is not running.
  pid_t pid() const { return pid_; }
  const TempDir& dir() const { return dir_; }

  // What the container wrote to its stdout and stderr so far (a file on the host).
  std::string Output() const;
  // Waits (up to `timeout`) until Output() holds `part`.
  bool WaitForOutput(const std::string& part,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // /proc/PID/root/run/secrets/NAME: the container's file as the container sees it.
  std::string HostPath(const std::string& name) const;
  // Its content; nullopt when it cannot be opened.
  std::optional<std::string> Read(const std::string& name) const;
  // The names in the container's /run/secrets, sorted; empty when it has none.
  std::vector<std::string> List() const;
  struct FileStat {
    unsigned mode = 0;  // permission bits
    unsigned uid = 0;
    unsigned gid = 0;
  };
  std::optional<FileStat> Stat(const std::string& name) const;
  // Waits (up to `timeout`) until the container's NAME holds `content` (nullopt: until it
  // is gone).
  bool WaitForContent(const std::string& name, const std::optional<std::string>& content,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // `runc exec ID ARGS...`, its outputs captured.
  CommandResult Exec(const std::vector<std::string>& args) const;

  // SIGKILL, then `runc delete` once it has stopped (the poststop hook ends the lease).
  // Idempotent.
  void Stop();

 private:
  TempDir dir_;
  Runtime runtime_;
  std::string state_dir_;
  std::string id_;
  std::string output_path_;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace ocisecrets::itest
