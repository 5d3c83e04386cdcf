#include "manager/worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "shared/api_client.h"
#include "shared/cluster_models.h"
#include "shared/join_token.h"
#include "shared/models.h"
#include "shared/pki.h"

namespace ocisecrets {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMinAttempt{1000};
constexpr std::chrono::seconds kFirstBackoff{1};
constexpr std::chrono::seconds kMaxBackoff{60};
constexpr std::string_view kNodeRole = "node";

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

// Why one attempt failed, for the list in the Unavailable message.
std::string Why(const Status& s) {
  return s.code() == StatusCode::kDeadlineExceeded ? "timed out" : s.message();
}

// An address a worker can dial: not the wildcard a manager listens on.
bool Dialable(const std::string& addr) {
  return !addr.empty() && addr.rfind("0.0.0.0:", 0) != 0 && addr.rfind("[::]:", 0) != 0;
}

// The managers to keep: the one that answered the join, then the others given, then any
// the manager named that are new.
std::vector<std::string> ManagersAfterJoin(const std::vector<std::string>& given,
                                           std::size_t answered,
                                           const std::vector<std::string>& named) {
  std::vector<std::string> out{given[answered]};
  auto add = [&out](const std::string& a) {
    if (Dialable(a) && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  for (const auto& a : given) add(a);
  for (const auto& a : named) add(a);
  return out;
}

// What a manager answered, checked: a certificate for node_id with the node role, issued
// by ca_pem and valid now.
Result<CertInfo> CheckNodeCertificate(const std::string& cert_pem, const std::string& ca_pem,
                                      const std::string& node_id, TimePoint now) {
  RETURN_IF_ERROR(VerifyCertificate(cert_pem, ca_pem, now), "the manager's certificate for this node");
  ASSIGN_OR_RETURN(CertInfo info, ParseCertificate(cert_pem), "the manager's certificate for this node");
  if (info.subject.node_id != node_id || info.subject.role != kNodeRole) {
    return Status::PermissionDenied("the manager issued a certificate for " + info.subject.role +
                                    " " + info.subject.node_id + ", not for node " + node_id);
  }
  return info;
}

// Issue time of a certificate: the CA backdates notBefore by kCertBackdate.
TimePoint IssuedAt(TimePoint not_before, TimePoint not_after) {
  TimePoint issued = not_before + kCertBackdate;
  return issued < not_after ? issued : not_before;
}

HttpRequest LeaseEndRequest(std::string_view container_id, const std::string& node_id) {
  return HttpRequest{"DELETE", "/v1/leases/" + EscapePathSegment(container_id) +
                                   "?node=" + EscapePathSegment(node_id), ""};
}

}  // namespace

Worker::Worker(WorkerOptions options) : options_(std::move(options)), state_(options_.state_dir) {
  if (!options_.clock) options_.clock = [] { return TimePoint(Clock::now()); };
  if (options_.hostname.empty()) options_.hostname = Hostname();
  if (!options_.random_fraction) {
    options_.random_fraction = [] {
      thread_local std::mt19937_64 gen{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
    };
  }
  if (!options_.log) {
    options_.log = [](const std::string& line) {
      std::fprintf(stderr, "oci-secretsd: worker: %s\n", line.c_str());
    };
  }
}

Result<std::unique_ptr<Worker>> Worker::Open(WorkerOptions options) {
  if (!options.dialer) return Status::InvalidArgument("worker: no dialer");
  std::unique_ptr<Worker> w(new Worker(std::move(options)));
  ASSIGN_OR_RETURN(auto saved, w->state_.Load(), "worker state");
  if (saved) {
    ASSIGN_OR_RETURN(w->leases_, w->state_.LoadLeases(), "worker state");
    RETURN_IF_ERROR(w->Activate(std::move(*saved)), "worker state");
  }
  return w;
}

Worker::~Worker() { StopBackground(); }

Status Worker::Activate(WorkerIdentity id) {
  ASSIGN_OR_RETURN(CertInfo cert, ParseCertificate(id.cert_pem), "node certificate");
  TimePoint now = options_.clock();
  {
    std::lock_guard<std::mutex> lock(mu_);
    id_ = std::move(id);
    cert_not_before_ = cert.not_before;
    cert_not_after_ = cert.not_after;
    preferred_ = 0;
    cut_off_ = false;
    renew_all_ = false;
    renew_backoff_ = std::chrono::seconds(0);
    next_heartbeat_ = now;
    ScheduleCertRenewal();
  }
  DropConnections();
  active_ = true;
  StartBackground();
  return Status::Ok();
}

void Worker::ScheduleCertRenewal() {
  double r = std::clamp(options_.random_fraction(), 0.0, 1.0);
  TimePoint issued = IssuedAt(cert_not_before_, cert_not_after_);
  auto life = cert_not_after_ - issued;
  next_renewal_ = issued + std::chrono::duration_cast<TimePoint::duration>(life * (0.5 + 0.3 * r));
}

std::optional<TimePoint> Worker::next_cert_renewal() const {
  std::lock_guard<std::mutex> lock(mu_);
  return id_ ? next_renewal_ : std::nullopt;
}

std::vector<LocalLease> Worker::local_leases() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leases_;
}

void Worker::StartBackground() {
  if (!options_.background || thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    auto wait = std::min<milliseconds>(milliseconds(500), options_.heartbeat_period);
    std::unique_lock<std::mutex> lock(bg_mu_);
    while (!stop_) {
      lock.unlock();
      Tick();
      lock.lock();
      bg_cv_.wait_for(lock, wait, [this] { return stop_; });
    }
  });
}

void Worker::StopBackground() {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    stop_ = true;
  }
  bg_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<Worker::Answer> Worker::TryInTurn(const std::vector<std::string>& managers,
                                         std::size_t first, milliseconds budget,
                                         const Attempt& attempt, milliseconds min_attempt) {
  const auto end = SteadyClock::now() + budget;
  std::string tried;
  for (std::size_t i = 0; i < managers.size(); ++i) {
    std::size_t index = (first + i) % managers.size();
    auto now = SteadyClock::now();
    if (now >= end) break;
    auto remaining = end - now;
    auto share = std::max<SteadyClock::duration>(min_attempt, remaining / (managers.size() - i));
    auto deadline = now + std::min<SteadyClock::duration>(remaining, share);
    auto response = attempt(managers[index], deadline);
    if (response.ok()) return Answer{index, std::move(*response)};
    tried += (tried.empty() ? "" : ", ") + managers[index] + " (" + Why(response.status()) + ")";
  }
  return Status::Unavailable("no manager reachable within " + std::to_string(budget.count()) +
                             " ms: " + (tried.empty() ? "none tried" : tried));
}

std::unique_ptr<Transport> Worker::Acquire(const std::string& addr, std::uint64_t* generation) {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    *generation = generation_;
    auto& idle = idle_[addr];
    if (!idle.empty()) {
      auto t = std::move(idle.back());
      idle.pop_back();
      return t;
    }
  }
  DialCredentials creds;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id_) return nullptr;
    creds.ca_pem = id_->ca_pem;
    creds.cert_pem = id_->cert_pem;
    creds.key_pem = id_->key_pem;
  }
  return options_.dialer(addr, creds);
}

void Worker::Release(const std::string& addr, std::unique_ptr<Transport> transport,
                     std::uint64_t generation) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  auto& idle = idle_[addr];
  if (generation == generation_ && idle.size() < options_.max_idle_per_manager) {
    idle.push_back(std::move(transport));
  }
}

void Worker::DropConnections() {
  std::map<std::string, std::vector<std::unique_ptr<Transport>>> old;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    ++generation_;
    old.swap(idle_);
  }
  // `old` closes its connections here, outside the lock.
}

Result<HttpResponse> Worker::Call(const HttpRequest& request, milliseconds budget) {
  return CallManagers(request, budget, budget);
}

Result<HttpResponse> Worker::CallManagers(const HttpRequest& request,
                                          std::optional<milliseconds> budget,
                                          milliseconds min_attempt) {
  std::vector<std::string> managers;
  std::size_t first = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id_) return Status::FailedPrecondition("this node is not part of a cluster");
    managers = id_->managers;
    first = preferred_;
  }
  auto answer = TryInTurn(managers, first, budget.value_or(options_.lease_budget),
                          [&](const std::string& addr, SteadyClock::time_point deadline)
                              -> Result<HttpResponse> {
                            std::uint64_t generation = 0;
                            auto transport = Acquire(addr, &generation);
                            if (!transport) return Status::Unavailable("cannot dial " + addr);
                            auto response = transport->RoundTrip(request, deadline);
                            if (response.ok()) Release(addr, std::move(transport), generation);
                            return response;
                          },
                          min_attempt);
  std::lock_guard<std::mutex> lock(mu_);
  cut_off_ = !answer.ok();
  if (!answer.ok()) {
    renew_all_ = true;  // once they are back, renew every lease at once
    return answer.status();
  }
  preferred_ = answer->manager;
  return std::move(answer->response);
}

Result<ClusterInfo> Worker::Join(const JoinRequest& request) {
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (active()) return Status::FailedPrecondition("this node is already part of a cluster");
  ASSIGN_OR_RETURN(JoinToken token, ParseJoinToken(request.token), "");
  if (request.managers.empty()) {
    return Status::InvalidArgument("no manager given: name at least one MANAGER:PORT");
  }
  ASSIGN_OR_RETURN(SecretBytes key, GenerateKeyPem(), "node key");
  JoinRequest wire;
  wire.token = request.token;
  wire.hostname = options_.hostname;
  ASSIGN_OR_RETURN(wire.csr, MakeCsr(key, options_.hostname), "certificate request");
  HttpRequest http{"POST", "/v1/cluster/join", ToJson(wire)};
  WipeString(wire.token);
  DialCredentials pinned;
  pinned.pin_ca_digest = token.ca_digest;
  auto answer = TryInTurn(request.managers, 0, options_.join_budget,
                          [&](const std::string& addr, SteadyClock::time_point deadline)
                              -> Result<HttpResponse> {
                            auto transport = options_.dialer(addr, pinned);
                            if (!transport) return Status::Unavailable("cannot dial " + addr);
                            return transport->RoundTrip(http, deadline);
                          },
                          kMinAttempt);
  WipeString(http.body);
  if (!answer.ok()) return answer.status().WithContext("cannot join");
  const std::string& addr = request.managers[answer->manager];
  RETURN_IF_ERROR(StatusFromHttp(answer->response.status, answer->response.body),
                  "manager " + addr);
  ASSIGN_OR_RETURN(JoinResponse joined, ParseJoinResponse(answer->response.body),
                   "manager " + addr);
  ASSIGN_OR_RETURN(std::string digest, CaDigest(joined.ca), "manager " + addr + ": its CA");
  if (digest != token.ca_digest) {
    return Status::PermissionDenied("manager " + addr +
                                    ": the manager's CA does not match the join token (digest " +
                                    digest + ", token wants " + token.ca_digest + ")");
  }
  RETURN_IF_ERROR(CheckNodeCertificate(joined.certificate, joined.ca, joined.node_id,
                                       options_.clock())
                      .status(),
                  "manager " + addr);
  WorkerIdentity id;
  id.cluster_id = joined.cluster_id;
  id.node_id = joined.node_id;
  id.managers = ManagersAfterJoin(request.managers, answer->manager, joined.managers);
  id.key_pem = std::move(key);
  id.cert_pem = std::move(joined.certificate);
  id.ca_pem = std::move(joined.ca);
  RETURN_IF_ERROR(state_.Save(id), "save the worker state");
  {
    std::lock_guard<std::mutex> lock(mu_);
    leases_.clear();
  }
  RETURN_IF_ERROR(state_.SaveLeases({}), "save the worker state");
  RETURN_IF_ERROR(Activate(std::move(id)), "");
  options_.log("joined cluster " + joined.cluster_id + " as node " + joined.node_id + " through " +
               addr);
  return Inspect();
}

Status Worker::Leave(bool force) {
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (!active()) return Status::FailedPrecondition("this node is not part of a cluster");
  if (!force) {
    std::lock_guard<std::mutex> lock(mu_);
    auto holding = std::count_if(leases_.begin(), leases_.end(),
                                 [](const LocalLease& l) { return !l.pending_end; });
    if (holding > 0) {
      return Status::FailedPrecondition(
          std::to_string(holding) +
          " container(s) on this node hold secrets of the cluster, which would no longer be "
          "renewed: stop them first, or use --force");
    }
  }
  StopBackground();
  active_ = false;
  DropConnections();
  {
    std::lock_guard<std::mutex> lock(mu_);
    id_.reset();
    leases_.clear();
    next_renewal_.reset();
  }
  RETURN_IF_ERROR(state_.Remove(), "forget the cluster");
  options_.log("left the cluster");
  return Status::Ok();
}

Result<ClusterInfo> Worker::Inspect() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!id_) {
    return Status::FailedPrecondition(
        "this node is not part of a cluster: run `oci-secrets cluster init` or `cluster join`");
  }
  ClusterInfo info;
  info.cluster_id = id_->cluster_id;
  info.node_id = id_->node_id;
  info.role = "worker";
  info.managers = id_->managers;
  ASSIGN_OR_RETURN(info.ca_digest, CaDigest(id_->ca_pem), "cluster CA");
  ASSIGN_OR_RETURN(CertInfo ca, ParseCertificate(id_->ca_pem), "cluster CA");
  info.ca_expires_at = ca.not_after;
  info.cert_expires_at = cert_not_after_;
  info.cert_expiry_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                                 cert_not_after_ - IssuedAt(cert_not_before_, cert_not_after_))
                                 .count();
  return info;
}

Status Worker::SaveLeasesLocked() { return state_.SaveLeases(leases_); }

Result<LeaseGrant> Worker::Lease(const LeaseRequest& request) {
  LeaseRequest wire = request;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id_) return Status::FailedPrecondition("this node is not part of a cluster");
    wire.node_id = id_->node_id;
  }
  ASSIGN_OR_RETURN(HttpResponse response, CallManagers(HttpRequest{"POST", "/v1/leases", ToJson(wire)}),
                   "");
  Status http = StatusFromHttp(response.status, response.body);
  if (!http.ok()) {
    WipeString(response.body);
    return http;
  }
  auto grant = ParseLeaseGrant(response.body);
  WipeString(response.body);
  if (!grant.ok()) return grant.status().WithContext("the manager's answer");
  LocalLease record{request.container_id, request.service, options_.clock(), grant->expires_at};
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(leases_.begin(), leases_.end(), [&](const LocalLease& l) {
    return l.container_id == record.container_id;
  });
  if (it != leases_.end()) {
    *it = std::move(record);
  } else {
    leases_.push_back(std::move(record));
  }
  if (Status s = SaveLeasesLocked(); !s.ok()) {
    // The container has its secrets; only the renewal after a restart is at risk.
    options_.log("cannot record the lease of container " + request.container_id + ": " +
                 s.message());
  }
  return grant;
}

Status Worker::EndLease(std::string_view container_id) {
  std::string node_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id_) return Status::FailedPrecondition("this node is not part of a cluster");
    node_id = id_->node_id;
  }
  auto response = CallManagers(LeaseEndRequest(container_id, node_id));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(leases_.begin(), leases_.end(),
                         [&](const LocalLease& l) { return l.container_id == container_id; });
  Status result;
  if (!response.ok()) {
    // No manager answered: the end is remembered and retried in the background.
    if (it == leases_.end()) {
      LocalLease pending;
      pending.container_id = std::string(container_id);
      leases_.push_back(std::move(pending));
      it = std::prev(leases_.end());
    }
    it->pending_end = true;
    options_.log("lease end of container " + std::string(container_id) +
                 " kept to retry: " + response.status().message());
  } else {
    Status http = StatusFromHttp(response->status, response->body);
    if (!http.ok() && http.code() != StatusCode::kNotFound) result = http;
    if (it != leases_.end()) leases_.erase(it);
  }
  if (Status s = SaveLeasesLocked(); !s.ok()) {
    options_.log("cannot record the lease end of container " + std::string(container_id) +
                 ": " + s.message());
  }
  return result;
}

void Worker::LogChange(bool* failing, const Status& s, const std::string& what) {
  if (!s.ok() && !*failing) options_.log(what + " failing: " + s.message());
  if (s.ok() && *failing) options_.log(what + " recovered");
  *failing = !s.ok();
}

Status Worker::Heartbeat() {
  CsrRequest beat;
  beat.hostname = options_.hostname;
  ASSIGN_OR_RETURN(HttpResponse r,
                   CallManagers(HttpRequest{"POST", "/v1/cluster/heartbeat", ToJson(beat)}), "");
  RETURN_IF_ERROR(StatusFromHttp(r.status, r.body), "");
  if (r.status == 204 || r.body.empty()) return Status::Ok();  // a manager that names none
  ASSIGN_OR_RETURN(HeartbeatResponse answer, ParseHeartbeatResponse(r.body), "heartbeat answer");
  return LearnManagers(answer.managers);
}

Status Worker::LearnManagers(const std::vector<std::string>& named) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!id_) return Status::Ok();
  // The known ones keep their order (and the preferred index its meaning); new ones go
  // last; none is forgotten (a manager that is down now is still one to try later).
  std::vector<std::string> managers = id_->managers;
  for (const auto& a : named) {
    if (Dialable(a) && std::find(managers.begin(), managers.end(), a) == managers.end()) {
      managers.push_back(a);
    }
  }
  if (managers == id_->managers) return Status::Ok();
  WorkerIdentity updated = *id_;
  updated.managers = std::move(managers);
  RETURN_IF_ERROR(state_.Save(updated), "save the managers");
  id_ = std::move(updated);
  return Status::Ok();
}

void Worker::EndPendingLeases() {
  std::vector<std::string> pending;
  std::string node_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id_) return;
    node_id = id_->node_id;
    for (const auto& l : leases_) {
      if (l.pending_end) pending.push_back(l.container_id);
    }
  }
  for (const auto& container : pending) {
    auto response = CallManagers(LeaseEndRequest(container, node_id));
    if (!response.ok()) return;  // still cut off: next time
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(leases_, [&](const LocalLease& l) { return l.container_id == container; });
    if (Status s = SaveLeasesLocked(); !s.ok()) options_.log("cannot save local leases: " + s.message());
  }
}

Status Worker::RenewLease(const LocalLease& lease, TimePoint now) {
  LeaseRequest wire{lease.container_id, lease.service};
  wire.renewal = true;  // a running container: a revoked secret is left out, not refused
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id_) return Status::Ok();
    wire.node_id = id_->node_id;
  }
  ASSIGN_OR_RETURN(HttpResponse response, CallManagers(HttpRequest{"POST", "/v1/leases", ToJson(wire)}),
                   "");
  Status http = StatusFromHttp(response.status, response.body);
  std::optional<TimePoint> expires;
  if (http.ok()) {
    auto grant = ParseLeaseGrant(response.body);  // its payloads are wiped with it, here
    if (grant.ok()) expires = grant->expires_at;
    else http = grant.status();
  }
  WipeString(response.body);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(leases_.begin(), leases_.end(), [&](const LocalLease& l) {
    return l.container_id == lease.container_id && !l.pending_end;
  });
  if (it == leases_.end()) return Status::Ok();  // ended meanwhile
  if (expires) {
    it->granted_at = now;
    it->expires_at = *expires;
  } else if (http.code() == StatusCode::kNotFound) {
    options_.log("lease of container " + lease.container_id + " dropped: " + http.message());
    leases_.erase(it);
  } else {
    return http.WithContext("renew the lease of container " + lease.container_id);
  }
  if (Status s = SaveLeasesLocked(); !s.ok()) options_.log("cannot save local leases: " + s.message());
  return Status::Ok();
}

void Worker::RenewLeases(TimePoint now) {
  std::vector<LocalLease> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : leases_) {
      if (l.pending_end) continue;
      if (renew_all_ || now >= l.granted_at + (l.expires_at - l.granted_at) / 2) due.push_back(l);
    }
    renew_all_ = false;
  }
  for (const auto& l : due) {
    Status s = RenewLease(l, now);
    bool cut_off = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cut_off = cut_off_;
    }
    if (cut_off) return;  // renew_all_ is set again: everything once they are back
    if (!s.ok()) options_.log(s.message());
  }
}

Status Worker::RenewCertificate(TimePoint now) {
  ASSIGN_OR_RETURN(SecretBytes key, GenerateKeyPem(), "node key");
  CsrRequest request;
  ASSIGN_OR_RETURN(request.csr, MakeCsr(key, options_.hostname), "certificate request");
  ASSIGN_OR_RETURN(HttpResponse response,
                   CallManagers(HttpRequest{"POST", "/v1/cluster/renew", ToJson(request)}), "");
  RETURN_IF_ERROR(StatusFromHttp(response.status, response.body), "");
  ASSIGN_OR_RETURN(JoinResponse renewed, ParseJoinResponse(response.body), "the manager's answer");
  std::string ca_pem, node_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id_) return Status::Ok();
    ca_pem = id_->ca_pem;
    node_id = id_->node_id;
  }
  if (!renewed.ca.empty() && renewed.ca != ca_pem) {
    ASSIGN_OR_RETURN(std::string theirs, CaDigest(renewed.ca), "the manager's CA");
    ASSIGN_OR_RETURN(std::string ours, CaDigest(ca_pem), "the cluster CA");
    if (theirs != ours) {
      return Status::PermissionDenied("the manager answered with another CA (digest " + theirs +
                                      ", this cluster's is " + ours + ")");
    }
  }
  ASSIGN_OR_RETURN(CertInfo cert, CheckNodeCertificate(renewed.certificate, ca_pem, node_id, now), "");
  RETURN_IF_ERROR(state_.SaveCredentials(key, renewed.certificate), "save the new certificate");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!id_) return Status::Ok();
    id_->key_pem = std::move(key);
    id_->cert_pem = std::move(renewed.certificate);
    cert_not_before_ = cert.not_before;
    cert_not_after_ = cert.not_after;
    renew_backoff_ = std::chrono::seconds(0);
    cert_expired_logged_ = false;
    ScheduleCertRenewal();
  }
  DropConnections();  // new connections present the new certificate
  return Status::Ok();
}

void Worker::Tick() {
  if (!active()) return;
  TimePoint now = options_.clock();
  bool beat = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now >= next_heartbeat_) {
      beat = true;
      next_heartbeat_ = now + options_.heartbeat_period;
    }
  }
  if (beat) LogChange(&heartbeat_failing_, Heartbeat(), "heartbeat");
  bool cut_off = false, renew_cert = false, expired = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cut_off = cut_off_;
    renew_cert = next_renewal_ && now >= *next_renewal_;
    expired = now > cert_not_after_;
  }
  if (expired && !cert_expired_logged_) {
    options_.log("the node certificate expired: still trying, but a manager will refuse it; "
                 "if this node was removed or stays expired, run `oci-secrets cluster leave "
                 "--force` and join again");
    cert_expired_logged_ = true;
  }
  if (cut_off) return;  // the next heartbeat finds out when they are back
  EndPendingLeases();
  RenewLeases(now);
  if (!renew_cert) return;
  Status s = RenewCertificate(now);
  LogChange(&cert_failing_, s, "certificate renewal");
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    renew_backoff_ = renew_backoff_.count() == 0 ? kFirstBackoff
                                                 : std::min(renew_backoff_ * 2, kMaxBackoff);
    next_renewal_ = now + renew_backoff_;
  }
}

}  // namespace ocisecrets
