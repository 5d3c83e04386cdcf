// Small file helpers several binaries use (the shim, `oci-secrets install`): a bounded
// read and an atomic replace. Thread-safe: they share no state.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <string>

#include "shared/status.h"

namespace ocisecrets {

// Reads a regular file of at most max_bytes. Does not follow a symlink in the last
// component. NotFound when missing; InvalidArgument when larger or not a regular file.
Result<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes);

// Checks that the open file fd is fit to hold a private key: a regular file, owned by
// the effective uid, no group or other permission bits. FailedPrecondition "<what>: not
// a regular file" / "<what>: owned by uid N, not by us (uid M); chown it" / "<what>: mode
// 0644 gives group or others access to the key; chmod 0600 it"; IOError when fstat fails.
// Returns the file's stat on success. Does not close fd.
Result<struct stat> CheckPrivateFile(int fd, const std::string& what);

// Whether ReplaceFileAtomically waits for the new file to reach the disk.
enum class Durability {
  kSync,    // fsync the file before the rename and the directory after it
  kNoSync,  // atomic for readers and after a crash of the process, not after a power loss
};

// Replaces `path` with `content` atomically: a temporary file in the same directory
// with the given mode and owner, written, (kSync: fsync'ed,) renamed over `path`, (kSync:
// then the directory fsync'ed). On failure the original is untouched and the temporary
// removed.
Status ReplaceFileAtomically(const std::string& path, const std::string& content, mode_t mode,
                             uid_t uid, gid_t gid, Durability durability = Durability::kSync);

}  // namespace ocisecrets
