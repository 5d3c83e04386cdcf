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
  std::string pointer;  // the object or array added to (a JSON pointer; "" the document)
  std::string name;     // member name; empty: append to an array
  Json value;
  // A member already holding this value is replaced (uninstall puts it back), as if
  // absent; null: any other value is refused.
  Json replaces = nullptr;
  // Appended to the refusal when the member holds another value: what the user can do.
  std::string if_different;
};

// Applies `adds` to the JSON file `path` (unprefixed; created when missing), creating the
// containers the pointers name, skipping what is already there, and records them; the
// report's line names only the members and entries it added ("runtimes.oci-secrets-db"),
// and nothing when all were there already. Invalid JSON, a container of another type or a
// member already defined differently: an error naming the file and the member, nothing
// written.
Status InstallJsonAdds(Session& s, const std::string& path, const std::vector<JsonAdd>& adds);

// Takes out of each recorded file what install added and is still as written (a replaced
// member gets its previous value back), and the containers it created once empty; removes
// the file when install created it and it is empty again, and the backup when it holds
// the same JSON as the file now.
Status UninstallJsonAdds(Session& s);

}  // namespace ocisecrets::install_internal
