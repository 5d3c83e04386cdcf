// The LeaseClient of the real hook: ApiClient over the manager's unix socket.
#include "hook/stages/lease_client.h"
#include "shared/api_client.h"
#include "shared/http_client.h"
#include "shared/sandbox.h"

namespace ocisecrets::hook {
namespace {

class ApiLeaseClient : public LeaseClient {
 public:
  explicit ApiLeaseClient(ApiClient client) : client_(std::move(client)) {}
  Result<LeaseGrant> Lease(const LeaseRequest& request) override {
    // Payloads arrive with the grant: lock memory first (best effort; see hook/main.cc).
    (void)HardenProcess({}, nullptr);
    return client_.Lease(request);
  }
  Status EndLease(std::string_view container_id) override {
    return client_.EndLease(container_id);
  }

 private:
  ApiClient client_;
};

}  // namespace

Result<std::unique_ptr<LeaseClient>> MakeApiLeaseClient(const HookConfig& config) {
  // The address comes from hook.json only; $OCI_SECRETS_HOST is deliberately ignored.
  ASSIGN_OR_RETURN(std::unique_ptr<Transport> transport, MakeTransport(config.manager),
                   "manager " + config.manager);
  return std::unique_ptr<LeaseClient>(
      std::make_unique<ApiLeaseClient>(ApiClient(std::move(transport), config.deadline)));
}

}  // namespace ocisecrets::hook
