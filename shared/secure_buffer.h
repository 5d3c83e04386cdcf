// Memory for payloads and keys: wiped with OPENSSL_cleanse before it is freed.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ocisecrets {

// An allocator that wipes every block before returning it to the heap. Used so that
// payload bytes do not linger in freed memory (and so in a core dump or swap).
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
};

// Secret bytes (payloads, keys). A vector, not a string: a string's small buffer would
// bypass the allocator and escape the wipe.
using SecretBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

// Wipes a std::string that held secret material (e.g. an HTTP body) in place.
inline void WipeString(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace ocisecrets
