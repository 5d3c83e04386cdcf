// Pieces of JSON text written by hand, for the hot paths (leases, audit lines, lists) where
// building an nlohmann DOM costs more than the rest of the work. Pure functions, safe from
// any thread.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace ocisecrets {

// Appends s to out as a JSON string literal, quotes included: the bytes nlohmann's dump
// writes, with invalid UTF-8 replaced by U+FFFD instead of thrown. Never fails.
void AppendJsonString(std::string& out, std::string_view s);

// Appends v in decimal, as a JSON number (no sign, no leading zero). Inline: a lease
// grant writes three per file.
inline void AppendJsonUint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

}  // namespace ocisecrets
