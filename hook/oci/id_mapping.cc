#include "hook/oci/id_mapping.h"

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

}  // namespace ocisecrets::hook
