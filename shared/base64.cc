#include "shared/base64.h"

#include <array>
#include <cstring>

namespace ocisecrets {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Every 12-bit value's two characters: a lease of 10 secrets of 4 KiB encodes 40 KiB on
// the container's start path, two lookups per 3 bytes instead of four.
constexpr std::array<std::array<char, 2>, 4096> kB64Pairs = [] {
  std::array<std::array<char, 2>, 4096> t{};
  for (std::size_t v = 0; v < 4096; ++v) t[v] = {kB64[v >> 6], kB64[v & 63]};
  return t;
}();

// Each byte's value in the alphabet, -1 for a byte outside it ('=' included).
constexpr std::array<std::int8_t, 256> kB64Values = [] {
  std::array<std::int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64[i])] = static_cast<std::int8_t>(i);
  return t;
}();

}  // namespace

void Base64EncodeTo(char* dst, const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    std::memcpy(dst, kB64Pairs[v >> 12].data(), 2);
    std::memcpy(dst + 2, kB64Pairs[v & 4095].data(), 2);
    dst += 4;
  }
  if (i + 1 == size) {
    std::uint32_t v = data[i] << 16;
    *dst++ = kB64[(v >> 18) & 63];
    *dst++ = kB64[(v >> 12) & 63];
    *dst++ = '=';
    *dst++ = '=';
  } else if (i + 2 == size) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    *dst++ = kB64[(v >> 18) & 63];
    *dst++ = kB64[(v >> 12) & 63];
    *dst++ = kB64[(v >> 6) & 63];
    *dst++ = '=';
  }
}

bool Base64DecodeInto(std::string_view text, SecretBytes* out) {
  const std::size_t size = text.size();
  if (size % 4 != 0) return false;
  std::size_t pad = 0;
  if (size > 0 && text[size - 1] == '=') pad = text[size - 2] == '=' ? 2 : 1;
  out->resize(size / 4 * 3 - pad);
  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  std::uint8_t* dst = out->data();
  int bad = 0;  // negative once any byte is outside the alphabet
  auto quad = [&](std::size_t i, int n_out) {
    const int a = kB64Values[src[i]];
    const int b = kB64Values[src[i + 1]];
    const int c = n_out > 1 ? kB64Values[src[i + 2]] : 0;
    const int d = n_out > 2 ? kB64Values[src[i + 3]] : 0;
    bad |= a | b | c | d;
    const std::uint32_t v = (static_cast<std::uint32_t>(a) << 18) |
                            (static_cast<std::uint32_t>(b) << 12) |
                            (static_cast<std::uint32_t>(c) << 6) | static_cast<std::uint32_t>(d);
    *dst++ = static_cast<std::uint8_t>(v >> 16);
    if (n_out > 1) *dst++ = static_cast<std::uint8_t>(v >> 8);
    if (n_out > 2) *dst++ = static_cast<std::uint8_t>(v);
  };
  const std::size_t full = pad == 0 ? size : size - 4;
  for (std::size_t i = 0; i < full; i += 4) quad(i, 3);
  if (pad > 0) quad(full, 3 - static_cast<int>(pad));
  return bad >= 0;
}

std::string Base64Encode(const std::uint8_t* data, std::size_t size) {
  std::string out(Base64EncodedSize(size), '\0');
  Base64EncodeTo(out.data(), data, size);
  return out;
}

Result<SecretBytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("invalid base64: length");
  SecretBytes out;
  if (!Base64DecodeInto(text, &out)) return Status::InvalidArgument("invalid base64: bad character");
  return out;
}

}  // namespace ocisecrets
