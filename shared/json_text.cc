#include "shared/json_text.h"

#include <nlohmann/json.hpp>

namespace ocisecrets {

void AppendJsonString(std::string& out, std::string_view s) {
  // Printable ASCII other than the quote and the backslash is written as is by nlohmann
  // too; anything else (escapes, UTF-8, invalid bytes) goes through nlohmann itself.
  bool plain = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += '"';
    out += s;
    out += '"';
    return;
  }
  using nlohmann::json;
  out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ocisecrets
