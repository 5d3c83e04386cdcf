// The harness itself: what other integration tests rely on.
#include "tests/integration/harness.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace ocisecrets::itest {
namespace {

TEST(HarnessTest, TempDirIsShortPrivateAndRemoved) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    EXPECT_EQ(path.rfind("/tmp/ocs-", 0), 0u) << path;
    EXPECT_LT(dir.File("m.sock").size(), 108u);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    dir.WriteFile("a", "content");
    EXPECT_TRUE(std::filesystem::exists(dir.File("a")));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(HarnessTest, RunCommandPassesStdinAndCapturesBothOutputs) {
  auto r = RunCommand({"/bin/sh", "-c", "cat; echo oops >&2; exit 3"}, "hello\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "oops\n");
}

TEST(HarnessTest, RunCommandHandlesLargeStdinTheChildDoesNotRead) {
  auto r = RunCommand({"/bin/true"}, std::string(4 << 20, 'x'));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(HarnessTest, RunCommandEnvOverridesTheParents) {
  ::setenv("OCS_HARNESS_X", "parent", 1);
  auto r = RunCommand({"/bin/sh", "-c", "echo $OCS_HARNESS_X $OCS_HARNESS_Y"}, {},
                      {"OCS_HARNESS_X=child", "OCS_HARNESS_Y=y"});
  ::unsetenv("OCS_HARNESS_X");
  EXPECT_EQ(r.out, "child y\n");
}

TEST(HarnessTest, RunCommandKillsAChildAtTheTimeout) {
  auto r = RunCommand({"/bin/sleep", "30"}, {}, {}, std::chrono::milliseconds(100));
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_NE(r.err.find("timed out"), std::string::npos);
}

TEST(HarnessTest, RunCommandReportsAMissingProgram) {
  auto r = RunCommand({"/nonexistent/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
}

TEST(HarnessTest, RunCommandCanRunAsAnotherUser) {
  ASSERT_TRUE(testing::IsRoot("setuid to another user"));
  auto r = RunCommand({"/usr/bin/id", "-u"}, {}, {}, std::chrono::seconds(10), RunAs{});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "65534\n");
}

TEST(HarnessTest, BinPathPointsAtTheBuildsBinDir) {
  EXPECT_EQ(BinPath("oci-secrets").substr(BinPath("oci-secrets").size() - 16), "/bin/oci-secrets");
}

}  // namespace
}  // namespace ocisecrets::itest
