// The secrets tmpfs, built detached with the new mount API (fsopen, fsconfig, fsmount),
// filled through its mount fd, made read-only, and only then attached with move_mount.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hook/mount/scoped_fd.h"
#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets::hook {

// One file of the tmpfs. `path` is relative to the tmpfs root ("db_password",
// "certs/server.pem"); ids are host ids (already mapped).
struct TmpfsFile {
  std::string path;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0444;    // permission bits only (0777)
  const SecretBytes* data = nullptr;
};

struct TmpfsOptions {
  std::uint64_t size_bytes = 16 << 20;
  std::uint32_t root_uid = 0;   // owner of the tmpfs root and of created subdirectories
  std::uint32_t root_gid = 0;
};

// Checks file paths (relative, no "", "." or ".." component, no NUL or newline, at most
// 255 bytes a component, no duplicates), modes (0777 only) and that the files fit in
// `size_bytes`. InvalidArgument naming the first bad file. Nothing is built.
Status ValidateTmpfsFiles(const std::vector<TmpfsFile>& files, const TmpfsOptions& options);

// Builds a detached tmpfs (nosuid, nodev, noexec, size limit, "noswap" where the kernel
// has it) holding `files`, then makes it read-only. Returns the mount fd: not attached
// anywhere yet; closing it without AttachTmpfs discards everything.
Result<ScopedFd> BuildSecretsTmpfs(const std::vector<TmpfsFile>& files,
                                   const TmpfsOptions& options);

// Attaches the detached mount `mount_fd` onto the directory `target_dir_fd` (an O_PATH fd
// from OpenSecretsDir) with move_mount; no path string is resolved.
Status AttachTmpfs(int mount_fd, int target_dir_fd);

// How SwapTmpfs put the new tmpfs in place.
enum class SwapMode {
  // move_mount(MOVE_MOUNT_BENEATH) under the current one, then the current one detached:
  // one tmpfs there afterwards, as after the start.
  kBeneath,
  // Kernels before 6.5 (MOVE_MOUNT_BENEATH refused with EINVAL): the new tmpfs is moved
  // on top of the current one, which stays there, covered, until the container exits
  // (each refresh then stacks one more). Readers see the old or the new tmpfs, whole.
  kOnTop,
};

// Replaces the tmpfs whose root is `current_root_fd` (an O_PATH fd of the mount's root,
// in the caller's mount namespace) by the detached mount `new_mount_fd`, atomically for
// readers: a path lookup finds the old tmpfs or the new one, never neither. kBeneath
// detaches the old top with fchdir(current_root_fd) + umount2(".", MNT_DETACH): no path
// string; the caller's working directory is left in the detached tmpfs. Files opened
// before keep reading the old content. try_beneath false forces kOnTop (tests).
Result<SwapMode> SwapTmpfs(int new_mount_fd, int current_root_fd, bool try_beneath = true);

}  // namespace ocisecrets::hook
