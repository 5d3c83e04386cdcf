// The API's routes (docs/API.md) as a plain class: a request in, a response out, no
// sockets, so it can be unit-tested and fuzzed in-process. Auth (the roles each route
// allows), audit and metrics happen here; the server only moves bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manager/api/audit.h"
#include "manager/api/auth.h"
#include "manager/api/cdi_hooks.h"
#include "manager/api/cluster_hooks.h"
#include "manager/api/lock_hooks.h"
#include "manager/api/node_hooks.h"
#include "manager/api/metrics.h"
#include "manager/registry/registry.h"

namespace ocisecrets {

class ChangeFeed;
struct Response;

// The part of an answer that is not known yet: a long-poll (POST /v1/changes) held until
// something changes or its deadline. The server holds it without a thread: it subscribes,
// asks ready() again (a change between the route's check and the subscription is not
// lost), then waits on a timer for the deadline or a wake, and repeats. Every function
// is safe from any thread; wake() may be called from any thread, even after unsubscribe
// returned (capture by value what it needs), and must only post or notify.
struct DeferredAnswer {
  std::chrono::steady_clock::time_point deadline;  // answer() then, whatever it says
  // Arranges for wake() to be called once, at the next event that may make the answer
  // ready. Returns the token for unsubscribe (call it when wake did not run; harmless
  // when it did).
  std::function<std::uint64_t(std::function<void()> wake)> subscribe;
  std::function<void(std::uint64_t token)> unsubscribe;
  // The answer if it is ready now, else nullopt.
  std::function<std::optional<Response>()> ready;
  // The answer as of now, ready or not: at the deadline, or when the server stops.
  std::function<Response()> answer;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as on the request line
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;       // 405: the methods the path accepts
  // Further response headers, e.g. those of Docker's /_ping (API-Version, Swarm, ...).
  std::vector<std::pair<std::string, std::string>> headers;
  bool sensitive = false;  // the body holds payloads: the server wipes it after sending
  // Non-null: the answer comes later (a long-poll); status and body are unused. The
  // server awaits it (session.h); an in-process caller uses AwaitAnswer.
  std::shared_ptr<DeferredAnswer> deferred = nullptr;
};

// The final answer of r: r itself when it is not deferred, else its deferred answer once
// ready or at its deadline, blocking the calling thread meanwhile. For in-process callers
// and tests; the server waits without a thread.
Response AwaitAnswer(Response r);

// A successful answer: HTTP `status` with the JSON `body` (none for 204).
Response JsonResponse(int status, std::string body);
// 204 No Content.
inline Response NoContent() { return JsonResponse(204, ""); }

// An error the server makes itself (400, 403, 404, 405, 413, 431, 500): HTTP `status`
// with the body {"message": message, "code": NAME}, NAME the code that status stands for
// (StatusCodeOfHttp in shared/http_client.h, e.g. 413 "InvalidArgument").
Response ErrorResponse(int status, std::string_view message);

// The answer for a failed operation: HttpStatusOf(status), and the body names the exact
// code of `status` ({"message": ..., "code": "AlreadyExists"}), so that a client tells
// apart codes that share an HTTP status (409) without reading the message.
Response ErrorResponse(const Status& status);

// HTTP status of a Status code (InvalidArgument 400, NotFound 404, AlreadyExists and
// FailedPrecondition 409, PermissionDenied 403, Unavailable 503, DeadlineExceeded 504,
// IOError/DataLoss/Internal 500).
int HttpStatusOf(const Status& status);

// The longest POST /v1/changes holds a request, whatever its WaitMs.
inline constexpr std::chrono::milliseconds kMaxChangesWait{30'000};

struct RouterOptions {
  std::string admin_group;  // for the 403 message; empty: only root is admin
  std::string version = "0.1.0";
  std::size_t body_limit = 1024 * 1024;  // larger bodies: 413 (the server checks too)
};

class Router {
 public:
  // registry must outlive the router; audit may be null (no audit log).
  Router(Registry* registry, AuditSink* audit, RouterOptions options);

  // Answers one request of the caller peer. Never throws; every failure is a 4xx/5xx
  // response. A peer without a role gets 403 "permission denied: uid N is not root ..."
  // on every route; a role the route does not allow gets 403 "permission denied: role R
  // may not call METHOD PATH"; a node may lease and end leases only for its own node ID
  // (403 naming both). On a machine whose WorkerHooks are active, every route but the
  // health check, leases (forwarded to the worker) and cluster join/leave/inspect answers
  // 409 "this node is not a manager: run it on a manager" (the CDI routes:
  // kCdiOnWorkerMessage). Over TLS: a unix-only route (cluster init, admin-cert) is 403
  // "permission denied: METHOD PATH is only served on the manager's unix socket", and
  // the anonymous peer (no client certificate) gets 403 "permission denied: a client
  // certificate is required" everywhere but POST /v1/cluster/join. Every call of a node
  // certificate counts as the node seen (ClusterHooks::Seen). Every call, refused or not,
  // of an audited route is audited with the peer's identity, and so is every TLS call
  // (reads as action "call"). While LockHooks say the manager is locked, every route but
  // GET /v1/health (which then says "Locked":true), Docker's /_ping, POST
  // /v1/cluster/unlock and, for a
  // manager that has not joined, the local POST /v1/cluster/join answers 503 with
  // kLockedMessage or kNotJoinedMessage (audited as denied). On the unix socket, every
  // path outside our own API ("/v1/...", "/metrics") is Docker's (docker_shapes.h
  // DockerPath): the secrets part of Docker's Engine API is served there, anything else
  // is 404 with docker::kNotServedMessage, and every error on such a path has Docker's
  // body {"message": ...} (no "code"). Safe from many threads.
  Response Handle(const Request& request, const Identity& peer);

  // Counts a request the server answered itself (malformed HTTP, too large, ...).
  void RecordTransportError(int status);

  Metrics& metrics() { return metrics_; }

  // The cluster's parts (manager/api/cluster_hooks.h); either may stay null. Set before
  // serving; they must outlive the router.
  void SetClusterHooks(ClusterHooks* cluster) { cluster_ = cluster; }
  void SetWorkerHooks(WorkerHooks* worker) { worker_ = worker; }
  // The key rotation; null: rotate-key answers 409 and inspect shows no key terms.
  void SetKeyRotationHooks(KeyRotationHooks* rotation) { rotation_ = rotation; }
  // The locked state (manager/api/lock_hooks.h); null: never locked, autolock unavailable.
  // Set before serving; it must outlive the router.
  void SetLockHooks(LockHooks* lock) { lock_ = lock; }
  // The node role (manager/api/node_hooks.h); null: the local hook's containers are not
  // followed. Set before serving; it must outlive the router.
  void SetNodeHooks(NodeHooks* node) { node_ = node; }
  // The change feed POST /v1/changes long-polls (manager/live/change_feed.h); null: that
  // route answers 409 "live updates are not served here". Set before serving; it must
  // outlive the router (and every request it deferred).
  void SetChangeFeed(ChangeFeed* feed) { feed_ = feed; }
  // The CDI spec keeper (manager/api/cdi_hooks.h); null: the /v1/node/cdi routes answer
  // 409 kCdiNotServedMessage. On a worker they answer 409 kCdiOnWorkerMessage. Set
  // before serving; it must outlive the router.
  void SetCdiHooks(CdiHooks* cdi) { cdi_ = cdi; }

 private:
  using Params = std::vector<std::string>;
  using Query = std::multimap<std::string, std::string>;
  struct Context {
    const Request& request;
    const Identity& peer;
    const Params& params;
    const Query& query;
    AuditEvent* audit;  // null for reads
  };
  using Handler = std::function<Response(Router*, Context&)>;
  struct Route {
    std::string method;
    std::vector<std::string> pattern;  // "{}" matches one segment
    std::string name;                  // "POST /v1/secrets/{id}/update"
    std::string action;                // audit action; empty: not audited
    unsigned roles = 0;                // bit (1 << Role) per role allowed
    Handler handler;
    bool unix_only = false;   // refused to a TLS caller: it needs a caller on this machine
    bool anonymous = false;   // admits the anonymous TLS peer (the join)
    std::string on_worker;    // its 409 message on a worker; empty: the general one
    bool docker = false;      // a Docker Engine API route: matched without /vX.Y
  };

  Response Dispatch(const Request& request, const Identity& peer, std::string* route_name);
  // The 403 (or `status`) of a refused call, audited as "denied".
  Response Deny(const Identity& peer, const Request& request, std::string_view path,
                std::string message, int status = 403);
  // The node a lease call acts for: requested (empty: the caller's own). PermissionDenied
  // when a caller with the node role names another node.
  Result<std::string> LeaseNodeOf(const Identity& peer, std::string requested);
  // ?version=N, required on updates. InvalidArgument when missing or not a number.
  static Result<std::uint64_t> VersionOf(const Query& query);
  Response HealthHandler(Context& c);
  Response MetricsHandler(Context& c);
  Response CreateSecretHandler(Context& c);
  Response ListSecretsHandler(Context& c);
  Response InspectSecretHandler(Context& c);
  Response UpdateSecretHandler(Context& c);
  Response RemoveSecretHandler(Context& c);
  Response CreateServiceHandler(Context& c);
  Response ListServicesHandler(Context& c);
  Response InspectServiceHandler(Context& c);
  Response UpdateServiceHandler(Context& c);
  Response RemoveServiceHandler(Context& c);
  Response RotateSecretHandler(Context& c);
  Response RollbackSecretHandler(Context& c);
  Response RevokeSecretHandler(Context& c);
  Response SecretHoldersHandler(Context& c);
  Response ServiceHoldersHandler(Context& c);
  Response HeldHandler(Context& c);
  // A live secret change (rotate, rollback, revoke): the registry's answer as the secret's
  // JSON, its name and ID in the audit event.
  Response SecretChangeResponse(Context& c, const Result<Secret>& secret);
  Response CreateLeaseHandler(Context& c);
  Response EndLeaseHandler(Context& c);
  // After a granted lease: hands a local hook's container (Pid > 0, unix socket) to the
  // node role. On its refusal the lease is ended again and the error is the answer.
  Status FollowLocalContainer(const Context& c, const LeaseRequest& from_hook,
                              const LeaseGrant& grant);
  Response LeaveClusterHandler(Context& c);
  // POST /v1/changes (changes_route.cc): at once for a first call (no Epoch), or when the
  // feed has a change or a Reset for the caller, else deferred up to min(WaitMs,
  // kMaxChangesWait).
  Response ChangesHandler(Context& c);
  // The locked gate: the 503 of a route refused while locked, or nullopt to serve it.
  std::optional<Response> LockGate(const Route& route, const Identity& peer,
                                   const Request& request, std::string_view path);
  // The cluster and node routes (cluster_routes.cc).
  Response ClusterInitHandler(Context& c);
  Response ClusterInspectHandler(Context& c);
  Response ClusterUpdateHandler(Context& c);
  Response JoinTokenHandler(Context& c);
  Response ClusterJoinHandler(Context& c);
  Response RenewHandler(Context& c);
  Response HeartbeatHandler(Context& c);
  Response AdminCertHandler(Context& c);
  Response UnlockHandler(Context& c);
  Response UnlockKeyHandler(Context& c);
  // Autolock in an init or update answer: info gets Autolock, and the key made (if any).
  // Returns the error of turning autolock on or off.
  Status ApplyAutolock(const ClusterInitRequest& request, ClusterInfo& info);
  Response ListNodesHandler(Context& c);
  Response InspectNodeHandler(Context& c);
  Response UpdateNodeHandler(Context& c);
  Response RemoveNodeHandler(Context& c);
  Response RotateKeyHandler(Context& c);
  Response KeyStatusHandler(Context& c);
  // GET, PUT and DELETE /v1/node/cdi (cdi_route.cc).
  Response CdiHandler(Context& c);
  // Docker's Engine API, the secrets part (manager/api/docker/docker_routes.cc): admins
  // on the unix socket only; the shapes are docker_shapes.h's.
  void AddDockerRoutes();
  Response DockerPingHandler(Context& c);
  Response DockerVersionHandler(Context& c);
  Response DockerInfoHandler(Context& c);
  Response DockerListSecretsHandler(Context& c);
  Response DockerCreateSecretHandler(Context& c);
  Response DockerInspectSecretHandler(Context& c);
  Response DockerUpdateSecretHandler(Context& c);
  Response DockerRemoveSecretHandler(Context& c);
  // DELETE of a secret: 204, or the registry's error with a secret in use answered as
  // `in_use_status` (ours 409, Docker's 400).
  Response RemoveSecretAnswer(Context& c, int in_use_status);
  // Adds a route: METHOD PATH ("{}" one segment), its audit action (empty: none), the
  // roles allowed.
  Route& AddRoute(std::string method, std::string path, std::string action,
                  std::initializer_list<Role> roles, Handler handler);

  Registry* registry_;
  AuditSink* audit_;
  ClusterHooks* cluster_ = nullptr;
  WorkerHooks* worker_ = nullptr;
  KeyRotationHooks* rotation_ = nullptr;
  LockHooks* lock_ = nullptr;
  NodeHooks* node_ = nullptr;
  ChangeFeed* feed_ = nullptr;
  CdiHooks* cdi_ = nullptr;
  RouterOptions options_;
  Metrics metrics_;
  std::vector<Route> routes_;
};

}  // namespace ocisecrets
