#include "shared/join_token.h"

namespace ocisecrets {
namespace {

bool IsBase36(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

}  // namespace

std::string FormatJoinToken(const JoinToken& token) {
  return std::string(kJoinTokenPrefix) + token.ca_digest + "-" + token.secret;
}

Result<JoinToken> ParseJoinToken(std::string_view text) {
  auto bad = [](std::string_view why) {
    return Status::InvalidArgument("invalid join token: " + std::string(why));
  };
  if (!text.starts_with("OCSTKN-")) return bad("it must start with OCSTKN-1-");
  if (!text.starts_with(kJoinTokenPrefix)) return bad("unknown token version (want OCSTKN-1-)");
  text.remove_prefix(kJoinTokenPrefix.size());
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos) return bad("missing the secret part");
  JoinToken token{std::string(text.substr(0, dash)), std::string(text.substr(dash + 1))};
  if (token.ca_digest.size() != kCaDigestLength || !IsBase36(token.ca_digest)) {
    return bad("the CA digest must be 50 characters of 0-9 a-z");
  }
  if (token.secret.size() != kJoinSecretLength || !IsBase36(token.secret)) {
    return bad("the secret must be 25 characters of 0-9 a-z");
  }
  return token;
}

}  // namespace ocisecrets
