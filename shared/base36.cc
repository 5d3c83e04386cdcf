#include "shared/base36.h"

#include "shared/secure_buffer.h"

namespace ocisecrets {

std::string Base36Encode(std::span<const std::uint8_t> bytes, std::size_t width) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  // Long division by 36, least significant digit first.
  SecretBytes n(bytes.begin(), bytes.end());
  std::string out;
  bool nonzero = true;
  while (nonzero) {
    nonzero = false;
    unsigned rem = 0;
    for (std::uint8_t& b : n) {
      const unsigned cur = (rem << 8) | b;
      b = static_cast<std::uint8_t>(cur / 36);
      rem = cur % 36;
      if (b != 0) nonzero = true;
    }
    out.push_back(kDigits[rem]);
  }
  while (out.size() < width) out.push_back('0');
  std::string text(out.rbegin(), out.rend());
  WipeString(out);
  return text;
}

}  // namespace ocisecrets
