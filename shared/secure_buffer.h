// Memory for payloads and keys: wiped with SecureWipe before it is freed.
#pragma once

#include <string.h>  // explicit_bzero

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ocisecrets {

// Overwrites n bytes at p with zeros; the compiler may not elide it (explicit_bzero, as
// OPENSSL_cleanse). Used instead of OPENSSL_cleanse so that the hook links no libcrypto,
// whose start-up CPU probe costs every container start.
inline void SecureWipe(void* p, std::size_t n) noexcept { explicit_bzero(p, n); }

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
    SecureWipe(p, n * sizeof(T));
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
  if (!s.empty()) SecureWipe(s.data(), s.size());
  s.clear();
}

}  // namespace ocisecrets
