// What the CLI prints: Docker's tables, ages and inspect JSON.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "shared/models.h"

namespace ocisecrets {

// Docker's go-units HumanDuration: "Less than a second", "1 second", "5 seconds",
// "About a minute", "3 minutes", "About an hour", "5 hours", "2 days", "3 weeks",
// "4 months", "2 years". A negative duration (clock skew) counts as zero.
std::string HumanDuration(std::chrono::nanoseconds d);

// HumanDuration(now - then) + " ago", as `docker secret ls` prints CREATED.
std::string Ago(TimePoint then, TimePoint now);

// Rows (the first is the header) aligned like Docker's tabwriter: every column but the
// last is as wide as its widest cell plus 3 spaces, and at least 10; the last column is
// not padded. Each row ends with '\n'.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// `secret ls`: ID NAME DRIVER CREATED UPDATED.
std::string SecretsTable(const std::vector<Secret>& secrets, TimePoint now);
// `secret ls --format json`: one object per line, {"ID","Name","Driver","CreatedAt",
// "UpdatedAt","Labels"}, times in RFC 3339.
std::string SecretsJsonLines(const std::vector<Secret>& secrets);
// `secret inspect`: a JSON array in Docker's layout and key order, 4-space indent, plus
// "DataVersion" after "UpdatedAt": {"Index", "UpdatedAt"[, "Previous"][, "OverlapUntil"]
// [, "RevokedAt"]} (the data version and when it changed; never the data).
std::string InspectSecretsJson(const std::vector<Secret>& secrets);

// `secret ps`: NODE CONTAINER SERVICE VERSION SINCE, one row per container holding it
// (VERSION "-" when the node has not said; SINCE as "5 minutes ago").
std::string SecretHoldersTable(const std::vector<SecretHolder>& holders, TimePoint now);
// `service ps`: CONTAINER NODE SINCE VERSIONS, one row per container, VERSIONS its
// secrets and data versions in name order: "db_password:3 tls:1" ("?" not yet said).
std::string ServiceHoldersTable(const std::vector<SecretHolder>& holders, TimePoint now);
// `secret revoke`'s last words: "revoked NAME: pulled from N containers on M nodes\n"
// (`pulled`: what held it before) when `still` is empty, else "revoked NAME; still held
// by:\n" and a NODE CONTAINER table of `still`.
std::string RevokeReport(const std::string& name, const std::vector<SecretHolder>& pulled,
                         const std::vector<SecretHolder>& still);

// `service ls`: ID NAME SECRETS LEASES CREATED UPDATED.
std::string ServicesTable(const std::vector<Service>& services, TimePoint now);
// `service ls --format json`: one object per line.
std::string ServicesJsonLines(const std::vector<Service>& services);
// `service inspect`: a JSON array like Docker's, 4-space indent; Spec.Placement.Constraints
// only for a service that has constraints. Beside Spec, "EffectiveSecretsDir" is where the
// files go (Spec.SecretsDir, else the default /run/secrets) and "SecretsDirIsDefault" says
// which (a node's hook.json may change the default there).
std::string InspectServicesJson(const std::vector<Service>& services);

}  // namespace ocisecrets
