// Base36 (0-9a-z) of a big-endian number: the text of CA digests and unlock keys.
// Pure and safe from any thread; the number is worked on in a wiped copy, so a secret
// (an unlock key) leaves nothing behind but the text the caller gets (and wipes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ocisecrets {

// The base36 digits of bytes read as one big-endian number, most significant first,
// zero-padded on the left to width (longer when the number needs more digits).
std::string Base36Encode(std::span<const std::uint8_t> bytes, std::size_t width);

}  // namespace ocisecrets
