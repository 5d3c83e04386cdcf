// The granted files as the tmpfs builder takes them: shared by the start (stages.cc) and
// the live refresh (refresh.cc), so that both build the same tmpfs from the same grant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hook/mount/tmpfs_builder.h"
#include "hook/oci/oci_state.h"
#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets::hook {

// The tmpfs files for `files` under `secrets_dir`: relative names as they are, absolute
// ones only under secrets_dir (made relative); ids mapped to host ids through the
// mappings (empty mappings: unchanged). The TmpfsFile's data point into `files`, which
// must outlive them. InvalidArgument naming the file for a target outside the secrets dir
// or an unmapped id; never a payload.
Result<std::vector<TmpfsFile>> ToTmpfsFiles(const std::vector<LeasedFile>& files,
                                            const std::vector<IdMapping>& uid_mappings,
                                            const std::vector<IdMapping>& gid_mappings,
                                            const std::string& secrets_dir);

// The options of a secrets tmpfs of `size_bytes`, owned by the container's root (0 mapped).
// FailedPrecondition "the container's root (0) is not mapped".
Result<TmpfsOptions> SecretsTmpfsOptions(const std::vector<IdMapping>& uid_mappings,
                                         const std::vector<IdMapping>& gid_mappings,
                                         std::uint64_t size_bytes);

// Wipes every payload of `files` and empties it.
void WipeFiles(std::vector<LeasedFile>& files);

}  // namespace ocisecrets::hook
