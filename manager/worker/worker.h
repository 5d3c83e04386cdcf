// The node role of a machine that joined a cluster as a worker (DESIGN.md "The cluster"):
// it joins through a manager with a join token, keeps its key, certificate and managers in
// STATE_DIR/cluster (worker_state.h), forwards the local hook's leases to the managers
// over mutual TLS within the hook's deadline, renews those leases and its certificate,
// and heartbeats. The router (manager/api/router.cc) calls it through WorkerHooks.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "manager/api/cluster_hooks.h"
#include "manager/worker/worker_state.h"
#include "shared/http_client.h"
#include "shared/secure_buffer.h"
#include "shared/status.h"
#include "shared/time_format.h"

namespace ocisecrets {

// What a connection to a manager is authenticated with. The join: pin_ca_digest set, the
// rest empty: the stream accepts the manager only if the CA it presents has that digest
// (checked in the handshake, before any request byte is written). Afterwards: mutual TLS
// with the node certificate, the manager's certificate checked against ca_pem (it must
// hold the manager role).
struct DialCredentials {
  std::string ca_pem;
  std::string cert_pem;
  SecretBytes key_pem;
  std::string pin_ca_digest;
};

// Makes a transport to manager_addr ("HOST:PORT") with creds. Must not block: connecting
// happens on the transport's first RoundTrip, whose errors say why it failed. May be
// called from several threads at once.
using ManagerDialer = std::function<std::unique_ptr<Transport>(const std::string& manager_addr,
                                                               const DialCredentials& creds)>;

struct WorkerOptions {
  std::string state_dir;  // the files go to state_dir/cluster
  ManagerDialer dialer;   // required
  std::function<TimePoint()> clock;  // wall clock; default the system clock
  std::string hostname;              // default gethostname(); sent at join and heartbeat
  // How long a lease or lease end may take in all, every manager tried: shorter than the
  // hook's deadline (5 s).
  std::chrono::milliseconds lease_budget{4000};
  // How long a join may take in all (the CLI waits 30 s).
  std::chrono::milliseconds join_budget{20000};
  std::chrono::milliseconds heartbeat_period{5000};
  // A number in [0, 1], for the point of a certificate's life at which it is renewed;
  // default a uniform random one.
  std::function<double()> random_fraction;
  // Run the background work (Tick) on a thread of its own while active. Tests turn it off
  // and call Tick themselves.
  bool background = true;
  std::size_t max_idle_per_manager = 4;  // kept-alive connections per manager
  // One line per event worth an operator's attention; default stderr.
  std::function<void(const std::string&)> log;
};

// Thread-safe: the router calls it from every server thread.
class Worker : public WorkerHooks {
 public:
  // A worker over options.state_dir: active at once when a saved identity is there (a
  // worker restarts as a worker), with its background work started. Errors as
  // WorkerState::Load (a damaged or unsafe state is refused, not ignored).
  static Result<std::unique_ptr<Worker>> Open(WorkerOptions options);
  // Stops and joins the background thread.
  ~Worker() override;

  bool active() const override { return active_.load(); }

  // Joins the cluster of request.token through request.managers (tried in order, each
  // dialed with the token's CA digest pinned). Checks the answer: the CA's digest is the
  // token's, the certificate verifies against that CA, holds the role node and names the
  // node ID the manager answered (PermissionDenied otherwise, nothing saved). Then saves
  // the state and becomes active. InvalidArgument for a malformed token (the parser's
  // words) or no manager; the manager's own error when it refuses ("invalid join token");
  // Unavailable naming every manager tried when none answered; FailedPrecondition "this
  // node is already part of a cluster" when active.
  Result<ClusterInfo> Join(const JoinRequest& request) override;

  // Forgets the cluster: stops the background work, drops the connections, removes the
  // state files; the local secrets serve again. Without force, refused
  // (FailedPrecondition) while local containers hold leases from the cluster (they would
  // no longer be renewed). FailedPrecondition when not part of a cluster.
  Status Leave(bool force) override;

  // This node's view: Role "worker", its node and cluster IDs, managers, the CA's digest
  // and expiry, its certificate's lifetime and expiry. FailedPrecondition when inactive.
  Result<ClusterInfo> Inspect() override;

  // POST /v1/leases to the managers in turn (the last one that answered first) with this
  // node's ID, within lease_budget: each attempt gets min(remaining, max(1 s, remaining /
  // managers left)). A manager's HTTP error is the answer (not retried elsewhere);
  // Unavailable "no manager reachable within N ms: A (why), B (why)" when none answered.
  // On success the container is recorded locally (no payload) and renewed from then on.
  Result<LeaseGrant> Lease(const LeaseRequest& request) override;

  // DELETE /v1/leases/C?node=ID, as Lease tries the managers. Drops the local record. When
  // no manager answers, the end is kept as pending, retried in the background, and OK is
  // returned (a poststop hook must not wait for a dead manager). A manager's HTTP error
  // other than 404 is returned.
  Status EndLease(std::string_view container_id) override;

  // Sends request to the managers as Lease does, within budget, except that each manager
  // tried may take all of what is left of it (a long-poll must not be cut short). The
  // answer whatever its HTTP status; errors as Lease's Unavailable. FailedPrecondition
  // when inactive.
  Result<HttpResponse> Call(const HttpRequest& request, std::chrono::milliseconds budget);

  // One round of the background work, only what is due at clock(): the heartbeat (every
  // heartbeat_period), then, unless the managers are unreachable, the pending lease ends,
  // the renewal of each local lease past half of its life (all of them at once after the
  // managers came back), and the certificate's renewal once next_cert_renewal() passed
  // (failures retried with backoff). Logs one line per change of state, never per try.
  void Tick();

  // When the certificate will be renewed: at 50 % to 80 % of its life (by
  // random_fraction), its life counted from its issue (notBefore + kCertBackdate).
  // Later after failed attempts. Unset when inactive.
  std::optional<TimePoint> next_cert_renewal() const;

  // The local lease records (tests, diagnostics).
  std::vector<LocalLease> local_leases() const;

 private:
  explicit Worker(WorkerOptions options);

  struct Answer {
    std::size_t manager = 0;  // index into the list tried
    HttpResponse response;
  };
  using Attempt = std::function<Result<HttpResponse>(const std::string& addr,
                                                     std::chrono::steady_clock::time_point)>;
  // Runs attempt against each of managers (from `first`, wrapping) until one answers with
  // any HTTP status, within budget (split as Lease says). Unavailable naming every manager
  // tried otherwise.
  // min_attempt: the least time an attempt gets (if that much is left).
  static Result<Answer> TryInTurn(const std::vector<std::string>& managers, std::size_t first,
                                  std::chrono::milliseconds budget, const Attempt& attempt,
                                  std::chrono::milliseconds min_attempt);
  // A request to the cluster over the kept-alive connections, as Lease describes (budget:
  // lease_budget unless given).
  Result<HttpResponse> CallManagers(const HttpRequest& request,
                                    std::optional<std::chrono::milliseconds> budget = {},
                                    std::chrono::milliseconds min_attempt = std::chrono::seconds(1));
  std::unique_ptr<Transport> Acquire(const std::string& addr, std::uint64_t* generation);
  void Release(const std::string& addr, std::unique_ptr<Transport> transport,
               std::uint64_t generation);
  void DropConnections();

  // Becomes active with id (saved already) and starts the background work.
  Status Activate(WorkerIdentity id);
  void StartBackground();
  void StopBackground();
  void ScheduleCertRenewal();  // under mu_
  Status SaveLeasesLocked();
  void LogChange(bool* failing, const Status& s, const std::string& what);

  // POST /v1/cluster/heartbeat; the managers it names are kept (LearnManagers).
  Status Heartbeat();
  // Adds the managers not known yet to the list (saved in worker.json).
  Status LearnManagers(const std::vector<std::string>& named);
  void EndPendingLeases();
  void RenewLeases(TimePoint now);
  Status RenewCertificate(TimePoint now);
  Status RenewLease(const LocalLease& lease, TimePoint now);

  WorkerOptions options_;
  WorkerState state_;
  std::atomic<bool> active_{false};

  std::mutex join_mu_;  // one Join or Leave at a time
  mutable std::mutex mu_;
  std::optional<WorkerIdentity> id_;
  TimePoint cert_not_before_{};
  TimePoint cert_not_after_{};
  std::vector<LocalLease> leases_;
  std::size_t preferred_ = 0;  // the manager that answered last
  bool cut_off_ = false;       // the last attempt reached no manager
  bool renew_all_ = false;     // renew every lease at the next chance
  std::optional<TimePoint> next_renewal_;
  std::chrono::seconds renew_backoff_{0};
  TimePoint next_heartbeat_{};
  // Failure states, for one log line per change.
  bool heartbeat_failing_ = false;
  bool cert_failing_ = false;
  bool cert_expired_logged_ = false;

  std::mutex pool_mu_;
  std::map<std::string, std::vector<std::unique_ptr<Transport>>> idle_;
  std::uint64_t generation_ = 0;  // bumped when the credentials change

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ocisecrets
