// The hook's log file: one line per container start and per failure, never a payload.
// Logging never fails the hook: errors opening or writing the file are ignored.
#pragma once

#include <string>
#include <string_view>

#include "hook/mount/scoped_fd.h"

namespace ocisecrets::hook {

class HookLog {
 public:
  // Opens (creating 0600, parent dir 0700) `path` for appending; "" means no log file.
  // Open it before entering the container's mount namespace: paths are the host's.
  void Open(const std::string& path);
  bool is_open() const { return fd_.valid(); }
  // Appends "TIME LINE\n"; control characters in `line` become '?'.
  void Write(std::string_view line);

 private:
  ScopedFd fd_;
};

}  // namespace ocisecrets::hook
