// What a test needs from the machine, as assertions that fail (never skip) and say how
// to get it: CI installs every package of packaging/deps.sh and runs the tests as root
// (packaging/test.sh does both), so a missing runtime or a non-root run is a broken
// test bed, not a reason to pass quietly.
//
//   ASSERT_TRUE(testing::IsRoot("runc"));
//   ASSERT_TRUE(testing::IsInstalled("/usr/bin/crun", "crun"));
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <string_view>

namespace ocisecrets::testing {

// Success when this process runs as root; otherwise a failure saying that `what` needs
// root and that the tests run as root (packaging/test.sh runs them so).
inline ::testing::AssertionResult IsRoot(std::string_view what) {
  if (::geteuid() == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << std::string(what) << " needs root (euid " << ::geteuid()
                                       << "): run the tests as root, as packaging/test.sh does";
}

// Success when `path` is an executable file; otherwise a failure naming it and the Debian
// package that provides it (listed in packaging/deps.sh, installed by packaging/test.sh).
inline ::testing::AssertionResult IsInstalled(const std::string& path, std::string_view package) {
  if (::access(path.c_str(), X_OK) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << path << " is missing: install the Debian package " << std::string(package)
         << " (packaging/deps.sh lists it; packaging/test.sh installs it)";
}

}  // namespace ocisecrets::testing
