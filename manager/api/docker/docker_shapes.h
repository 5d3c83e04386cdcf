// The part of Docker's Engine API (v1.41) that manages secrets, as pure translation
// between Docker's wire shapes and ours: which paths are Docker's, its JSON filters, its
// Secret object, its error body, status codes and the answers of /_ping, /version and
// /info. No sockets, no registry: the routes that use these are in
// manager/api/docker_routes.cc. Every function is pure and safe from any thread; none
// returns or echoes a payload.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets::docker {

// The Engine API version answered (Docker 20.10's), and the oldest one accepted in a path.
inline constexpr std::string_view kApiVersion = "1.41";
inline constexpr std::string_view kMinApiVersion = "1.25";

// The message of the 404 for every Docker path we do not serve.
inline constexpr std::string_view kNotServedMessage =
    "oci-secrets answers only Docker's secret calls; use the oci-secrets CLI for services, "
    "containers and the rest (oci-secrets --help)";

// Returns the Docker path that `path` (no query) names, its version prefix
// "/v<digits>.<digits>" removed ("/v1.41/secrets" -> "/secrets", "/_ping" -> "/_ping"),
// or nullopt for a path of our own API: "/v1" and everything under "/v1/", and "/metrics"
// (and for what is no path at all: it does not start with '/').
std::optional<std::string_view> DockerPath(std::string_view path);

// Docker's `filters` query parameter on GET /secrets: keys "name" (name prefix, ignoring
// case), "names" (exact name), "id" (ID prefix), "label" ("K" or "K=V"). Values within a
// key are ORed, except labels, which must all match; keys are ANDed.
struct SecretFilters {
  std::vector<std::string> name_prefixes;
  std::vector<std::string> names;
  std::vector<std::string> id_prefixes;
  std::vector<std::string> labels;
};

// Parses `filters` as Docker's clients send it: {"name":{"x":true}} (the CLI) or
// {"name":["x"]} (older clients, the Python SDK); "" is no filter. InvalidArgument
// "invalid filter 'K'" for another key, "invalid filters: ..." for another shape.
Result<SecretFilters> ParseSecretFilters(std::string_view filters_json);

// Whether `secret` passes every filter.
bool Matches(const Secret& secret, const SecretFilters& filters);

// Docker's Secret object: {"ID","Version":{"Index"},"CreatedAt","UpdatedAt",
// "Spec":{"Name","Labels"}}; never a payload (ours has none to give).
std::string SecretJson(const Secret& secret);
std::string SecretListJson(const std::vector<Secret>& secrets);

// Checks the SecretSpec of POST /secrets/create for what Docker accepts but we cannot
// honour: a "Driver" or "Templating" is InvalidArgument naming it. Name, Labels and Data
// are left to ParseSecretCreateRequest (shared/models.h); the payload is neither kept nor
// copied here.
Status CheckSecretSpecExtras(std::string_view body);

// Docker's error body: {"message": message} (invalid UTF-8 replaced).
std::string ErrorBody(std::string_view message);

// The message of an error body, ours ({"message","code"}) or Docker's; the body itself
// when it is not one.
std::string MessageOf(std::string_view body);

// The headers of /_ping that Docker's CLI reads: API-Version, Docker-Experimental,
// OSType, and Swarm "active/manager" (which shows the swarm commands, `secret` among them).
std::vector<std::pair<std::string, std::string>> PingHeaders();

// The bodies of GET /version and GET /info: as much as Docker's CLI and SDKs read, naming
// this daemon (version `version`, node `node_id`) and a swarm that is active, here a
// manager.
std::string VersionJson(std::string_view version);
std::string InfoJson(std::string_view version, std::string_view node_id);

}  // namespace ocisecrets::docker
