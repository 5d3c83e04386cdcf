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
// `secret inspect`: a JSON array in Docker's layout and key order, 4-space indent.
std::string InspectSecretsJson(const std::vector<Secret>& secrets);

// `service ls`: ID NAME SECRETS LEASES CREATED UPDATED.
std::string ServicesTable(const std::vector<Service>& services, TimePoint now);
// `service ls --format json`: one object per line.
std::string ServicesJsonLines(const std::vector<Service>& services);
// `service inspect`: a JSON array like Docker's, 4-space indent; Spec.Placement.Constraints
// only for a service that has constraints.
std::string InspectServicesJson(const std::vector<Service>& services);

}  // namespace ocisecrets
