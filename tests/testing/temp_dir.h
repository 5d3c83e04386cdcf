// The one temp-dir helper of every test: a fresh directory under /tmp (short paths, so
// unix sockets inside stay under 108 bytes), removed recursively at the end without
// following symlinks, also when an ASSERT fails half-way.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ocisecrets::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ocs-XXXXXX";
    const char* p = mkdtemp(tmpl);
    EXPECT_NE(p, nullptr) << "mkdtemp /tmp/ocs-XXXXXX";
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
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  std::string operator/(const std::string& name) const { return File(name); }

 private:
  std::string path_;
};

}  // namespace ocisecrets::testing
