// containerd's config.toml: what it declares, read with a TOML parser (toml++), and the
// oci-secrets runtime block install appends to it and uninstall takes out byte for byte,
// so that the user's comments and layout survive. Internal to the install library.
#pragma once

#include <string>

#include "manager/cli/install/session.h"
#include "shared/status.h"

namespace ocisecrets::install_internal {

// What a config.toml declares, as far as install cares.
struct ContainerdConfigFacts {
  bool version_2 = false;             // version = 2
  bool imports = false;               // a top-level `imports`
  bool declares_cri_runtime = false;  // any table under the CRI plugin's containerd.runtimes
  bool declares_oci_secrets = false;  // the runtime "oci-secrets" among them
};

// Parses `text` (the bytes of the file `host` names). A document that is not TOML is
// InvalidArgument naming `host` and the parser's line, column and reason.
Result<ContainerdConfigFacts> ReadContainerdConfig(const std::string& text,
                                                   const std::string& host);

// Appends the runtime "oci-secrets" (and runc, when the file declares no CRI runtime: a
// configured list replaces containerd's default one) to /etc/containerd/config.toml,
// creating it (version = 2) when missing, with a backup, and records the block. Unchanged
// when the recorded block is there as written. FailedPrecondition, nothing written, for a
// file that is not version 2, already defines a runtime oci-secrets, or holds a block
// install did not record; InvalidArgument for one that does not parse.
Status InstallContainerdBlock(Session& s);

// Takes the recorded block out again (the file is removed when install created it and
// nothing else is left); a block changed since is kept and named.
Status UninstallContainerdBlock(Session& s);

// Undoes the drop-in imports line that installs of an older build recorded.
Status UninstallContainerdImport(Session& s);

}  // namespace ocisecrets::install_internal
