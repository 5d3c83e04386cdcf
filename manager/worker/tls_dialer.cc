#include "manager/worker/tls_dialer.h"

#include "shared/tls_stream.h"

namespace ocisecrets {
namespace {

// A transport that fails every call the same way: what a dialer returns when it cannot
// make a real one, so that the caller's error path names the reason.
class FailingTransport : public Transport {
 public:
  explicit FailingTransport(Status status) : status_(std::move(status)) {}
  Result<HttpResponse> RoundTrip(const HttpRequest&, std::chrono::steady_clock::time_point) override {
    return status_;
  }

 private:
  Status status_;
};

}  // namespace

ManagerDialer MakeTlsDialer() {
  return [](const std::string& manager_addr, const DialCredentials& creds) {
    TlsClientOptions tls;
    tls.ca_pem = creds.ca_pem;
    tls.cert_pem = creds.cert_pem;
    tls.key_pem = creds.key_pem;
    tls.pin_ca_digest = creds.pin_ca_digest;
    tls.require_role = "manager";
    auto transport = MakeTransport("https://" + manager_addr, &tls);
    if (!transport.ok()) {
      return std::unique_ptr<Transport>(
          new FailingTransport(transport.status().WithContext("manager " + manager_addr)));
    }
    return std::move(*transport);
  };
}

}  // namespace ocisecrets
