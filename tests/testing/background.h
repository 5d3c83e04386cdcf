// A long-running helper process (containerd, dockerd) for tests and benchmarks, in its
// own session so that stopping it also stops what it started.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ocisecrets::testing {

// Starts argv[0] (an absolute path) with `argv`, the parent's environment plus `env`
// ("K=V" entries), stdin from /dev/null and stdout and stderr appended to `log_path`.
// The destructor (or Stop) sends SIGTERM to its process group, waits up to 20 s, then
// SIGKILLs the group. Not thread-safe.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& log_path,
             const std::vector<std::string>& env = {});
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  // False when fork failed or after Stop.
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void Stop();

 private:
  pid_t pid_ = -1;
};

}  // namespace ocisecrets::testing
