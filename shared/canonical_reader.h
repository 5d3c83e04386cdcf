// A reader of JSON in exactly the form our own writers (models.h's ToJson) give it, with
// plain strings (printable ASCII but the quote and the backslash): what the registry
// stores, the server sends and the clients send. It reads that form without a DOM, which
// is what keeps listings and every container start's lease fast.
//
// Each function returns true and fills *out only for text in that exact form, the whole
// text (no blanks, keys in the writers' order); for anything else it returns false, leaves
// *out unspecified, and the caller reads the text the general way, which names the problem.
// No text it accepts reads differently through the general reader. Pure functions, safe
// from any thread; they never log, and never echo the text (it may hold payloads).
#pragma once

#include <string_view>
#include <vector>

#include "shared/models.h"

namespace ocisecrets {

// A secret as ToJson(const Secret&) writes it (list false), or an array of them as
// ToJson(const std::vector<Secret>&) writes it (list true). Empty times are left to the
// general reader (false). Secrets are appended to *out.
bool ReadCanonicalSecrets(std::string_view text, bool list, std::vector<Secret>* out);

// A lease request as ToJson(const LeaseRequest&) writes it.
bool ReadCanonicalLeaseRequest(std::string_view text, LeaseRequest* out);

// A lease grant as ToJson(const LeaseGrant&) writes it, *out empty on entry. Each payload
// is decoded from the text straight into its file's SecretBytes (no intermediate copy);
// on false, what *out holds is wiped with it when the caller destroys it.
bool ReadCanonicalLeaseGrant(std::string_view text, LeaseGrant* out);

}  // namespace ocisecrets
