#include "hook/stages/grant_files.h"

#include "hook/oci/id_mapping.h"
#include "shared/secure_buffer.h"

namespace ocisecrets::hook {
namespace {

// A file's place inside the tmpfs: relative names as they are; absolute names only when
// they lie under the secrets dir (then made relative). Anything else is refused.
Result<std::string> PathInTmpfs(const std::string& name, const std::string& secrets_dir) {
  if (name.empty() || name.front() != '/') return name;
  std::string prefix = secrets_dir;
  if (prefix.back() != '/') prefix += '/';
  if (name.size() > prefix.size() && name.starts_with(prefix)) return name.substr(prefix.size());
  return Status::InvalidArgument("file " + name + ": targets outside the secrets dir " +
                                 secrets_dir + " are not supported");
}

}  // namespace

Result<std::vector<TmpfsFile>> ToTmpfsFiles(const std::vector<LeasedFile>& files,
                                            const std::vector<IdMapping>& uid_mappings,
                                            const std::vector<IdMapping>& gid_mappings,
                                            const std::string& secrets_dir) {
  std::vector<TmpfsFile> out;
  out.reserve(files.size());
  for (const LeasedFile& f : files) {
    TmpfsFile t;
    ASSIGN_OR_RETURN(t.path, PathInTmpfs(f.name, secrets_dir), "");
    ASSIGN_OR_RETURN(t.uid, MapToHost(uid_mappings, f.uid), "file " + f.name + ": uid");
    ASSIGN_OR_RETURN(t.gid, MapToHost(gid_mappings, f.gid), "file " + f.name + ": gid");
    t.mode = f.mode;
    t.data = &f.data;
    out.push_back(std::move(t));
  }
  return out;
}

Result<TmpfsOptions> SecretsTmpfsOptions(const std::vector<IdMapping>& uid_mappings,
                                         const std::vector<IdMapping>& gid_mappings,
                                         std::uint64_t size_bytes) {
  Result<std::uint32_t> root_uid = MapToHost(uid_mappings, 0);
  Result<std::uint32_t> root_gid = MapToHost(gid_mappings, 0);
  if (!root_uid.ok() || !root_gid.ok()) {
    return Status::FailedPrecondition("the container's root (0) is not mapped");
  }
  TmpfsOptions options;
  options.size_bytes = size_bytes;
  options.root_uid = *root_uid;
  options.root_gid = *root_gid;
  return options;
}

void WipeFiles(std::vector<LeasedFile>& files) {
  for (LeasedFile& f : files) {
    if (!f.data.empty()) SecureWipe(f.data.data(), f.data.size());
  }
  files.clear();
}

}  // namespace ocisecrets::hook
