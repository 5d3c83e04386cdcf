// Parsers for what users type on the command line: --secret SPEC and --label K=V.
// They take untrusted text and never throw; every error is one clear line.
#pragma once

#include <string_view>
#include <vector>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

// --secret SPEC, in Docker's two forms and Podman's:
//   short:  "redis_password"   → source and target "redis_password"
//   long:   "source=tls_cert,target=server.pem,uid=999,gid=999,mode=0400"
//   Podman: "tls_cert,type=mount,target=server.pem,uid=999,gid=999,mode=0400" (the name
//           first without "source=")
// Keys: source (or src), target, uid, gid, mode, type; defaults target = source, uid 0,
// gid 0, mode 0444. Mode is always octal ("0400" and "400" are the same). type may only
// be "mount": "env" is refused saying why (the environment leaks). Refuses unknown or
// repeated keys, a missing source, bad names, targets with ".." and modes past 0777.
// Returns a reference with secret_name and file filled in; secret_id is left empty.
Result<SecretReference> ParseSecretReference(std::string_view spec);

// One --label value: "K=V", or "K" for an empty value. Refuses an empty key.
Status ParseLabel(std::string_view text, Labels* labels);

// Every --label value, in order (a later key wins).
Result<Labels> ParseLabels(const std::vector<std::string>& texts);

}  // namespace ocisecrets
