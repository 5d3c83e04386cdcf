// Unlock keys (autolock, DESIGN.md "Encryption at rest"): 32 random bytes shown to the
// admin once as text, "OCSKEY-1-" + 52 base36 characters, fixed width: 50 for the value
// (36^50 > 2^256, zero-padded) and 2 check characters, so that a mistyped key is told
// apart from a wrong one. The root key is wrapped under a key derived from the unlock
// key (HKDF-SHA256, then AES-256-GCM with AAD "oci-secrets root key v1"). Pure
// functions, thread-safe. No message here ever repeats a key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "shared/crypto.h"
#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets {

inline constexpr std::string_view kUnlockKeyPrefix = "OCSKEY-1-";
inline constexpr std::size_t kUnlockKeySize = 32;      // bytes of key material
inline constexpr std::size_t kUnlockKeyValueDigits = 50;
inline constexpr std::size_t kUnlockKeyCheckDigits = 2;
inline constexpr std::size_t kUnlockKeyTextSize =
    kUnlockKeyPrefix.size() + kUnlockKeyValueDigits + kUnlockKeyCheckDigits;

// A new unlock key: kUnlockKeySize bytes from the CSPRNG. IOError if the CSPRNG fails.
Result<SecretBytes> MakeUnlockKey();

// The text of key ("OCSKEY-1-..."). InvalidArgument when key is not kUnlockKeySize
// bytes. The text is as secret as the key: the caller wipes it (WipeString) when done.
Result<std::string> FormatUnlockKey(std::span<const std::uint8_t> key);

// The key bytes of an unlock key's text (exactly, no surrounding blanks). InvalidArgument
// "invalid unlock key: <what is wrong>" for anything else: wrong prefix or version, wrong
// length, a character other than 0-9 a-z, a value too large, or a check that does not
// match (a typo). The message never repeats the text.
Result<SecretBytes> ParseUnlockKey(std::string_view text);

// The root key sealed under unlock_key, to store as is. InvalidArgument when either is
// not 32 bytes.
Result<std::string> WrapRootKey(std::span<const std::uint8_t> root_key,
                                std::span<const std::uint8_t> unlock_key);

// The root key of a WrapRootKey blob. DataLoss "the unlock key does not open the root
// key" for a wrong unlock key or an altered blob; InvalidArgument for a key of the wrong
// size.
Result<KeyBytes> UnwrapRootKey(std::string_view wrapped, std::span<const std::uint8_t> unlock_key);

}  // namespace ocisecrets
