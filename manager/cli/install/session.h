// One run of `oci-secrets install|uninstall ENGINE`: its options, the manifest it reads and
// updates, the files it touches under --root and the report it builds. Internal to the
// install library; not thread-safe (one run, one thread).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "manager/cli/install/install.h"
#include "manager/cli/install/manifest.h"
#include "shared/status.h"

namespace ocisecrets::install_internal {

class Session {
 public:
  // `options` must outlive the session.
  Session(Engine engine, const InstallOptions& options);

  // Reads the manifest (an empty one when missing). DataLoss when it is not one.
  Status LoadManifest();
  // Writes the manifest when something changed (not in a dry run); removes it when it
  // records no engine any more.
  Status SaveManifest();
  void MarkManifestDirty() { manifest_dirty_ = true; }

  // This engine's record in the manifest (created empty when missing).
  Json& Record();
  // True when another engine's record lists the owned file `path`.
  bool OwnedByOtherEngine(const std::string& path) const;
  // The recorded hash of an owned file, from any engine's record; nullopt if none.
  std::optional<std::string> RecordedHash(const std::string& path) const;

  void Say(std::string line) { report_.lines.push_back(std::move(line)); }
  void Changed() { report_.changed = true; }
  InstallReport& report() { return report_; }
  const InstallOptions& options() const { return options_; }
  // `done`, or `would` in a dry run.
  std::string Verb(std::string_view done, std::string_view would) const {
    return std::string(options_.dry_run ? would : done);
  }

  // `path` (unprefixed) under --root.
  std::string Host(const std::string& path) const { return options_.root + path; }
  // The file's bytes (bounded), nullopt when it does not exist.
  Result<std::optional<std::string>> ReadOptional(const std::string& path) const;
  // Writes `path` (unprefixed) atomically, keeping the mode and owner of an existing
  // file, else `new_mode` and the caller's ids, creating missing parents (0755).
  Status WriteHostFile(const std::string& path, const std::string& content, mode_t new_mode);
  // Removes `path` (unprefixed); a missing file is fine.
  Status RemoveHostFile(const std::string& path);
  // Copies `bytes` (the current content of `path`) to path.oci-secrets.bak unless a
  // backup exists already (the first original stays); nothing is written in a dry run.
  // Returns the backup's unprefixed path.
  Result<std::string> Backup(const std::string& path, const std::string& bytes);

 private:
  const InstallOptions& options_;
  std::string name_;
  Json manifest_;
  bool manifest_dirty_ = false;
  InstallReport report_;
};

}  // namespace ocisecrets::install_internal
