// The manager's state directory (--state-dir): checked, created when missing, and locked
// so that exactly one oci-secretsd uses it at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace ocisecrets {

class StateDir {
 public:
  // Opens path as the state directory. Creates it 0700 when missing (missing parents
  // 0755). Refuses a path that is not a directory, is not owned by our effective uid, or
  // is group- or world-writable. Takes an exclusive flock on PATH/lock and writes our pid
  // into it; FailedPrecondition "state dir X is in use by another oci-secretsd (pid N)"
  // when another process (or another StateDir in this process) holds it.
  static Result<std::unique_ptr<StateDir>> Open(const std::string& path);

  // Releases the lock.
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  // The directory as given to Open.
  const std::string& path() const { return path_; }
  // path()/name, for files inside the state dir ("store.db", "root.key").
  std::string File(std::string_view name) const;
  // An O_DIRECTORY fd on the state dir, valid for this object's lifetime.
  int dir_fd() const { return dir_fd_; }

 private:
  StateDir(std::string path, int dir_fd, int lock_fd)
      : path_(std::move(path)), dir_fd_(dir_fd), lock_fd_(lock_fd) {}

  std::string path_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
};

}  // namespace ocisecrets
