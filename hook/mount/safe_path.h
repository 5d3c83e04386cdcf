// Resolving and creating the secrets dir inside a container's rootfs without ever leaving
// it: every step is relative to a directory fd, never a path string resolved in user space.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "hook/mount/scoped_fd.h"
#include "shared/status.h"

namespace ocisecrets::hook {

// Owner given to the directories the hook creates (the container's root, mapped).
struct DirOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Splits an absolute container path ("/run/secrets") into its components. Refuses (as
// InvalidArgument) a relative path, "/", ".", ".." and empty components.
Result<std::vector<std::string>> SplitContainerPath(std::string_view path);

// Opens the rootfs directory (a host path in the current mount namespace) as an O_PATH
// directory fd.
Result<ScopedFd> OpenRootDir(const std::string& root_path);

// Returns an O_PATH fd on the directory `path` (absolute, as the container sees it) inside
// `root_fd`. Existing components resolve with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS), so symlinks in the image stay inside the root. Missing
// components are created one mkdirat at a time (mode 0755, chowned to `owner`) and opened
// with RESOLVE_NO_SYMLINKS, so a dangling symlink is refused, never followed. Refused with
// FailedPrecondition: a component that is not a directory, a target that is already a
// mount point, a pseudo file system (proc, sysfs, cgroup, ...) on the way, a missing
// component whose parent is on a bind mount of another directory (RefuseBindOfAnotherDir),
// an existing target that already holds mounts beneath it (RefuseHiddenMounts).
Result<ScopedFd> OpenSecretsDir(int root_fd, std::string_view path, DirOwner owner);

// Returns an O_PATH fd on the existing directory `path` (absolute, as the container sees
// it) inside `root_fd`, resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) as
// OpenSecretsDir does, creating nothing. FailedPrecondition "missing" when it does not
// exist, "not a directory", "symlink refused ..." as OpenSecretsDir's errors.
Result<ScopedFd> OpenExistingDir(int root_fd, std::string_view path);

// FailedPrecondition when `dir_fd` is the root of a mount (something is mounted there).
Status RefuseMountPoint(int dir_fd);

// OK when `dir_fd` is the root of a read-only tmpfs mount: what the hook attached at the
// container's start (the inverse of RefuseMountPoint). Otherwise FailedPrecondition naming
// what is there: "not a mount point (no secrets tmpfs there)", "a TYPE mount (SOURCE),
// not the secrets tmpfs" (TYPE and SOURCE from /proc/thread-self/mountinfo), "a writable
// tmpfs (SOURCE), not the secrets tmpfs".
Status RequireSecretsTmpfs(int dir_fd);

// FailedPrecondition "already holds mounts (P1, P2): they would be hidden; ..." when
// mounts sit beneath the directory `dir_fd` on its own mount (their parent is the dir's
// mount, found by statx STATX_MNT_ID; their mount point is under the dir's path as this
// thread's mountinfo shows it): a tmpfs mounted on the dir would hide them. Each Pn is
// `shown_as` (the dir as the container names it) plus the mount point's path below the
// dir. Reads /proc/thread-self/mountinfo and fd links (through UseHostProc's /proc).
Status RefuseHiddenMounts(int dir_fd, std::string_view shown_as);

// FailedPrecondition when `dir_fd` is on a mount other than `root_fd`'s whose root is not
// the root of its file system: a bind mount of some other directory (config.json binding
// a host dir at /run), where a directory made would be made in that host dir. A fresh
// tmpfs mounted in the container (root "/") passes. Reads /proc/thread-self/mountinfo.
Status RefuseBindOfAnotherDir(int root_fd, int dir_fd);

// The checks below read this thread's mountinfo through /proc by path. A refresh enters a
// running container's mount namespace, whose "/" is the container's root and whose /proc
// (if any) belongs to the container's pid namespace, where this process has no entry:
// before setns it names the host's /proc (an O_PATH directory fd it keeps open), and
// thread-self/mountinfo is read through it from then on, showing the namespace entered.
void UseHostProc(int proc_dir_fd);

// FailedPrecondition when the mount holding `dir_fd` has shared propagation: a mount
// made under it would be copied to its peers, possibly the host's mount table. Reads
// /proc/thread-self/mountinfo of the current mount namespace.
Status RefuseSharedMount(int dir_fd);

}  // namespace ocisecrets::hook
