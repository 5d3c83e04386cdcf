// The manager's API (docs/API.md) as C++ calls. Used by the CLI and by the hook.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/http_client.h"
#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

// One client per connection; not thread-safe. Every call is bounded by `timeout` from
// its start. Errors: transport failures as the Transport reports them (Unavailable,
// DeadlineExceeded, ...), HTTP errors as StatusFromHttp reads them (the code the server
// names in the body, with its message: "secret redis_password already exists"),
// malformed answers as DataLoss.
class ApiClient {
 public:
  ApiClient(std::unique_ptr<Transport> transport, std::chrono::milliseconds timeout);

  // GET /v1/health: the body, e.g. {"Status":"ok","Store":"sqlite","Version":"0.1.0"}.
  Result<std::string> Health();

  // POST /v1/secrets. Returns the new secret's ID. The payload is wiped from every
  // buffer this call made; req itself stays the caller's.
  Result<std::string> CreateSecret(const SecretCreateRequest& req);
  // GET /v1/secrets, sorted by name. Each filter is "name=X", "id=PREFIX", "label=K" or
  // "label=K=V" (ANDed by the server); a filter without '=' is InvalidArgument.
  Result<std::vector<Secret>> ListSecrets(const std::vector<std::string>& filters = {});
  // GET /v1/secrets/NAME_OR_ID (full ID, name, name ignoring case, unique ID prefix).
  Result<Secret> InspectSecret(std::string_view name_or_id);
  // POST /v1/secrets/NAME_OR_ID/update?version=N. Only labels may change; a stale
  // version is FailedPrecondition.
  Status UpdateSecret(std::string_view name_or_id, std::uint64_t version, const SecretSpec& spec);
  // DELETE /v1/secrets/NAME_OR_ID. In use: FailedPrecondition naming the services.
  Status RemoveSecret(std::string_view name_or_id);

  // Live secrets: POST /v1/secrets/ID/rotate (the payload is wiped from this call's
  // buffers), /rollback and /revoke; each returns the secret as it is then.
  Result<Secret> RotateSecret(std::string_view name_or_id, const SecretRotateRequest& req);
  // The same with "IfChanged": the secret as it is then and whether a version was added.
  Result<SecretRotateResult> RotateSecretIfChanged(std::string_view name_or_id,
                                                   SecretRotateRequest req);
  Result<Secret> RollbackSecret(std::string_view name_or_id);
  Result<Secret> RevokeSecret(std::string_view name_or_id);
  // GET /v1/secrets/ID/holders, GET /v1/services/ID/holders: who holds what now.
  Result<std::vector<SecretHolder>> SecretHolders(std::string_view name_or_id);
  Result<std::vector<SecretHolder>> ServiceHolders(std::string_view name_or_id);

  // POST /v1/services. Returns the new service's ID.
  Result<std::string> CreateService(const ServiceSpec& spec);
  Result<std::vector<Service>> ListServices();
  Result<Service> InspectService(std::string_view name_or_id);
  // POST /v1/services/NAME_OR_ID/update?version=N with the whole spec.
  Status UpdateService(std::string_view name_or_id, std::uint64_t version, const ServiceSpec& spec);
  Status RemoveService(std::string_view name_or_id);

  // POST /v1/leases: the service's files with their payloads (wiped from this call's own
  // buffers; the grant's SecretBytes wipe themselves).
  Result<LeaseGrant> Lease(const LeaseRequest& req);
  // DELETE /v1/leases/CONTAINER_ID; OK also when there was no such lease.
  Status EndLease(std::string_view container_id);

  // One round trip: the response of a 2xx, else the error as above (the body of a
  // failed call is wiped). The request body is wiped once sent. For the calls that live
  // beside this class (shared/cluster_client.h).
  Result<HttpResponse> Call(std::string method, std::string target, std::string body);

 private:
  // POST /v1/secrets/ID/ACTION with body, the secret parsed from the answer.
  Result<Secret> SecretCall(std::string_view name_or_id, std::string_view action, std::string body);
  // GET /v1/KIND/ID/holders.
  Result<std::vector<SecretHolder>> HoldersOf(std::string_view kind, std::string_view name_or_id);

  std::unique_ptr<Transport> transport_;
  std::chrono::milliseconds timeout_;
};

// Percent-encodes s for one path segment ("/" and everything but A-Z a-z 0-9 - . _ ~).
std::string EscapePathSegment(std::string_view s);

}  // namespace ocisecrets
