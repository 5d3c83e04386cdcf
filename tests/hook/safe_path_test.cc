// Resolution of the secrets dir in hostile rootfs trees, and the detached tmpfs. These run
// without containers; the mount ones run in a child in its own mount namespace (root).
#include "hook/mount/safe_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <functional>
#include <string>

#include "hook/mount/tmpfs_builder.h"
#include "test_util.h"
#include "tests/testing/requirements.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::hook {
namespace {

using ::ocisecrets::testing::IsError;

using ::ocisecrets::testing::TempDir;

// A rootfs with /etc, /tmp and a file, as an image would have.
class SafePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "rootfs";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/etc").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/tmp").c_str(), 0755), 0);
    Result<ScopedFd> fd = OpenRootDir(root_);
    ASSERT_TRUE(fd.ok()) << fd.status().message();
    root_fd_ = std::move(*fd);
  }
  Result<ScopedFd> Open(const std::string& target = "/run/secrets") {
    return OpenSecretsDir(root_fd_.get(), target, DirOwner{});
  }
  // After entering another mount namespace the root must be opened again: an fd keeps
  // the mounts of the namespace it was opened in.
  Result<ScopedFd> OpenFresh(const std::string& target = "/run/secrets") {
    Result<ScopedFd> fd = OpenRootDir(root_);
    if (!fd.ok()) return fd.status();
    return OpenSecretsDir(fd->get(), target, DirOwner{});
  }
  bool IsDir(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  // Inode of an fd, to compare with where we expect it.
  static ino_t Inode(int fd) {
    struct stat st {};
    fstat(fd, &st);
    return st.st_ino;
  }
  static ino_t InodeOf(const std::string& path) {
    struct stat st {};
    lstat(path.c_str(), &st);
    return st.st_ino;
  }

  TempDir dir_;
  TempDir outside_;  // stands for the host: nothing may appear here
  std::string root_;
  ScopedFd root_fd_;
};

TEST_F(SafePathTest, CreatesMissingComponentsOneAtATime) {
  Result<ScopedFd> fd = Open("/run/app/secrets");
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_TRUE(IsDir(root_ + "/run/app/secrets"));
  EXPECT_EQ(Inode(fd->get()), InodeOf(root_ + "/run/app/secrets"));
}

TEST_F(SafePathTest, OpensAnExistingDirectory) {
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root_ + "/run/secrets").c_str(), 0700), 0);
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_EQ(Inode(fd->get()), InodeOf(root_ + "/run/secrets"));
}

TEST_F(SafePathTest, RunSymlinkToEtcStaysInsideTheRoot) {
  ASSERT_EQ(symlink("/etc", (root_ + "/run").c_str()), 0);
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  // The secrets land in the image's /etc, never the host's.
  EXPECT_TRUE(IsDir(root_ + "/etc/secrets"));
  EXPECT_EQ(Inode(fd->get()), InodeOf(root_ + "/etc/secrets"));
  struct stat st;
  EXPECT_NE(lstat("/etc/secrets", &st), 0);
}

TEST_F(SafePathTest, RunSymlinkToAbsoluteHostPathFailsClosed) {
  ASSERT_EQ(symlink(outside_.path().c_str(), (root_ + "/run").c_str()), 0);
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(IsError(fd, StatusCode::kFailedPrecondition, "symlink"));
  EXPECT_FALSE(IsDir(outside_ / "secrets"));
}

TEST_F(SafePathTest, SecretsSymlinkClimbingOutFailsClosed) {
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  std::string escape = "../../../../.." + outside_.path() + "/x";
  ASSERT_EQ(symlink(escape.c_str(), (root_ + "/run/secrets").c_str()), 0);
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(IsError(fd, StatusCode::kFailedPrecondition, "/run/secrets"));
  EXPECT_FALSE(IsDir(outside_ / "x"));
}

TEST_F(SafePathTest, SecretsSymlinkToExistingDirInsideRootIsFollowedInsideIt) {
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root_ + "/tmp/x").c_str(), 0755), 0);
  ASSERT_EQ(symlink("../../../../tmp/x", (root_ + "/run/secrets").c_str()), 0);
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_EQ(Inode(fd->get()), InodeOf(root_ + "/tmp/x"));
}

TEST_F(SafePathTest, RegularFileIsRefused) {
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  testing::WriteFile(root_ + "/run/secrets", "not a dir");
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(IsError(fd, StatusCode::kFailedPrecondition, "not a directory"));
  EXPECT_EQ(testing::ReadFile(root_ + "/run/secrets"), "not a dir");
}

TEST_F(SafePathTest, FifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkfifo((root_ + "/run/secrets").c_str(), 0644), 0);
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(IsError(fd, StatusCode::kFailedPrecondition, "not a directory"));
}

TEST_F(SafePathTest, SymlinkLoopIsRefused) {
  ASSERT_EQ(symlink("/loop2", (root_ + "/loop1").c_str()), 0);
  ASSERT_EQ(symlink("/loop1", (root_ + "/loop2").c_str()), 0);
  ASSERT_EQ(symlink("/loop1", (root_ + "/run").c_str()), 0);
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(IsError(fd, StatusCode::kFailedPrecondition, "symlink"));
}

TEST_F(SafePathTest, DotDotInTheTargetIsRefused) {
  Result<ScopedFd> fd = Open("/run/../../secrets");
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsDir(root_ + "/run"));
}

TEST_F(SafePathTest, DotDotSymlinksAreClampedToTheRoot) {
  ASSERT_EQ(symlink("../../../../..", (root_ + "/run").c_str()), 0);
  Result<ScopedFd> fd = Open();
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_EQ(Inode(fd->get()), InodeOf(root_ + "/secrets"));
}

TEST_F(SafePathTest, RelativeOrRootTargetIsRefused) {
  EXPECT_TRUE(IsError(Open("run/secrets"), StatusCode::kInvalidArgument, "path must be absolute"));
  EXPECT_TRUE(IsError(Open("/"), StatusCode::kInvalidArgument, "must not be \"/\""));
}

// Runs fn in a forked child in a private mount namespace; returns its exit code.
int InPrivateMountNamespace(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0) _exit(100);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(101);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(SafePathTest, MountPointIsRefused) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root_ + "/run/secrets").c_str(), 0755), 0);
  int code = InPrivateMountNamespace([&] {
    if (mount("tmpfs", (root_ + "/run/secrets").c_str(), "tmpfs", 0, nullptr) != 0) return 2;
    Result<ScopedFd> fd = OpenFresh();
    if (fd.ok()) return 3;
    if (fd.status().message().find("already a mount point") == std::string::npos) return 4;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

// A tmpfs attached under a mount with shared propagation would appear in every peer
// namespace (the host's among them): the hook refuses such a place, and accepts the
// same directory once its mount is private or a slave.
TEST_F(SafePathTest, SharedPropagationIsRefusedPrivateAndSlaveAreNot) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  int code = InPrivateMountNamespace([&] {
    const std::string run = root_ + "/run";
    if (mount("tmpfs", run.c_str(), "tmpfs", 0, "size=64k") != 0) return 2;
    if (mount(nullptr, run.c_str(), nullptr, MS_SHARED, nullptr) != 0) return 3;
    ScopedFd dir(open(run.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return 4;
    Status shared = RefuseSharedMount(dir.get());
    if (shared.ok()) return 5;
    if (shared.message().find("shared propagation") == std::string::npos) return 6;
    if (mount(nullptr, run.c_str(), nullptr, MS_SLAVE, nullptr) != 0) return 7;
    if (!RefuseSharedMount(dir.get()).ok()) return 8;
    if (mount(nullptr, run.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) return 9;
    if (!RefuseSharedMount(dir.get()).ok()) return 10;
    return 0;
  });
  EXPECT_EQ(code, 0) << "the step that failed, by its return code in the test";
}

TEST_F(SafePathTest, PseudoFileSystemIsRefused) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
  ASSERT_EQ(mkdir((root_ + "/proc").c_str(), 0755), 0);
  ASSERT_EQ(symlink("/proc", (root_ + "/run").c_str()), 0);
  int code = InPrivateMountNamespace([&] {
    if (mount("proc", (root_ + "/proc").c_str(), "proc", 0, nullptr) != 0) return 2;
    Result<ScopedFd> fd = OpenFresh();
    if (fd.ok()) return 3;
    if (fd.status().message().find("pseudo file system") == std::string::npos) return 4;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

// config.json binding a host dir at /run: /run/secrets is not made in the host dir.
TEST_F(SafePathTest, BindMountOfAnotherDirGetsNoDirectory) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  int code = InPrivateMountNamespace([&] {
    if (mount(outside_.path().c_str(), (root_ + "/run").c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return 2;
    }
    Result<ScopedFd> fd = OpenFresh();
    if (fd.ok()) return 3;
    if (fd.status().message().find("bind mount of another directory") == std::string::npos) {
      return 4;
    }
    return 0;
  });
  EXPECT_EQ(code, 0);
  EXPECT_FALSE(IsDir(outside_ / "secrets"));
}

// ... but a bound dir that already has the target is used as it is (nothing is made).
TEST_F(SafePathTest, BindMountHoldingTheTargetIsUsed) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((outside_ / "secrets").c_str(), 0755), 0);
  int code = InPrivateMountNamespace([&] {
    if (mount(outside_.path().c_str(), (root_ + "/run").c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return 2;
    }
    return OpenFresh().ok() ? 0 : 3;
  });
  EXPECT_EQ(code, 0);
}

// A tmpfs mounted at /run (as config.json does): the secrets dir is made in it.
TEST_F(SafePathTest, FreshTmpfsAtRunGetsTheDirectory) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  int code = InPrivateMountNamespace([&] {
    if (mount("tmpfs", (root_ + "/run").c_str(), "tmpfs", 0, nullptr) != 0) return 2;
    Result<ScopedFd> fd = OpenFresh();
    if (!fd.ok()) return 3;
    return IsDir(root_ + "/run/secrets") ? 0 : 4;
  });
  EXPECT_EQ(code, 0);
  EXPECT_FALSE(IsDir(root_ + "/run/secrets"));  // it was in the tmpfs, gone with it
}

// Compose binds each `file:` secret at /run/secrets/NAME (docker -v does the same): our
// tmpfs on /run/secrets would hide them, so the dir is refused naming each of them.
TEST_F(SafePathTest, DirHoldingMountsIsRefusedNamingEachOne) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
  ASSERT_EQ(mkdir((root_ + "/run").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root_ + "/run/secrets").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root_ + "/run/secrets/sub").c_str(), 0755), 0);
  for (const char* f : {"/run/secrets/my secret", "/run/secrets/sub/b"}) {
    ASSERT_EQ(close(open((root_ + f).c_str(), O_CREAT | O_WRONLY, 0644)), 0);
  }
  dir_.WriteFile("host_file", "x", 0644);
  int code = InPrivateMountNamespace([&] {
    for (const char* f : {"/run/secrets/my secret", "/run/secrets/sub/b"}) {
      if (mount(dir_.File("host_file").c_str(), (root_ + f).c_str(), nullptr, MS_BIND,
                nullptr) != 0) {
        return 2;
      }
    }
    Result<ScopedFd> fd = OpenFresh();
    if (fd.ok()) return 3;
    if (fd.status().code() != StatusCode::kFailedPrecondition) return 4;
    const std::string m = fd.status().message();
    if (m.find("already holds mounts (/run/secrets/my secret, /run/secrets/sub/b)") ==
        std::string::npos) {
      return 5;
    }
    if (m.find("they would be hidden") == std::string::npos) return 6;
    return 0;
  });
  EXPECT_EQ(code, 0) << "the step that failed, by its return code in the test";
}

// Mounts beside the dir, even one whose name starts with the dir's, hide nothing.
TEST_F(SafePathTest, MountsBesideTheDirAreNotHidden) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
  for (const char* d : {"/run", "/run/secrets", "/run/secrets2", "/run/other"}) {
    ASSERT_EQ(mkdir((root_ + d).c_str(), 0755), 0) << d;
  }
  int code = InPrivateMountNamespace([&] {
    for (const char* d : {"/run/secrets2", "/run/other"}) {
      if (mount("tmpfs", (root_ + d).c_str(), "tmpfs", 0, "size=64k") != 0) return 2;
    }
    Result<ScopedFd> fd = OpenFresh();
    return fd.ok() ? 0 : 3;
  });
  EXPECT_EQ(code, 0);
}

// The detached tmpfs, checked through its mount fd without attaching it.
class TmpfsBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(::ocisecrets::testing::IsRoot("mounting (tmpfs, move_mount)"));
    a_.assign({'s', '3', 'c', 'r', '3', 't'});
    b_.assign(5000, 'x');
  }
  SecretBytes a_, b_;
};

TEST_F(TmpfsBuilderTest, BuildsReadOnlyNosuidNodevNoexecTmpfsWithOwnersAndModes) {
  std::vector<TmpfsFile> files = {{"db_password", 999, 998, 0400, &a_},
                                  {"certs/server.pem", 0, 0, 0444, &b_}};
  TmpfsOptions options;
  options.size_bytes = 1 << 20;
  options.root_uid = 7;
  options.root_gid = 8;
  Result<ScopedFd> mnt = BuildSecretsTmpfs(files, options);
  ASSERT_TRUE(mnt.ok()) << mnt.status().message();

  struct statfs sfs {};
  ASSERT_EQ(fstatfs(mnt->get(), &sfs), 0);
  EXPECT_EQ(static_cast<unsigned long>(sfs.f_type), TMPFS_MAGIC);
  EXPECT_TRUE(sfs.f_flags & ST_RDONLY);
  EXPECT_TRUE(sfs.f_flags & ST_NOSUID);
  EXPECT_TRUE(sfs.f_flags & ST_NODEV);
  EXPECT_TRUE(sfs.f_flags & ST_NOEXEC);
  EXPECT_EQ(static_cast<std::uint64_t>(sfs.f_blocks) * sfs.f_bsize, 1u << 20);

  struct stat st {};
  ASSERT_EQ(fstatat(mnt->get(), "", &st, AT_EMPTY_PATH), 0);
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  ASSERT_EQ(fstatat(mnt->get(), "db_password", &st, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(st.st_uid, 999u);
  EXPECT_EQ(st.st_gid, 998u);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
  EXPECT_EQ(st.st_size, 6);
  ASSERT_EQ(fstatat(mnt->get(), "certs", &st, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_uid, 7u);

  ScopedFd f(openat(mnt->get(), "certs/server.pem", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(f.valid());
  std::string content(6000, '\0');
  ssize_t n = read(f.get(), content.data(), content.size());
  EXPECT_EQ(n, 5000);
  EXPECT_EQ(content.substr(0, 5000), std::string(5000, 'x'));

  errno = 0;
  EXPECT_LT(openat(mnt->get(), "new", O_WRONLY | O_CREAT | O_CLOEXEC, 0600), 0);
  EXPECT_EQ(errno, EROFS);
}

// Files are created with their final mode: whatever the umask the runtime gave the hook,
// the mode is the service's, for files the creator owns (no chown) and for the others.
TEST_F(TmpfsBuilderTest, ModesSurviveTheRuntimesUmaskWithAndWithoutAChown) {
  const mode_t saved = umask(0077);
  std::vector<TmpfsFile> files = {{"mine", 0, 0, 0666, &a_},
                                  {"theirs", 1000, 1000, 0640, &a_},
                                  {"none", 0, 0, 0, &a_}};
  TmpfsOptions options;
  options.size_bytes = 1 << 20;
  Result<ScopedFd> mnt = BuildSecretsTmpfs(files, options);
  umask(saved);
  ASSERT_TRUE(mnt.ok()) << mnt.status().message();
  struct Want {
    const char* name;
    uid_t uid;
    mode_t mode;
  };
  for (const Want& w : {Want{"mine", 0, 0666}, Want{"theirs", 1000, 0640}, Want{"none", 0, 0}}) {
    struct stat st {};
    ASSERT_EQ(fstatat(mnt->get(), w.name, &st, AT_SYMLINK_NOFOLLOW), 0) << w.name;
    EXPECT_EQ(st.st_mode & 07777, w.mode) << w.name;
    EXPECT_EQ(st.st_uid, w.uid) << w.name;
    EXPECT_EQ(st.st_gid, w.uid) << w.name;
    EXPECT_EQ(st.st_size, 6) << w.name;
  }
}

TEST_F(TmpfsBuilderTest, RefusesBadFilesBeforeBuilding) {
  struct Case {
    const char* description;
    TmpfsFile file;
    const char* error_part;
  };
  SecretBytes big(70000, 'b');
  const std::vector<Case> cases = {
      {"absolute", {"/etc/x", 0, 0, 0444, &a_}, "relative"},
      {"dot-dot", {"../x", 0, 0, 0444, &a_}, ".."},
      {"empty component", {"a//b", 0, 0, 0444, &a_}, "component"},
      {"setuid mode", {"x", 0, 0, 04755, &a_}, "mode"},
      {"too big for the tmpfs", {"x", 0, 0, 0444, &big}, "tmpfs_size_bytes"},
  };
  TmpfsOptions options;
  options.size_bytes = 65536;
  for (const auto& c : cases) {
    Result<ScopedFd> mnt = BuildSecretsTmpfs({c.file}, options);
    EXPECT_TRUE(IsError(mnt, StatusCode::kInvalidArgument, c.error_part)) << c.description;
  }
  Result<ScopedFd> dup = BuildSecretsTmpfs({{"x", 0, 0, 0444, &a_}, {"x", 0, 0, 0444, &a_}},
                                           options);
  ASSERT_TRUE(IsError(dup, StatusCode::kInvalidArgument, "duplicate"));
}

TEST_F(TmpfsBuilderTest, AttachesOntoTheResolvedDirectory) {
  TempDir dir;
  std::string root = dir / "rootfs";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  int code = InPrivateMountNamespace([&] {
    Result<ScopedFd> mnt = BuildSecretsTmpfs({{"token", 0, 0, 0444, &a_}}, TmpfsOptions{});
    if (!mnt.ok()) return 2;
    Result<ScopedFd> rootfd = OpenRootDir(root);
    if (!rootfd.ok()) return 3;
    Result<ScopedFd> target = OpenSecretsDir(rootfd->get(), "/run/secrets", DirOwner{});
    if (!target.ok()) return 4;
    if (!AttachTmpfs(mnt->get(), target->get()).ok()) return 5;
    if (testing::ReadFile(root + "/run/secrets/token") != "s3cr3t") return 6;
    // A second attach onto the same place is refused: it is a mount point now.
    ScopedFd again(open((root + "/run/secrets").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (RefuseMountPoint(again.get()).ok()) return 7;
    return 0;
  });
  EXPECT_EQ(code, 0);
  // Outside the child's namespace nothing is mounted and no payload is on disk.
  EXPECT_TRUE(RefuseMountPoint(ScopedFd(open((root + "/run/secrets").c_str(),
                                             O_PATH | O_DIRECTORY | O_CLOEXEC)).get()).ok());
  EXPECT_NE(access((root + "/run/secrets/token").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace ocisecrets::hook
