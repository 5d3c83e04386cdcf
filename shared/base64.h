// Base64, standard alphabet, padded (RFC 4648 section 4): how the API carries payloads.
// Every function here is pure and safe from any thread. None of them logs or echoes its
// input: it is a payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets {

// The length of the encoding of `size` bytes, padding included.
constexpr std::size_t Base64EncodedSize(std::size_t size) { return (size + 2) / 3 * 4; }

// Returns the encoding of data[0, size). The caller wipes it (WipeString) when data is a
// payload.
std::string Base64Encode(const std::uint8_t* data, std::size_t size);

// Writes exactly Base64EncodedSize(size) characters of data's encoding at dst (no
// terminator), for a caller that writes the encoding into a buffer sized up front.
void Base64EncodeTo(char* dst, const std::uint8_t* data, std::size_t size);

// Decodes text. Returns InvalidArgument "invalid base64: length" for a length that is not
// a multiple of 4, "invalid base64: bad character" for any byte outside the alphabet
// (blanks and line breaks included) or a '=' anywhere but the last two places.
Result<SecretBytes> Base64Decode(std::string_view text);

// As Base64Decode, into *out, resized once to the decoded size (no copy of a payload is
// freed on the way). Returns false on any of Base64Decode's errors; *out then holds
// garbage that the caller discards.
bool Base64DecodeInto(std::string_view text, SecretBytes* out);

}  // namespace ocisecrets
