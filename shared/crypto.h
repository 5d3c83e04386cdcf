// Cryptographic primitives on OpenSSL 3 EVP: a CSPRNG, object IDs, HKDF-SHA256 and
// AES-256-GCM. Everything here is thread-safe. Keys travel as spans; callers keep them in
// KeyBytes (OpenSSL's secure heap when InitSecureHeap succeeded) or SecretBytes.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets {

inline constexpr std::size_t kAeadKeySize = 32;    // AES-256
inline constexpr std::size_t kAeadNonceSize = 12;  // GCM's natural nonce
inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::uint8_t kSealFormatV1 = 1;
// Bytes Seal adds to a plaintext: version byte, nonce, tag.
inline constexpr std::size_t kSealOverhead = 1 + kAeadNonceSize + kAeadTagSize;
inline constexpr std::size_t kObjectIdLength = 25;

// An allocator on OpenSSL's secure heap (mlocked, excluded from core dumps, wiped on
// free). Before InitSecureHeap, when it failed, or when the secure heap is full, blocks
// come from the ordinary heap (still wiped on free: OpenSSL's secure free tells the two
// apart). Throws std::bad_alloc only when both are exhausted.
template <typename T>
struct SecureHeapAllocator {
  using value_type = T;
  SecureHeapAllocator() noexcept = default;
  template <typename U>
  SecureHeapAllocator(const SecureHeapAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(std::size_t n) {
    void* p = OPENSSL_secure_malloc(n * sizeof(T));
    if (p == nullptr) p = OPENSSL_malloc(n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (CRYPTO_secure_allocated(p)) {
      OPENSSL_secure_clear_free(p, n * sizeof(T));
    } else {
      OPENSSL_clear_free(p, n * sizeof(T));
    }
  }
  template <typename U>
  bool operator==(const SecureHeapAllocator<U>&) const noexcept { return true; }
};

// Key material (root key, KEKs, derived keys).
using KeyBytes = std::vector<std::uint8_t, SecureHeapAllocator<std::uint8_t>>;

// Views a string's bytes as the byte span the functions below take (no copy).
inline std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Sets up OpenSSL's secure heap for keys. Call once, early, before any key is made.
// Returns an error the caller should log as a warning and carry on: keys then live in
// ordinary (still wiped) memory. Calling it again after success is a no-op.
Status InitSecureHeap();

// n bytes from OpenSSL's CSPRNG. IOError only if the CSPRNG fails (it never should).
Result<SecretBytes> RandomBytes(std::size_t n);

// A fresh 32-byte key from the CSPRNG, in KeyBytes.
Result<KeyBytes> RandomKey();

// A new object ID: 25 lowercase base36 characters (~129 bits) from the CSPRNG, the shape
// of a Docker Swarm ID. Aborts the process if the CSPRNG fails: no ID is better than a
// guessable one, and the CSPRNG cannot fail once the process has started.
std::string NewObjectId();

// HKDF-SHA256 (RFC 5869, extract then expand) of ikm with salt and info, out_len bytes.
// InvalidArgument on an empty ikm or an out_len of 0 or more than 255*32.
Result<KeyBytes> HkdfSha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                            std::string_view info, std::size_t out_len = kAeadKeySize);

// AES-256-GCM with a random 96-bit nonce. The blob is
// version byte (kSealFormatV1) | nonce (12) | ciphertext | tag (16), and is bound to aad:
// Open with any other aad fails. InvalidArgument if key is not 32 bytes.
Result<std::string> Seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> aad,
                         std::span<const std::uint8_t> plaintext);

// The plaintext of a Seal blob. DataLoss if the blob is malformed, was sealed with another
// key or aad, or any byte of it changed. No plaintext is released unless the tag verifies.
Result<SecretBytes> Open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> aad,
                         std::span<const std::uint8_t> blob);

// Compares two byte strings in time independent of their contents (lengths may leak).
bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace ocisecrets
