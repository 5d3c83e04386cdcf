#include "tests/integration/rotation_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "shared/http_client.h"
#include "shared/validation.h"

namespace ocisecrets::itest {

std::string SeedSecretName(int i) { return "s" + std::to_string(i); }
std::string SeedPayload(int i) { return "rotation payload " + std::to_string(i); }
std::string SeedServiceName(int k) { return "all-" + std::to_string(k); }
int SeedServiceCount(int secrets) {
  const int per = static_cast<int>(kMaxServiceSecrets);
  return (secrets + per - 1) / per;
}

ApiClient Connect(const Daemon& d) {
  auto transport = MakeTransport(d.host());
  EXPECT_TRUE(transport.ok()) << transport.status().ToString();
  return ApiClient(std::move(*transport), std::chrono::seconds(20));
}

Status SeedSecrets(const Daemon& d, int secrets) {
  ApiClient client = Connect(d);
  const int per = static_cast<int>(kMaxServiceSecrets);
  for (int k = 0; k < SeedServiceCount(secrets); ++k) {
    ServiceSpec service;
    service.name = SeedServiceName(k);
    for (int i = k * per; i < std::min(secrets, (k + 1) * per); ++i) {
      SecretCreateRequest req;
      req.spec.name = SeedSecretName(i);
      const std::string payload = SeedPayload(i);
      req.data.assign(payload.begin(), payload.end());
      ASSIGN_OR_RETURN(std::string id, client.CreateSecret(req), "create " + req.spec.name);
      service.secrets.push_back({id, SeedSecretName(i), {SeedSecretName(i)}});
    }
    ASSIGN_OR_RETURN(auto created, client.CreateService(service), "create " + service.name);
    (void)created;
  }
  return Status::Ok();
}

Status LeaseAndCheck(ApiClient& client, const std::string& container_id, int k, int secrets) {
  const std::string service = SeedServiceName(k);
  ASSIGN_OR_RETURN(LeaseGrant grant, client.Lease({container_id, service}), "lease " + service);
  const int per = static_cast<int>(kMaxServiceSecrets);
  const std::size_t expected = static_cast<std::size_t>(std::min(secrets, (k + 1) * per) - k * per);
  Status checked = Status::Ok();
  if (grant.files.size() != expected) {
    checked = Status::DataLoss("lease " + service + ": " + std::to_string(grant.files.size()) +
                               " files, not " + std::to_string(expected));
  }
  for (const LeasedFile& f : grant.files) {
    if (!checked.ok()) break;
    const int i = std::stoi(f.name.substr(1));
    if (std::string(f.data.begin(), f.data.end()) != SeedPayload(i)) {
      checked = Status::DataLoss("lease " + service + ": " + f.name + " holds a wrong payload");
    }
  }
  RETURN_IF_ERROR(client.EndLease(container_id), "end lease of " + service);
  return checked;
}

Status LeaseEveryService(const Daemon& d, int secrets) {
  ApiClient client = Connect(d);
  for (int k = 0; k < SeedServiceCount(secrets); ++k) {
    RETURN_IF_ERROR(LeaseAndCheck(client, "rotation-check-" + std::to_string(k), k, secrets), "");
  }
  return Status::Ok();
}

LeaseLoop::LeaseLoop(const Daemon& d, int secrets, std::string tag) : tag_(std::move(tag)) {
  thread_ = std::thread([this, &d, secrets] { Run(d, secrets); });
}

LeaseLoop::~LeaseLoop() { Stop(); }

void LeaseLoop::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LeaseLoop::Run(const Daemon& d, int secrets) {
  ApiClient client = Connect(d);
  const int services = SeedServiceCount(secrets);
  for (int i = 0; !stop_; ++i) {
    Status s = LeaseAndCheck(client, "rotation-" + tag_ + "-" + std::to_string(i), i % services,
                             secrets);
    if (s.ok()) {
      ++ok_;
    } else if (failed_++ == 0) {
      first_error_ = s.ToString();
    }
  }
}

Result<KeyStatus> KeysOf(const Daemon& d) {
  ApiClient client = Connect(d);
  return GetKeyStatus(client);
}

KeyStatus WaitForKeys(const Daemon& d, const std::function<bool(const KeyStatus&)>& pred,
                      std::chrono::seconds timeout) {
  KeyStatus last;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    auto keys = KeysOf(d);
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    if (keys.ok()) {
      last = *keys;
      if (pred(last)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "timed out; last: " << ToJson(last);
  return last;
}

}  // namespace ocisecrets::itest
