#include "shared/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace ocisecrets {
namespace {

// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error close() returns (it can carry a write error).
  int Close() {
    int rc = close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string DirName(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

Result<struct stat> CheckPrivateFile(int fd, const std::string& what) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return PosixError(what + ": stat", errno);
  if (!S_ISREG(st.st_mode)) return Status::FailedPrecondition(what + ": not a regular file");
  if (st.st_uid != geteuid()) {
    return Status::FailedPrecondition(what + ": owned by uid " + std::to_string(st.st_uid) +
                                      ", not by us (uid " + std::to_string(geteuid()) +
                                      "); chown it");
  }
  if ((st.st_mode & 077) != 0) {
    return Status::FailedPrecondition(what + ": mode " + ModeString(st.st_mode) +
                                      " gives group or others access to the key; chmod 0600 it");
  }
  return st;
}

Result<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) return PosixError("open " + path, errno);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return PosixError("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    return Status::InvalidArgument(path + ": larger than " + std::to_string(max_bytes) +
                                   " bytes");
  }
  std::string out;
  std::vector<char> buf(64 * 1024);
  while (true) {
    ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read " + path, errno);
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      return Status::InvalidArgument(path + ": larger than " + std::to_string(max_bytes) +
                                     " bytes");
    }
  }
  return out;
}

Status ReplaceFileAtomically(const std::string& path, const std::string& content, mode_t mode,
                             uid_t uid, gid_t gid, Durability durability) {
  std::string dir = DirName(path);
  std::string tmpl = path + ".oci-secrets-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  Fd fd(mkostemp(name.data(), O_CLOEXEC));
  if (fd.get() < 0) return PosixError("create temporary file in " + dir, errno);
  std::string tmp(name.data());
  auto fail = [&tmp](Status s) {
    unlink(tmp.c_str());
    return s;
  };
  if (fchmod(fd.get(), mode & 07777) != 0) return fail(PosixError("chmod " + tmp, errno));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return fail(PosixError("stat " + tmp, errno));
  if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd.get(), uid, gid) != 0) {
    return fail(PosixError("chown " + tmp, errno));
  }
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(PosixError("write " + tmp, errno));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool sync = durability == Durability::kSync;
  if (sync && fsync(fd.get()) != 0) return fail(PosixError("fsync " + tmp, errno));
  if (fd.Close() != 0) return fail(PosixError("close " + tmp, errno));
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(PosixError("rename " + tmp + " to " + path, errno));
  }
  if (!sync) return Status::Ok();
  Fd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return PosixError("open " + dir, errno);
  if (fsync(dfd.get()) != 0) return PosixError("fsync " + dir, errno);
  return Status::Ok();
}

}  // namespace ocisecrets
