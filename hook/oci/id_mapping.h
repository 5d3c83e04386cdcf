// Container ids to host ids through linux.uidMappings / gidMappings.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "hook/oci/oci_state.h"
#include "shared/status.h"

namespace ocisecrets::hook {

// Maps a container id to the host id that stands for it. With no mappings (no user
// namespace) the id is returned unchanged. An id no mapping covers is InvalidArgument:
// the file would show up as the overflow id, so the hook refuses instead.
Result<std::uint32_t> MapToHost(const std::vector<IdMapping>& mappings, std::uint32_t id);

// Reads the text of /proc/PID/uid_map or gid_map ("INSIDE OUTSIDE COUNT" per line, blanks
// between) into mappings MapToHost takes. A process in the initial user namespace has the
// identity map "0 0 4294967295". InvalidArgument for a malformed line or no line at all (a
// user namespace whose map was never written maps nothing).
Result<std::vector<IdMapping>> ParseProcIdMap(std::string_view text);

}  // namespace ocisecrets::hook
