// Helpers for the store's unit tests: file helpers, and TempDir (tests/testing/temp_dir.h).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/testing/temp_dir.h"

namespace ocisecrets::testing_util {

// The one TempDir of every test; this name stays for the store tests that use it.
using ::ocisecrets::testing::TempDir;

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const std::string& path, const std::string& bytes, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

}  // namespace ocisecrets::testing_util
