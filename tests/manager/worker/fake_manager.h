// A manager as a worker sees it, in-process: a real cluster CA that issues real
// certificates for the join and renewal routes, the heartbeat, and a small lease table
// (service "redis" granted, "forbidden" 403, anything else 404). Transports to it come
// from FakeDialer, which can make an address refuse connections or swallow them until the
// deadline, and which checks a join's pinned CA digest before handing the request over,
// as the TLS stream does in its handshake.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "manager/worker/worker.h"
#include "shared/cluster_models.h"
#include "shared/join_token.h"
#include "shared/models.h"
#include "shared/pki.h"

namespace ocisecrets::testing {

inline constexpr std::string_view kPayload = "hunter2-payload";

// A settable wall clock.
class FakeClock {
 public:
  FakeClock() : now_(Clock::now()) {}
  TimePoint Now() const {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

class FakeManager {
 public:
  FakeManager(FakeClock* clock, std::string cluster_id = "cluster000000000000000001")
      : clock_(clock), cluster_id_(std::move(cluster_id)),
        ca_(*CertificateAuthority::Create(cluster_id_, std::chrono::hours(24 * 365), clock->Now())) {}

  // A token this manager accepts; with other_secret one it refuses ("invalid join token").
  std::string Token(bool other_secret = false) const {
    return FormatJoinToken({ca_.digest(), other_secret ? std::string(25, 'z') : secret_});
  }
  const CertificateAuthority& ca() const { return ca_; }

  std::string node_id = "node00000000000000000001";
  std::string answered_node_id;  // when set: the NodeID the join answers (a lie)
  std::string answered_ca;       // when set: the CA the join answers
  std::chrono::seconds cert_life{3600};
  int renew_status = 200;         // anything else: the renewal fails with it

  struct Seen {
    std::string method, target, body;
  };
  std::vector<Seen> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  int Count(std::string_view method, std::string_view target_prefix) const {
    int n = 0;
    for (const auto& r : requests()) n += r.method == method && r.target.rfind(target_prefix, 0) == 0;
    return n;
  }

  HttpResponse Handle(const HttpRequest& req) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({req.method, req.target, req.body});
    }
    if (req.method == "POST" && req.target == "/v1/cluster/join") return Join(req.body);
    if (req.method == "POST" && req.target == "/v1/cluster/renew") return Renew(req.body);
    if (req.method == "POST" && req.target == "/v1/cluster/heartbeat") return {204, ""};
    if (req.method == "POST" && req.target == "/v1/leases") return Lease(req.body);
    if (req.method == "DELETE" && req.target.rfind("/v1/leases/", 0) == 0) return {204, ""};
    return Error(404, "no such API route", "NotFound");
  }

 private:
  static HttpResponse Error(int status, std::string message, std::string code) {
    return {status, nlohmann::json{{"message", message}, {"code", code}}.dump()};
  }
  Result<std::string> Issue(const std::string& csr) {
    return ca_.Issue(csr, {node_id, "node", cluster_id_}, cert_life, clock_->Now());
  }
  HttpResponse Join(const std::string& body) {
    auto req = ParseJoinRequest(body);
    if (!req.ok() || req->token != Token()) return Error(403, "invalid join token", "PermissionDenied");
    auto cert = Issue(req->csr);
    if (!cert.ok()) return Error(400, cert.status().message(), "InvalidArgument");
    JoinResponse r;
    r.certificate = *cert;
    r.ca = answered_ca.empty() ? ca_.cert_pem() : answered_ca;
    r.cluster_id = cluster_id_;
    r.node_id = answered_node_id.empty() ? node_id : answered_node_id;
    r.role = "node";
    r.managers = {"0.0.0.0:7443"};
    return {200, ToJson(r)};
  }
  HttpResponse Renew(const std::string& body) {
    if (renew_status != 200) return Error(renew_status, "renewal broken", "Internal");
    auto req = ParseCsrRequest(body);
    auto cert = req.ok() ? Issue(req->csr) : Result<std::string>(req.status());
    if (!cert.ok()) return Error(400, cert.status().message(), "InvalidArgument");
    JoinResponse r;
    r.certificate = *cert;
    r.ca = ca_.cert_pem();
    return {200, ToJson(r)};
  }
  HttpResponse Lease(const std::string& body) {
    auto req = ParseLeaseRequest(body);
    if (!req.ok()) return Error(400, req.status().message(), "InvalidArgument");
    if (req->service == "forbidden") {
      return Error(403, "node " + req->node_id + " does not satisfy the constraint node.labels.zone==eu",
                   "PermissionDenied");
    }
    if (req->service != "redis") return Error(404, "service not found: " + req->service, "NotFound");
    LeaseGrant g;
    g.container_id = req->container_id;
    g.service = "redis";
    g.secrets_dir = "/run/secrets";
    g.expires_at = clock_->Now() + std::chrono::hours(1);
    LeasedFile f;
    f.name = "pw";
    f.data.assign(kPayload.begin(), kPayload.end());
    g.files.push_back(std::move(f));
    return {200, ToJson(g)};
  }

  FakeClock* clock_;
  std::string cluster_id_;
  CertificateAuthority ca_;
  std::string secret_ = std::string(25, 's');
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
};

// How an address behaves.
enum class Reach { kAnswers, kRefuses, kBlackhole };

class FakeDialer {
 public:
  void Add(const std::string& addr, FakeManager* m, Reach reach = Reach::kAnswers) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[addr] = {m, reach};
  }
  void Set(const std::string& addr, Reach reach) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[addr].reach = reach;
  }
  int dials() const {
    std::lock_guard<std::mutex> lock(mu_);
    return dials_;
  }
  std::string last_cert() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_cert_;
  }

  ManagerDialer dialer() {
    return [this](const std::string& addr, const DialCredentials& creds) -> std::unique_ptr<Transport> {
      std::lock_guard<std::mutex> lock(mu_);
      ++dials_;
      last_cert_ = creds.cert_pem;
      return std::make_unique<FakeTransport>(this, addr, creds.pin_ca_digest);
    };
  }

 private:
  struct Route {
    FakeManager* manager = nullptr;
    Reach reach = Reach::kRefuses;
  };
  class FakeTransport : public Transport {
   public:
    FakeTransport(FakeDialer* d, std::string addr, std::string pin)
        : d_(d), addr_(std::move(addr)), pin_(std::move(pin)) {}
    Result<HttpResponse> RoundTrip(const HttpRequest& req,
                                   std::chrono::steady_clock::time_point deadline) override {
      Route r;
      {
        std::lock_guard<std::mutex> lock(d_->mu_);
        auto it = d_->routes_.find(addr_);
        if (it != d_->routes_.end()) r = it->second;
      }
      if (r.reach == Reach::kRefuses || r.manager == nullptr) {
        return Status::Unavailable("connection refused");
      }
      if (r.reach == Reach::kBlackhole) {
        std::this_thread::sleep_until(deadline);
        return Status::DeadlineExceeded("no answer");
      }
      if (!pin_.empty() && pin_ != r.manager->ca().digest()) {
        return Status::PermissionDenied("the manager's CA does not match the join token (digest " +
                                        r.manager->ca().digest() + ", token wants " + pin_ + ")");
      }
      return r.manager->Handle(req);
    }

   private:
    FakeDialer* d_;
    std::string addr_;
    std::string pin_;
  };

  mutable std::mutex mu_;
  std::map<std::string, Route> routes_;
  int dials_ = 0;
  std::string last_cert_;
};

}  // namespace ocisecrets::testing
