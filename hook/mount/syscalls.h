// Raw system calls of the new mount API, openat2, pidfd_open and pidfd_send_signal. glibc 2.36 lacks openat2
// and its <sys/mount.h> clashes with <linux/mount.h>, so these go through syscall(2).
// Each returns what the kernel returns (-1 and errno on failure).
#pragma once

#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>

namespace ocisecrets::hook::sys {

#ifndef MOUNT_ATTR_SIZE_VER0
#define MOUNT_ATTR_SIZE_VER0 32
#endif
#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif
#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200  // Linux 6.5
#endif

inline int PidfdOpen(pid_t pid, unsigned int flags) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, flags));
}
inline int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}
inline int Umount2(const char* path, int flags) {
  return static_cast<int>(syscall(SYS_umount2, path, flags));
}
inline int Openat2(int dirfd, const char* path, const open_how* how) {
  return static_cast<int>(syscall(SYS_openat2, dirfd, path, how, sizeof(open_how)));
}
inline int Fsopen(const char* fs_name, unsigned int flags) {
  return static_cast<int>(syscall(SYS_fsopen, fs_name, flags));
}
inline int Fsconfig(int fd, unsigned int cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
inline int Fsmount(int fd, unsigned int flags, unsigned int attr_flags) {
  return static_cast<int>(syscall(SYS_fsmount, fd, flags, attr_flags));
}
inline int MountSetattr(int dirfd, const char* path, unsigned int flags, mount_attr* attr) {
  return static_cast<int>(syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof(*attr)));
}
inline int MoveMount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path,
                     unsigned int flags) {
  return static_cast<int>(
      syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
}

}  // namespace ocisecrets::hook::sys
