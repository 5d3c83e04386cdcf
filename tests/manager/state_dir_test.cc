#include "manager/store/state_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "tests/manager/store_test_util.h"
#include "tests/testing/requirements.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

using testing_util::TempDir;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(StateDirTest, CreatesMissingDirPrivateWithParents) {
  TempDir tmp;
  umask(022);
  std::string path = tmp.File("a/b/state");
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(path);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(ModeOf(path), 0700u);
  EXPECT_EQ(ModeOf(tmp.File("a")), 0755u);
  EXPECT_EQ(ModeOf(tmp.File("a/b")), 0755u);
  EXPECT_EQ((*dir)->File("store.db"), path + "/store.db");
  EXPECT_GE((*dir)->dir_fd(), 0);
}

TEST(StateDirTest, WritesOurPidIntoTheLockFile) {
  TempDir tmp;
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(tmp.File("s"));
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(testing_util::ReadFileBytes(tmp.File("s/lock")), std::to_string(getpid()) + "\n");
  EXPECT_EQ(ModeOf(tmp.File("s/lock")), 0600u);
}

TEST(StateDirTest, AcceptsExistingPrivateDirWithTrailingSlash) {
  TempDir tmp;
  ASSERT_EQ(mkdir(tmp.File("s").c_str(), 0700), 0);
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(tmp.File("s") + "/");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ((*dir)->path(), tmp.File("s"));
}

TEST(StateDirTest, RefusesAFileInsteadOfADirectory) {
  TempDir tmp;
  testing_util::WriteFileBytes(tmp.File("f"), "x", 0600);
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(tmp.File("f"));
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(dir.status().message().find("not a directory"), std::string::npos)
      << dir.status().message();
}

TEST(StateDirTest, RefusesAParentThatIsAFile) {
  TempDir tmp;
  testing_util::WriteFileBytes(tmp.File("f"), "x", 0600);
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(tmp.File("f/state"));
  ASSERT_TRUE(IsError(dir, StatusCode::kIOError, "ENOTDIR"));
}

TEST(StateDirTest, RefusesGroupOrWorldWritableDirs) {
  struct Case {
    const char* description;
    mode_t mode;
  };
  for (const Case& c : {Case{"world-writable", 0777}, Case{"group-writable", 0770},
                        Case{"world-writable only", 0702}}) {
    TempDir tmp;
    std::string path = tmp.File("s");
    ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
    ASSERT_EQ(chmod(path.c_str(), c.mode), 0);
    Result<std::unique_ptr<StateDir>> dir = StateDir::Open(path);
    ASSERT_FALSE(dir.ok()) << c.description;
    EXPECT_EQ(dir.status().code(), StatusCode::kFailedPrecondition) << c.description;
    EXPECT_NE(dir.status().message().find("chmod 0700"), std::string::npos)
        << c.description << ": " << dir.status().message();
    EXPECT_NE(access((path + "/lock").c_str(), F_OK), 0) << c.description << ": changed nothing";
  }
}

TEST(StateDirTest, RefusesADirOwnedBySomeoneElse) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("chown"));
  TempDir tmp;
  std::string path = tmp.File("s");
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(path);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(dir.status().message().find("owned by uid 65534"), std::string::npos)
      << dir.status().message();
}

TEST(StateDirTest, SecondOpenInTheSameProcessIsRefused) {
  TempDir tmp;
  Result<std::unique_ptr<StateDir>> first = StateDir::Open(tmp.File("s"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<std::unique_ptr<StateDir>> second = StateDir::Open(tmp.File("s"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(), "state dir " + tmp.File("s") +
                                           " is in use by another oci-secretsd (pid " +
                                           std::to_string(getpid()) + ")");
}

TEST(StateDirTest, AnotherProcessIsRefusedWhileWeHoldTheLock) {
  TempDir tmp;
  Result<std::unique_ptr<StateDir>> held = StateDir::Open(tmp.File("s"));
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  const std::string want = "(pid " + std::to_string(getpid()) + ")";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Result<std::unique_ptr<StateDir>> r = StateDir::Open(tmp.File("s"));
    bool refused = !r.ok() && r.status().code() == StatusCode::kFailedPrecondition &&
                   r.status().message().find(want) != std::string::npos;
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child was not refused, or not with our pid";
}

TEST(StateDirTest, LockIsReleasedWhenTheStateDirCloses) {
  TempDir tmp;
  {
    Result<std::unique_ptr<StateDir>> first = StateDir::Open(tmp.File("s"));
    ASSERT_TRUE(first.ok()) << first.status().ToString();
  }
  Result<std::unique_ptr<StateDir>> again = StateDir::Open(tmp.File("s"));
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST(StateDirTest, RefusesAnEmptyPath) {
  EXPECT_EQ(StateDir::Open("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ocisecrets
