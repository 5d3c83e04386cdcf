#include "hook/oci/id_mapping.h"

#include <charconv>
#include <string>

namespace ocisecrets::hook {

Result<std::uint32_t> MapToHost(const std::vector<IdMapping>& mappings, std::uint32_t id) {
  if (mappings.empty()) return id;
  for (const IdMapping& m : mappings) {
    if (id >= m.container_id && std::uint64_t{id} - m.container_id < m.size) {
      return static_cast<std::uint32_t>(m.host_id + (id - m.container_id));
    }
  }
  return Status::InvalidArgument("id " + std::to_string(id) +
                                 " is not mapped into the container's user namespace");
}

Result<std::vector<IdMapping>> ParseProcIdMap(std::string_view text) {
  std::vector<IdMapping> out;
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    std::uint64_t v[3] = {0, 0, 0};
    int n = 0;
    for (; n < 3; ++n) {
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v[n]);
      if (ec != std::errc() || v[n] > 0xffffffffULL) break;
      line.remove_prefix(static_cast<std::size_t>(p - line.data()));
    }
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (n == 0 && line.empty()) continue;  // a blank line
    if (n != 3 || !line.empty() || v[2] == 0) {
      return Status::InvalidArgument("id map: malformed line");
    }
    out.push_back({static_cast<std::uint32_t>(v[0]), static_cast<std::uint32_t>(v[1]),
                   static_cast<std::uint32_t>(v[2])});
  }
  if (out.empty()) return Status::InvalidArgument("id map: empty (the user namespace maps no id)");
  return out;
}

}  // namespace ocisecrets::hook
