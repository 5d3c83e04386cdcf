// The install manifest: what `oci-secrets install` recorded per engine (files it owns,
// JSON members it added, the block it appended to containerd's config.toml), so that
// uninstall removes that and nothing else. Internal to the install library.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "shared/status.h"

namespace ocisecrets::install_internal {

using Json = nlohmann::ordered_json;

// A manifest that records nothing: {"version": 1, "engines": {}}.
Json EmptyManifest();

// Parses a manifest's text and checks it whole: every field install and uninstall read,
// with its type, JSON pointers that parse. DataLoss naming `where` and the field otherwise,
// so that a file edited by hand into another shape is refused before anything is changed.
Result<Json> ParseManifest(const std::string& text, const std::string& where);

}  // namespace ocisecrets::install_internal
