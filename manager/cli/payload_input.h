// Reading a secret's payload from a file or stdin, bounded, into wiped memory.
#pragma once

#include <cstddef>
#include <string>

#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets {

// Reads fd to its end, but never more than max + 1 bytes: more than `max` is
// InvalidArgument without reading on (so `yes | oci-secrets secret create x -` ends).
// `what` names the source in errors ("stdin", "./cert.pem").
Result<SecretBytes> ReadPayloadFd(int fd, std::size_t max, const std::string& what);

// "-" is stdin; anything else a file path. Checks the size rules of secrets (1 to
// 511,999 bytes). Errors name the path: "open ./missing.pem: No such file or directory
// (ENOENT)".
Result<SecretBytes> ReadPayload(const std::string& path_or_dash);

}  // namespace ocisecrets
