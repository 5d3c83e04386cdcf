// A reader of secrets straight from JSON text by nlohmann's SAX interface, without a DOM:
// one secret, or an array of them (a list of 100,000 secrets, or every stored record of a
// listing), in any key order, with blanks, escapes and unknown fields. It is the second
// fast path of ParseSecret and ParseSecretList (models.h), after the canonical reader.
#pragma once

#include <string_view>
#include <vector>

#include "shared/models.h"

namespace ocisecrets {

// Reads one secret (list false) or an array of secrets (list true). Returns true and sets
// *out only for the shapes the general DOM reader accepts, with the same result. Returns
// false, *out untouched, on anything else (a wrong type, a field repeated in one object,
// a bad time, malformed text): the caller then takes the DOM path, which names the
// problem. Never throws; safe from any thread.
bool ReadSecretsSax(std::string_view text, bool list, std::vector<Secret>* out);

}  // namespace ocisecrets
