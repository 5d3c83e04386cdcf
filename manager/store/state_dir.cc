#include "manager/store/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

namespace ocisecrets {
namespace {

constexpr const char* kLockFileName = "lock";

// mkdir that treats "already there" as success; the caller checks what is there.
Status MakeDir(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return Status::Ok();
  return PosixError("mkdir " + path, errno);
}

// Creates the missing parents of path 0755 and path itself 0700.
Status MakeDirs(const std::string& path) {
  for (std::size_t pos = path.find('/', 1); pos != std::string::npos;
       pos = path.find('/', pos + 1)) {
    if (path[pos - 1] == '/') continue;  // "a//b"
    RETURN_IF_ERROR(MakeDir(path.substr(0, pos), 0755), "");
  }
  return MakeDir(path, 0700);
}

// The pid written in a lock file held by someone else, or "unknown".
std::string ReadLockHolder(int fd) {
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "unknown";
  long pid = 0;
  auto [end, ec] = std::from_chars(buf, buf + n, pid);
  if (ec != std::errc() || pid <= 0) return "unknown";
  return std::to_string(pid);
}

}  // namespace

Result<std::unique_ptr<StateDir>> StateDir::Open(const std::string& path_in) {
  std::string path = path_in;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::string ctx = "state dir " + path;
  if (path.empty()) return Status::InvalidArgument("state dir: empty path");

  RETURN_IF_ERROR(MakeDirs(path), ctx);
  int dir_fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    int err = errno;
    if (err == ENOTDIR) return Status::FailedPrecondition(ctx + ": exists and is not a directory");
    return PosixError(ctx + ": open", err);
  }
  auto fail = [&](Status s) {
    close(dir_fd);
    return s;
  };

  struct stat st {};
  if (fstat(dir_fd, &st) != 0) return fail(PosixError(ctx + ": stat", errno));
  if (st.st_uid != geteuid()) {
    return fail(Status::FailedPrecondition(ctx + ": owned by uid " + std::to_string(st.st_uid) +
                                           ", not by us (uid " + std::to_string(geteuid()) +
                                           "); chown it or pick another --state-dir"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(Status::FailedPrecondition(ctx + ": mode " + mode +
                                           " is group- or world-writable; chmod 0700 it"));
  }

  int lock_fd = openat(dir_fd, kLockFileName, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd < 0) return fail(PosixError(ctx + ": open lock file", errno));
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = ReadLockHolder(lock_fd);
    close(lock_fd);
    if (err == EWOULDBLOCK) {
      return fail(Status::FailedPrecondition("state dir " + path +
                                             " is in use by another oci-secretsd (pid " + holder +
                                             ")"));
    }
    return fail(PosixError(ctx + ": lock", err));
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(lock_fd, 0) != 0 ||
      pwrite(lock_fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int err = errno;
    close(lock_fd);
    return fail(PosixError(ctx + ": write pid to lock file", err));
  }
  return std::unique_ptr<StateDir>(new StateDir(path, dir_fd, lock_fd));
}

StateDir::~StateDir() {
  // Closing the fd releases the flock. The pid stays in the file: harmless, and a reader
  // only trusts it while the lock is held.
  if (lock_fd_ >= 0) close(lock_fd_);
  if (dir_fd_ >= 0) close(dir_fd_);
}

std::string StateDir::File(std::string_view name) const {
  std::string p = path_;
  if (p != "/") p += '/';
  p += name;
  return p;
}

}  // namespace ocisecrets
