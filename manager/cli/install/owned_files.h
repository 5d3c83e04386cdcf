// Files install owns whole (the hooks.d JSON files): written when missing or as install
// left them, recorded with their hash, removed by uninstall only while unchanged and not
// also recorded for another engine. Internal to the install library.
#pragma once

#include <string>

#include "manager/cli/install/session.h"
#include "shared/status.h"

namespace ocisecrets::install_internal {

// Writes `path` (unprefixed) with `content` and records it for this engine. A file already
// holding `content` is left as is (recorded only if install wrote it, for any engine); a
// different file install did not write is FailedPrecondition, nothing written.
Status InstallOwnedFile(Session& s, const std::string& path, const std::string& content);

// Removes the files recorded for this engine that are unchanged since and not recorded for
// another engine; says which were kept and why. Forgets them all.
Status UninstallOwnedFiles(Session& s);

}  // namespace ocisecrets::install_internal
