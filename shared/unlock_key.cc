#include "shared/unlock_key.h"

#include <algorithm>
#include <array>

#include "shared/base36.h"

namespace ocisecrets {
namespace {

constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kWrapKeyInfo = "oci-secrets unlock key v1";
constexpr std::string_view kRootKeyAad = "oci-secrets root key v1";
constexpr std::string_view kCheckInfo = "oci-secrets unlock key check v1";
constexpr unsigned kCheckModulus = 36 * 36;

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  return -1;
}

// The two check characters of key: a value below 36^2 derived from the key by HKDF (any
// changed character changes it with probability 1295/1296).
Result<std::string> CheckDigits(std::span<const std::uint8_t> key) {
  ASSIGN_OR_RETURN(KeyBytes check, HkdfSha256(key, {}, kCheckInfo, 2), "unlock key check");
  const unsigned value = ((unsigned{check[0]} << 8) | check[1]) % kCheckModulus;
  return std::string{kDigits[value / 36], kDigits[value % 36]};
}

Status RequireKeySize(std::span<const std::uint8_t> key, const char* what) {
  if (key.size() == kUnlockKeySize) return Status::Ok();
  return Status::InvalidArgument(std::string(what) + " must be " + std::to_string(kUnlockKeySize) +
                                 " bytes, not " + std::to_string(key.size()));
}

Result<KeyBytes> WrapKey(std::span<const std::uint8_t> unlock_key) {
  RETURN_IF_ERROR(RequireKeySize(unlock_key, "an unlock key"), "");
  return HkdfSha256(unlock_key, {}, kWrapKeyInfo);
}

}  // namespace

Result<SecretBytes> MakeUnlockKey() { return RandomBytes(kUnlockKeySize); }

Result<std::string> FormatUnlockKey(std::span<const std::uint8_t> key) {
  RETURN_IF_ERROR(RequireKeySize(key, "an unlock key"), "");
  // 36^50 > 2^256: a key's value never needs more digits than the width.
  std::string digits = Base36Encode(key, kUnlockKeyValueDigits);
  ASSIGN_OR_RETURN(std::string check, CheckDigits(key), "");
  std::string text(kUnlockKeyPrefix);
  text += digits;
  text += check;
  WipeString(digits);
  return text;
}

Result<SecretBytes> ParseUnlockKey(std::string_view text) {
  auto bad = [](std::string_view why) {
    return Status::InvalidArgument("invalid unlock key: " + std::string(why));
  };
  if (!text.starts_with("OCSKEY-")) return bad("it must start with OCSKEY-1-");
  if (!text.starts_with(kUnlockKeyPrefix)) return bad("unknown key version (want OCSKEY-1-)");
  text.remove_prefix(kUnlockKeyPrefix.size());
  const std::size_t want = kUnlockKeyValueDigits + kUnlockKeyCheckDigits;
  if (text.size() != want) {
    return bad("want " + std::to_string(want) + " characters after OCSKEY-1-, got " +
               std::to_string(text.size()));
  }
  if (!std::all_of(text.begin(), text.end(), [](char c) { return DigitValue(c) >= 0; })) {
    return bad("only the characters 0-9 and a-z may follow OCSKEY-1-");
  }
  // n = n * 36 + digit, big-endian in kUnlockKeySize bytes; a carry out of the top byte
  // means the value does not fit in 256 bits.
  SecretBytes n(kUnlockKeySize, 0);
  for (std::size_t i = 0; i < kUnlockKeyValueDigits; ++i) {
    unsigned carry = static_cast<unsigned>(DigitValue(text[i]));
    for (std::size_t b = n.size(); b-- > 0;) {
      const unsigned acc = unsigned{n[b]} * 36 + carry;
      n[b] = static_cast<std::uint8_t>(acc & 0xff);
      carry = acc >> 8;
    }
    if (carry != 0) return bad("the value is too large: a character is wrong");
  }
  ASSIGN_OR_RETURN(std::string check, CheckDigits(n), "");
  if (text.substr(kUnlockKeyValueDigits) != check) {
    return bad("the check characters do not match: a character is wrong or missing");
  }
  return n;
}

Result<std::string> WrapRootKey(std::span<const std::uint8_t> root_key,
                                std::span<const std::uint8_t> unlock_key) {
  if (root_key.size() != kAeadKeySize) {
    return Status::InvalidArgument("a root key must be " + std::to_string(kAeadKeySize) + " bytes");
  }
  ASSIGN_OR_RETURN(KeyBytes wrap, WrapKey(unlock_key), "wrap root key");
  return Seal(wrap, AsBytes(kRootKeyAad), root_key);
}

Result<KeyBytes> UnwrapRootKey(std::string_view wrapped, std::span<const std::uint8_t> unlock_key) {
  ASSIGN_OR_RETURN(KeyBytes wrap, WrapKey(unlock_key), "unwrap root key");
  auto opened = Open(wrap, AsBytes(kRootKeyAad), AsBytes(wrapped));
  if (!opened.ok() || opened->size() != kAeadKeySize) {
    return Status::DataLoss("the unlock key does not open the root key");
  }
  return KeyBytes(opened->begin(), opened->end());
}

}  // namespace ocisecrets
