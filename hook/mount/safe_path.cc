#include "hook/mount/safe_path.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "hook/mount/syscalls.h"
#include "hook/oci/oci_state.h"

namespace ocisecrets::hook {
namespace {

constexpr std::uint64_t kResolveInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr std::uint64_t kResolveChild =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

// File systems that must never receive a directory or a mount from the hook.
bool IsPseudoFs(long type) {
  switch (static_cast<unsigned long>(type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case SECURITYFS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case BPF_FS_MAGIC:
    case SELINUX_MAGIC:
    case PSTOREFS_MAGIC:
    case EFIVARFS_MAGIC:
    case NSFS_MAGIC:
    case BINFMTFS_MAGIC:
    case 0x19800202:  // mqueue
    case 0x62656570:  // configfs
    case 0x65735543:  // fusectl
      return true;
    default:
      return false;
  }
}

Status RefusePseudoFs(int fd, std::string_view where) {
  struct statfs sfs;
  if (fstatfs(fd, &sfs) != 0) return PosixError("statfs " + std::string(where), errno);
  if (IsPseudoFs(sfs.f_type)) {
    return Status::FailedPrecondition(std::string(where) +
                                      ": is on a pseudo file system (proc, sysfs, cgroup, ...)");
  }
  return Status::Ok();
}

Status ResolveError(const std::string& where, int err) {
  switch (err) {
    case ENOTDIR:
      return Status::FailedPrecondition(where + ": not a directory");
    case ELOOP:
      return Status::FailedPrecondition(where + ": symlink refused (loop, or leads nowhere)");
    case EXDEV:
      return Status::FailedPrecondition(where + ": escapes the container's root");
    default:
      return PosixError(where, err);
  }
}

std::string Display(const std::vector<std::string>& comps, std::size_t upto) {
  std::string s;
  for (std::size_t i = 0; i <= upto && i < comps.size(); ++i) s += "/" + comps[i];
  return s.empty() ? "/" : s;
}

}  // namespace

Result<std::vector<std::string>> SplitContainerPath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return Status::InvalidArgument("path must be absolute: " + std::string(path));
  }
  std::vector<std::string> comps;
  std::size_t start = 1;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view c = path.substr(start, end - start);
    if (c.empty()) return Status::InvalidArgument("empty component in " + std::string(path));
    if (c == "." || c == "..") {
      return Status::InvalidArgument("\".\" or \"..\" in " + std::string(path));
    }
    if (c.find('\0') != std::string_view::npos || c.size() > 255) {
      return Status::InvalidArgument("bad component in " + std::string(path));
    }
    comps.emplace_back(c);
    start = end + 1;
  }
  if (comps.empty()) return Status::InvalidArgument("path must not be \"/\"");
  return comps;
}

Result<ScopedFd> OpenRootDir(const std::string& root_path) {
  int fd = open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError("open rootfs " + root_path, errno);
  return ScopedFd(fd);
}

Result<ScopedFd> OpenSecretsDir(int root_fd, std::string_view path, DirOwner owner) {
  ASSIGN_OR_RETURN(std::vector<std::string> comps, SplitContainerPath(path), "");
  ScopedFd cur(openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cur.valid()) return PosixError("open rootfs", errno);
  std::string prefix;
  bool creating = false;
  for (std::size_t i = 0; i < comps.size(); ++i) {
    const std::string& c = comps[i];
    std::string where = Display(comps, i);
    if (!creating) {
      prefix += (prefix.empty() ? "" : "/") + c;
      open_how how{};
      how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
      how.resolve = kResolveInRoot;
      int fd = sys::Openat2(root_fd, prefix.c_str(), &how);
      if (fd >= 0) {
        cur.Reset(fd);
        continue;
      }
      if (errno != ENOENT) return ResolveError(where, errno);
      creating = true;  // this and every later component get created under `cur`
    }
    RETURN_IF_ERROR(RefusePseudoFs(cur.get(), i == 0 ? "/" : Display(comps, i - 1)),
                    "create " + where);
    RETURN_IF_ERROR(RefuseBindOfAnotherDir(root_fd, cur.get()),
                    "create " + where + ": " + (i == 0 ? "/" : Display(comps, i - 1)));
    bool created = mkdirat(cur.get(), c.c_str(), 0755) == 0;
    if (!created && errno != EEXIST) {
      int err = errno;
      if (err == EROFS) {
        return Status::FailedPrecondition(
            "create " + where +
            ": read-only file system (add the directory to the image, or mount a tmpfs "
            "on its parent)");
      }
      return PosixError("mkdir " + where, err);
    }
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = kResolveChild;
    int fd = sys::Openat2(cur.get(), c.c_str(), &how);
    if (fd < 0) {
      int err = errno;
      struct stat st {};
      if (fstatat(cur.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        return Status::FailedPrecondition(
            where + ": symlink refused (it leads nowhere inside the container's root)");
      }
      return ResolveError(where, err);
    }
    cur.Reset(fd);
    if (created && fchownat(cur.get(), "", owner.uid, owner.gid, AT_EMPTY_PATH) != 0) {
      return PosixError("chown " + where, errno);
    }
  }
  RETURN_IF_ERROR(RefusePseudoFs(cur.get(), path), "");
  RETURN_IF_ERROR(RefuseMountPoint(cur.get()), std::string(path));
  // A directory made just now holds nothing; one that was there may hold the container's
  // own mounts (Compose's bind-mounted secret files), which our tmpfs would cover.
  if (!creating) RETURN_IF_ERROR(RefuseHiddenMounts(cur.get(), path), "");
  return cur;
}

Result<ScopedFd> OpenExistingDir(int root_fd, std::string_view path) {
  ASSIGN_OR_RETURN(std::vector<std::string> comps, SplitContainerPath(path), "");
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = kResolveInRoot;
  int fd = sys::Openat2(root_fd, std::string(path).c_str(), &how);
  if (fd >= 0) return ScopedFd(fd);
  if (errno == ENOENT) return Status::FailedPrecondition("missing");
  return ResolveError(std::string(path), errno);
}

Status RefuseMountPoint(int dir_fd) {
  struct statx stx {};
  if (statx(dir_fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MNT_ID, &stx) !=
      0) {
    return PosixError("statx", errno);
  }
  if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
    if (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) {
      return Status::FailedPrecondition("already a mount point");
    }
    return Status::Ok();
  }
  // Older kernels: a mount root has another mount id than its parent.
  struct statx parent {};
  if (statx(dir_fd, "..", AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &parent) != 0) {
    return PosixError("statx ..", errno);
  }
  if (!(stx.stx_mask & STATX_MNT_ID) || !(parent.stx_mask & STATX_MNT_ID)) {
    return Status::FailedPrecondition("cannot tell whether it is a mount point");
  }
  if (stx.stx_mnt_id != parent.stx_mnt_id)
    return Status::FailedPrecondition("already a mount point");
  return Status::Ok();
}

namespace {

Result<std::uint64_t> MountId(int fd) {
  struct statx stx {};
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0) {
    return PosixError("statx", errno);
  }
  if (!(stx.stx_mask & STATX_MNT_ID))
    return Status::FailedPrecondition("no mount id (kernel too old)");
  return stx.stx_mnt_id;
}

// The host's /proc, when UseHostProc named it (see there); -1: "/proc" by path.
int g_host_proc = -1;

// Opens /proc/thread-self/RELATIVE through the host's /proc when UseHostProc named it.
int OpenThreadSelf(const std::string& relative, int flags) {
  return g_host_proc >= 0 ? openat(g_host_proc, ("thread-self/" + relative).c_str(), flags)
                          : open(("/proc/thread-self/" + relative).c_str(), flags);
}

Result<std::string> ReadMountInfo() {
  int fd = OpenThreadSelf("mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError("open /proc/thread-self/mountinfo", errno);
  Result<std::string> text = ReadAllBounded(fd, 64 << 20);
  close(fd);
  if (!text.ok()) return text.status().WithContext("read /proc/thread-self/mountinfo");
  return text;
}

Result<std::string> MountInfoLine(std::uint64_t mnt_id) {
  ASSIGN_OR_RETURN(std::string text, ReadMountInfo(), "");
  std::string want = std::to_string(mnt_id) + " ";
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    if (std::string_view(text.data() + pos, eol - pos).starts_with(want)) {
      return text.substr(pos, eol - pos);
    }
    pos = eol + 1;
  }
  return Status::FailedPrecondition("mount " + std::to_string(mnt_id) + " not in mountinfo");
}

}  // namespace

void UseHostProc(int proc_dir_fd) { g_host_proc = proc_dir_fd; }

namespace {

// A mountinfo path field with its octal escapes (\040 for a space, ...) undone.
std::string UnescapeMountInfo(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        field.substr(i + 1, 3).find_first_not_of("01234567") == std::string_view::npos) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// Where `fd` is, as this thread's mountinfo names paths (relative to our root).
Result<std::string> FdPath(int fd) {
  char buf[4096];
  std::string link = "fd/" + std::to_string(fd);
  ssize_t n = g_host_proc >= 0 ? readlinkat(g_host_proc, ("thread-self/" + link).c_str(), buf,
                                            sizeof buf)
                               : readlink(("/proc/thread-self/" + link).c_str(), buf, sizeof buf);
  if (n < 0) return PosixError("readlink /proc/thread-self/" + link, errno);
  if (static_cast<std::size_t>(n) == sizeof buf) return Status::FailedPrecondition("its path is too long");
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

Status RefuseHiddenMounts(int dir_fd, std::string_view shown_as) {
  ASSIGN_OR_RETURN(std::uint64_t id, MountId(dir_fd), "hidden mounts check");
  ASSIGN_OR_RETURN(std::string dir, FdPath(dir_fd), "hidden mounts check");
  ASSIGN_OR_RETURN(std::string text, ReadMountInfo(), "hidden mounts check");
  // "ID PARENT MAJ:MIN ROOT MOUNTPOINT ...": a mount on the dir's own mount (PARENT is
  // its ID) whose mount point lies beneath the dir is hidden by anything mounted on it.
  const std::string parent = std::to_string(id);
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  std::vector<std::string> hidden;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string mount_id, parent_id, dev, root, mount_point;
    if (!(fields >> mount_id >> parent_id >> dev >> root >> mount_point)) continue;
    if (parent_id != parent) continue;
    std::string path = UnescapeMountInfo(mount_point);
    if (!path.starts_with(prefix)) continue;
    hidden.push_back(std::string(shown_as) + "/" + path.substr(prefix.size()));
  }
  if (hidden.empty()) return Status::Ok();
  std::string list;
  for (const std::string& h : hidden) list += (list.empty() ? "" : ", ") + h;
  return Status::FailedPrecondition(
      "already holds mounts (" + list +
      "): they would be hidden; remove the container's own secrets (a Compose service's "
      "\"secrets:\", docker -v) or use another target dir");
}

Status RefuseSharedMount(int dir_fd) {
  ASSIGN_OR_RETURN(std::uint64_t id, MountId(dir_fd), "propagation check");
  ASSIGN_OR_RETURN(std::string line, MountInfoLine(id), "propagation check");
  // Optional fields sit between the 6th field and the " - " separator.
  std::string_view head = std::string_view(line).substr(0, line.find(" - "));
  if (head.find(" shared:") != std::string_view::npos) {
    return Status::FailedPrecondition(
        "the mount holding it has shared propagation (a mount here would reach other "
        "namespaces); use rootfsPropagation private or slave");
  }
  return Status::Ok();
}

Status RequireSecretsTmpfs(int dir_fd) {
  Status mount_point = RefuseMountPoint(dir_fd);
  if (mount_point.ok())
    return Status::FailedPrecondition("not a mount point (no secrets tmpfs there)");
  if (mount_point.message() != "already a mount point") return mount_point;
  struct statfs sfs {};
  if (fstatfs(dir_fd, &sfs) != 0) return PosixError("statfs", errno);
  const bool tmpfs = static_cast<unsigned long>(sfs.f_type) == TMPFS_MAGIC;
  if (tmpfs && (sfs.f_flags & ST_RDONLY) != 0) return Status::Ok();
  // Name what is there: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE SOURCE".
  ASSIGN_OR_RETURN(std::uint64_t id, MountId(dir_fd), "");
  ASSIGN_OR_RETURN(std::string line, MountInfoLine(id), "");
  std::string type = "unknown", source = "?";
  std::size_t dash = line.find(" - ");
  if (dash != std::string::npos) {
    std::istringstream tail(line.substr(dash + 3));
    tail >> type >> source;
  }
  if (tmpfs)
    return Status::FailedPrecondition("a writable tmpfs (" + source + "), not the secrets tmpfs");
  return Status::FailedPrecondition("a " + type + " mount (" + source + "), not the secrets tmpfs");
}

Status RefuseBindOfAnotherDir(int root_fd, int dir_fd) {
  ASSIGN_OR_RETURN(std::uint64_t root_id, MountId(root_fd), "bind mount check: rootfs");
  ASSIGN_OR_RETURN(std::uint64_t id, MountId(dir_fd), "bind mount check");
  if (id == root_id) return Status::Ok();
  ASSIGN_OR_RETURN(std::string line, MountInfoLine(id), "bind mount check");
  // "ID PARENT MAJ:MIN ROOT MOUNTPOINT ...": ROOT is "/" unless a subtree is bound here.
  std::istringstream fields(line);
  std::string skip, root;
  fields >> skip >> skip >> skip >> root;
  if (root != "/") {
    return Status::FailedPrecondition(
        "is on a bind mount of another directory (the hook creates nothing there; create "
        "the directory in the bound source, or mount a tmpfs instead)");
  }
  return Status::Ok();
}

}  // namespace ocisecrets::hook
