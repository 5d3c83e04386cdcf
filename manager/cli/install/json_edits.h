// Additions to JSON files the user owns (daemon.json, a bundle's config.json): members
// and array elements install adds, with a backup of the user's original, recorded so
// that uninstall takes out exactly those (when still as written). Internal to the install
// library.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "manager/cli/install/session.h"
#include "shared/status.h"

namespace ocisecrets::install_internal {

struct JsonAdd {
  std::string pointer;  // the object or array added to (a JSON pointer)
  std::string name;     // member name; empty: append to an array
  Json value;
};

// Applies `adds` to the JSON file `path` (unprefixed; created when missing), creating the
// containers the pointers name, skipping what is already there, and records them; `what`
// names them in the report. Invalid JSON, a container of another type or a member already
// defined differently: an error naming the file, nothing written.
Status InstallJsonAdds(Session& s, const std::string& path, const std::vector<JsonAdd>& adds,
                       std::string_view what);

// Takes out of each recorded file what install added and is still as written, and the
// containers it created once empty; removes the file when install created it and it is
// empty again, and the backup when it holds the same JSON as the file now.
Status UninstallJsonAdds(Session& s);

}  // namespace ocisecrets::install_internal
