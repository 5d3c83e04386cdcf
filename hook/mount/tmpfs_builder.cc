#include "hook/mount/tmpfs_builder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "hook/mount/syscalls.h"
#include "shared/fault_point.h"

namespace ocisecrets::hook {
namespace {

constexpr std::uint64_t kPage = 4096;

Result<std::vector<std::string>> SplitRelative(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("empty file name");
  if (path.front() == '/') return Status::InvalidArgument("file " + path + ": must be relative");
  if (path.find('\0') != std::string::npos || path.find('\n') != std::string::npos) {
    return Status::InvalidArgument("file name holds NUL or newline");
  }
  std::vector<std::string> comps;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string c = path.substr(start, end - start);
    if (c.empty() || c == "." || c == "..") {
      return Status::InvalidArgument("file " + path + ": empty, \".\" or \"..\" component");
    }
    if (c.size() > 255) return Status::InvalidArgument("file " + path + ": component too long");
    comps.push_back(std::move(c));
    if (end == path.size()) break;
    start = end + 1;
  }
  return comps;
}

Status Fsconfig(int fsfd, const char* key, const std::string& value) {
  if (sys::Fsconfig(fsfd, FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
    return PosixError(std::string("fsconfig ") + key + "=" + value, errno);
  }
  return Status::Ok();
}

// Writes the first `size` bytes of data.
Status WriteAll(int fd, const SecretBytes& data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data.data() + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

// Opens (creating as needed) the directory for `comps[0..n-1]` under the tmpfs root.
Result<ScopedFd> OpenParent(int root_fd, const std::vector<std::string>& comps,
                            const TmpfsOptions& options) {
  ScopedFd cur(openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur.valid()) return PosixError("open tmpfs root", errno);
  for (std::size_t i = 0; i + 1 < comps.size(); ++i) {
    if (mkdirat(cur.get(), comps[i].c_str(), 0755) == 0) {
      if (fchownat(cur.get(), comps[i].c_str(), options.root_uid, options.root_gid,
                   AT_SYMLINK_NOFOLLOW) != 0) {
        return PosixError("chown " + comps[i], errno);
      }
    } else if (errno != EEXIST) {
      return PosixError("mkdir " + comps[i], errno);
    }
    int fd = openat(cur.get(), comps[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return PosixError("open " + comps[i], errno);
    cur.Reset(fd);
  }
  return cur;
}

}  // namespace

Status ValidateTmpfsFiles(const std::vector<TmpfsFile>& files, const TmpfsOptions& options) {
  std::set<std::string> seen;
  std::uint64_t need = 0;
  for (const TmpfsFile& f : files) {
    ASSIGN_OR_RETURN(std::vector<std::string> comps, SplitRelative(f.path), "");
    if (!seen.insert(f.path).second) return Status::InvalidArgument("file " + f.path + ": duplicate");
    if ((f.mode & ~0777u) != 0) {
      return Status::InvalidArgument("file " + f.path + ": mode must be within 0777");
    }
    if (f.data == nullptr) return Status::InvalidArgument("file " + f.path + ": no data");
    need += (f.data->size() + kPage - 1) / kPage * kPage + kPage * (comps.size() - 1);
  }
  if (need > options.size_bytes) {
    return Status::InvalidArgument("the secrets need about " + std::to_string(need) +
                                   " bytes, more than tmpfs_size_bytes " +
                                   std::to_string(options.size_bytes));
  }
  return Status::Ok();
}

Result<ScopedFd> BuildSecretsTmpfs(const std::vector<TmpfsFile>& files,
                                   const TmpfsOptions& options) {
  RETURN_IF_ERROR(ValidateTmpfsFiles(files, options), "files");
  ScopedFd fsfd(sys::Fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fsfd.valid()) return PosixError("fsopen tmpfs", errno);
  // The name operators see in the container's mount table.
  RETURN_IF_ERROR(Fsconfig(fsfd.get(), "source", "oci-secrets"), "");
  RETURN_IF_ERROR(Fsconfig(fsfd.get(), "size", std::to_string(options.size_bytes)), "");
  std::set<std::string> dirs;  // every subdirectory the files need, for the inode limit
  for (const TmpfsFile& f : files) {
    for (std::size_t slash = f.path.find('/'); slash != std::string::npos;
         slash = f.path.find('/', slash + 1)) {
      dirs.insert(f.path.substr(0, slash));
    }
  }
  RETURN_IF_ERROR(
      Fsconfig(fsfd.get(), "nr_inodes", std::to_string(files.size() + dirs.size() + 16)), "");
  RETURN_IF_ERROR(Fsconfig(fsfd.get(), "mode", "0755"), "");
  // Keeps payloads out of swap; kernels before 6.4 do not know the flag: optional.
  (void)sys::Fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, "noswap", nullptr, 0);
  if (sys::Fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return PosixError("fsconfig create", errno);
  }
  ScopedFd mnt(sys::Fsmount(fsfd.get(), FSMOUNT_CLOEXEC,
                            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (!mnt.valid()) return PosixError("fsmount", errno);
  if (fchownat(mnt.get(), "", options.root_uid, options.root_gid, AT_EMPTY_PATH) != 0) {
    return PosixError("chown tmpfs root", errno);
  }
  // The tmpfs is reachable by no path until AttachTmpfs: files are created with their
  // final mode (umask cleared, so that 0666 stays 0666), and chowned only when their owner
  // is not the creator. Every file costs open, write, close.
  umask(0);
  const uid_t creator_uid = geteuid();
  const gid_t creator_gid = getegid();
  for (const TmpfsFile& f : files) {
    ASSIGN_OR_RETURN(std::vector<std::string> comps, SplitRelative(f.path), "");
    // A file at the top (the common case) is created through the tmpfs's own descriptor.
    ScopedFd dir;
    if (comps.size() > 1) {
      ASSIGN_OR_RETURN(dir, OpenParent(mnt.get(), comps, options), "file " + f.path);
    }
    ScopedFd fd(openat(comps.size() > 1 ? dir.get() : mnt.get(), comps.back().c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f.mode));
    if (!fd.valid()) return PosixError("create file " + f.path, errno);
    // A test-only fault point (shared/fault_point.h): half of each file, as a torn write.
    const std::size_t size = OCI_FAULT_POINT("partial-file") ? f.data->size() / 2 : f.data->size();
    RETURN_IF_ERROR(WriteAll(fd.get(), *f.data, size), "file " + f.path);
    if ((f.uid != creator_uid || f.gid != creator_gid) && fchown(fd.get(), f.uid, f.gid) != 0) {
      return PosixError("chown file " + f.path, errno);
    }
  }
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (sys::MountSetattr(mnt.get(), "", AT_EMPTY_PATH, &attr) != 0) {
    return PosixError("mount_setattr read-only", errno);
  }
  return mnt;
}

Status AttachTmpfs(int mount_fd, int target_dir_fd) {
  if (sys::MoveMount(mount_fd, "", target_dir_fd, "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    return PosixError("move_mount", errno);
  }
  return Status::Ok();
}

Result<SwapMode> SwapTmpfs(int new_mount_fd, int current_root_fd, bool try_beneath) {
  constexpr unsigned kFds = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
  if (try_beneath) {
    if (sys::MoveMount(new_mount_fd, "", current_root_fd, "", kFds | MOVE_MOUNT_BENEATH) == 0) {
      // The new tmpfs is under the old one: detaching the old top reveals it.
      if (fchdir(current_root_fd) != 0) return PosixError("fchdir to the old tmpfs", errno);
      if (sys::Umount2(".", MNT_DETACH) != 0) {
        return PosixError("umount2 the old tmpfs (the new one is beneath it)", errno);
      }
      return SwapMode::kBeneath;
    }
    if (errno != EINVAL) return PosixError("move_mount beneath", errno);
  }
  if (sys::MoveMount(new_mount_fd, "", current_root_fd, "", kFds) != 0) {
    return PosixError("move_mount on top", errno);
  }
  return SwapMode::kOnTop;
}

}  // namespace ocisecrets::hook
