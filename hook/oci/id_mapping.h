// Container ids to host ids through linux.uidMappings / gidMappings.
#pragma once

#include <cstdint>
#include <vector>

#include "hook/oci/oci_state.h"
#include "shared/status.h"

namespace ocisecrets::hook {

// Maps a container id to the host id that stands for it. With no mappings (no user
// namespace) the id is returned unchanged. An id no mapping covers is InvalidArgument:
// the file would show up as the overflow id, so the hook refuses instead.
Result<std::uint32_t> MapToHost(const std::vector<IdMapping>& mappings, std::uint32_t id);

}  // namespace ocisecrets::hook
