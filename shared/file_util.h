// Small file helpers several binaries use (the shim, `oci-secrets install`): a bounded
// read and an atomic replace. Thread-safe: they share no state.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "shared/status.h"

namespace ocisecrets {

// Reads a regular file of at most max_bytes. Does not follow a symlink in the last
// component. NotFound when missing; InvalidArgument when larger or not a regular file.
Result<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes);

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
