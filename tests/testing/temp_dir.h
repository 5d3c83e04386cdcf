// The one temp-dir helper of every test: a fresh directory under /tmp (short paths, so
// unix sockets inside stay under 108 bytes), mode 0700, removed recursively at the end
// without following symlinks, also when an ASSERT fails half-way.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

namespace ocisecrets::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ocs-XXXXXX";
    const char* p = mkdtemp(tmpl);
    EXPECT_NE(p, nullptr) << "mkdtemp /tmp/ocs-XXXXXX: " << std::strerror(errno);
    path_ = p != nullptr ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }
  std::string operator/(std::string_view name) const { return File(name); }

  // Writes File(name) with `content` (created with `mode`, or truncated and set to it;
  // a symlink there is refused) and returns its path. Fails the test on error.
  std::string WriteFile(std::string_view name, std::string_view content, mode_t mode = 0600) const {
    std::string p = File(name);
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
      ADD_FAILURE() << "open " << p << ": " << std::strerror(errno);
      return p;
    }
    while (!content.empty()) {
      ssize_t n = ::write(fd, content.data(), content.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ADD_FAILURE() << "write " << p << ": " << std::strerror(errno);
        break;
      }
      content.remove_prefix(static_cast<std::size_t>(n));
    }
    EXPECT_EQ(::fchmod(fd, mode), 0) << "chmod " << p << ": " << std::strerror(errno);
    ::close(fd);
    return p;
  }

 private:
  std::string path_;
};

}  // namespace ocisecrets::testing
