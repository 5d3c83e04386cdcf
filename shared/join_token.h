// Join tokens, Swarm's form with our prefix: OCSTKN-1-<CA digest>-<secret>. The digest
// (50 base36 characters, CaDigest in shared/pki.h) lets a joining machine check the
// manager's CA before it sends anything; the secret (25 base36 characters) proves to the
// manager that the joiner was given the token. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "shared/status.h"

namespace ocisecrets {

inline constexpr std::string_view kJoinTokenPrefix = "OCSTKN-1-";
inline constexpr std::size_t kCaDigestLength = 50;
inline constexpr std::size_t kJoinSecretLength = 25;

struct JoinToken {
  std::string ca_digest;
  std::string secret;
};

// "OCSTKN-1-<ca_digest>-<secret>".
std::string FormatJoinToken(const JoinToken& token);

// The parts of a token. InvalidArgument "invalid join token: <what is wrong>" for
// anything else (wrong prefix or version, a part of the wrong length or with characters
// other than 0-9 a-z); the message never repeats the secret.
Result<JoinToken> ParseJoinToken(std::string_view text);

}  // namespace ocisecrets
