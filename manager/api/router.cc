#include "manager/api/router.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <utility>
#include <nlohmann/json.hpp>

#include "manager/api/docker/docker_shapes.h"
#include "shared/cluster_models.h"
#include "shared/http_client.h"
#include "shared/secure_buffer.h"
#include "shared/validation.h"

namespace ocisecrets {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; plus_is_space for query strings. InvalidArgument on a bad escape.
Result<std::string> Unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Status::InvalidArgument("bad percent-escape in request target");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// {"message": "...", "code": "Name"}, message first as docs/API.md shows it. Invalid
// UTF-8 in the message is replaced, never thrown about.
std::string JsonMessage(std::string_view message, StatusCode code) {
  std::string body = R"({"message":)";
  body += nlohmann::json(message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  body += R"(,"code":")";
  body += StatusCodeName(code);
  body += "\"}";
  return body;
}

Response FromStatus(const Status& s) { return ErrorResponse(s); }

// ?version=N, required on updates.
Result<std::uint64_t> VersionParam(const std::multimap<std::string, std::string>& query) {
  auto it = query.find("version");
  if (it == query.end()) {
    return Status::InvalidArgument("the version query parameter is required (?version=N, "
                                   "the object's Version.Index)");
  }
  std::uint64_t v = 0;
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return Status::InvalidArgument("invalid version '" + s + "': want a decimal number");
  }
  return v;
}

// The routes a worker serves itself (plan of issue 12): the rest are a manager's.
bool ServedOnWorker(std::string_view route) {
  for (std::string_view r : {"GET /v1/health", "POST /v1/leases", "DELETE /v1/leases/{}",
                             "POST /v1/cluster/join", "POST /v1/cluster/leave", "GET /v1/cluster"}) {
    if (r == route) return true;
  }
  return false;
}

constexpr unsigned RoleBit(Role role) { return 1u << static_cast<unsigned>(role); }

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Result<std::uint64_t> Router::VersionOf(const Query& query) { return VersionParam(query); }

Response JsonResponse(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response ErrorResponse(int status, std::string_view message) {
  return JsonResponse(status, JsonMessage(message, StatusCodeOfHttp(status)));
}

Response ErrorResponse(const Status& status) {
  return JsonResponse(HttpStatusOf(status), JsonMessage(status.message(), status.code()));
}

int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

Router::Router(Registry* registry, AuditSink* audit, RouterOptions options)
    : registry_(registry), audit_(audit), options_(std::move(options)) {
  auto add = [this](std::string method, std::string path, std::string action,
                    std::initializer_list<Role> roles, Handler h) {
    AddRoute(std::move(method), std::move(path), std::move(action), roles, std::move(h));
  };
  // Who may call what (DESIGN.md "Who is calling"): the one place it is decided. A manager
  // may call the admin routes for now (another manager will call them later).
  constexpr auto kAdmin = Role::kAdmin;
  constexpr auto kManager = Role::kManager;
  constexpr auto kNode = Role::kNode;
  add("GET", "/v1/health", "", {kAdmin, kManager, kNode}, &Router::HealthHandler);
  add("GET", "/metrics", "", {kAdmin, kManager}, &Router::MetricsHandler);
  add("POST", "/v1/secrets", "secret.create", {kAdmin, kManager}, &Router::CreateSecretHandler);
  add("GET", "/v1/secrets", "", {kAdmin, kManager}, &Router::ListSecretsHandler);
  add("GET", "/v1/secrets/{}", "", {kAdmin, kManager}, &Router::InspectSecretHandler);
  add("DELETE", "/v1/secrets/{}", "secret.remove", {kAdmin, kManager},
      &Router::RemoveSecretHandler);
  add("POST", "/v1/secrets/{}/update", "secret.update", {kAdmin, kManager},
      &Router::UpdateSecretHandler);
  add("POST", "/v1/services", "service.create", {kAdmin, kManager},
      &Router::CreateServiceHandler);
  add("GET", "/v1/services", "", {kAdmin, kManager}, &Router::ListServicesHandler);
  add("GET", "/v1/services/{}", "", {kAdmin, kManager}, &Router::InspectServiceHandler);
  add("DELETE", "/v1/services/{}", "service.remove", {kAdmin, kManager},
      &Router::RemoveServiceHandler);
  add("POST", "/v1/services/{}/update", "service.update", {kAdmin, kManager},
      &Router::UpdateServiceHandler);
  // Live secrets (issue 14).
  add("POST", "/v1/secrets/{}/rotate", "secret.rotate", {kAdmin}, &Router::RotateSecretHandler);
  add("POST", "/v1/secrets/{}/rollback", "secret.rollback", {kAdmin},
      &Router::RollbackSecretHandler);
  add("POST", "/v1/secrets/{}/revoke", "secret.revoke", {kAdmin}, &Router::RevokeSecretHandler);
  add("GET", "/v1/secrets/{}/holders", "", {kAdmin, kManager}, &Router::SecretHoldersHandler);
  add("GET", "/v1/services/{}/holders", "", {kAdmin, kManager}, &Router::ServiceHoldersHandler);
  add("POST", "/v1/leases", "lease.create", {kAdmin, kManager, kNode},
      &Router::CreateLeaseHandler);
  add("POST", "/v1/leases/held", "", {kAdmin, kManager, kNode}, &Router::HeldHandler);
  add("DELETE", "/v1/leases/{}", "lease.end", {kAdmin, kManager, kNode},
      &Router::EndLeaseHandler);
  // The cluster (cluster_routes.cc). Init and admin-cert need a caller on this machine;
  // the join over TLS is the one route for a peer without a certificate.
  add("POST", "/v1/cluster/init", "cluster.init", {kAdmin}, &Router::ClusterInitHandler);
  routes_.back().unix_only = true;
  add("GET", "/v1/cluster", "", {kAdmin, kManager}, &Router::ClusterInspectHandler);
  add("POST", "/v1/cluster/update", "cluster.update", {kAdmin}, &Router::ClusterUpdateHandler);
  add("GET", "/v1/cluster/join-token", "cluster.join-token", {kAdmin},
      &Router::JoinTokenHandler);
  add("POST", "/v1/cluster/join", "cluster.join", {kAdmin}, &Router::ClusterJoinHandler);
  routes_.back().anonymous = true;
  add("POST", "/v1/cluster/renew", "cluster.renew", {kManager, kNode}, &Router::RenewHandler);
  add("POST", "/v1/cluster/heartbeat", "", {kNode}, &Router::HeartbeatHandler);
  add("POST", "/v1/cluster/admin-cert", "cluster.admin-cert", {kAdmin},
      &Router::AdminCertHandler);
  routes_.back().unix_only = true;
  add("POST", "/v1/cluster/rotate-key", "cluster.rotate-key", {kAdmin},
      &Router::RotateKeyHandler);
  add("GET", "/v1/cluster/rotate-key", "", {kAdmin, kManager}, &Router::KeyStatusHandler);
  add("GET", "/v1/nodes", "", {kAdmin, kManager}, &Router::ListNodesHandler);
  add("GET", "/v1/nodes/{}", "", {kAdmin, kManager}, &Router::InspectNodeHandler);
  add("POST", "/v1/nodes/{}/update", "node.update", {kAdmin, kManager},
      &Router::UpdateNodeHandler);
  add("DELETE", "/v1/nodes/{}", "node.remove", {kAdmin, kManager}, &Router::RemoveNodeHandler);
  // The node roles' long-poll (changes_route.cc): not audited (a node asks all the time).
  add("POST", "/v1/changes", "", {kAdmin, kManager, kNode}, &Router::ChangesHandler);
  add("POST", "/v1/cluster/leave", "cluster.leave", {kAdmin}, &Router::LeaveClusterHandler);
  routes_.back().unix_only = true;
  // The locked state (lock_hooks.h): served while locked.
  add("POST", "/v1/cluster/unlock", "cluster.unlock", {kAdmin}, &Router::UnlockHandler);
  add("GET", "/v1/cluster/unlock-key", "cluster.unlock-key", {kAdmin},
      &Router::UnlockKeyHandler);
  // The CDI spec this daemon keeps (cdi_route.cc): files on this machine, a manager's.
  for (auto [method, action] : {std::pair{"GET", ""}, std::pair{"PUT", "cdi.enable"},
                                std::pair{"DELETE", "cdi.disable"}}) {
    add(method, "/v1/node/cdi", action, {kAdmin}, &Router::CdiHandler);
    routes_.back().unix_only = true;
    routes_.back().on_worker = std::string(kCdiOnWorkerMessage);
  }
  AddDockerRoutes();
}

Router::Route& Router::AddRoute(std::string method, std::string path, std::string action,
                                std::initializer_list<Role> roles, Handler handler) {
  Route r;
  r.method = std::move(method);
  r.name = r.method + " " + path;
  std::string_view rest(path);
  rest.remove_prefix(1);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    r.pattern.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  r.action = std::move(action);
  for (Role role : roles) r.roles |= RoleBit(role);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
  return routes_.back();
}

void Router::RecordTransportError(int status) { metrics_.Record("(transport)", status, 0); }

Response Router::Handle(const Request& request, const Identity& peer) {
  auto start = std::chrono::steady_clock::now();
  std::string route_name = "(unmatched)";
  Response r;
  try {
    r = Dispatch(request, peer, &route_name);
  } catch (const std::exception& e) {
    // A bug (or bad_alloc): contained to this request.
    r = ErrorResponse(500, std::string("internal error: ") + e.what());
  }
  if (r.status >= 400 && peer.transport == Identity::Transport::kUnix) {
    std::string_view path(request.target);
    path = path.substr(0, path.find('?'));
    if (docker::DockerPath(path)) r.body = docker::ErrorBody(docker::MessageOf(r.body));
  }
  metrics_.Record(route_name, r.status, SecondsSince(start));
  if (r.status >= 500) {
    // The operator needs these; 4xx are the caller's business (and in the audit log).
    std::fprintf(stderr, "oci-secretsd: %s: %d: %s\n", route_name.c_str(), r.status,
                 r.body.c_str());
  }
  return r;
}

Response Router::Dispatch(const Request& request, const Identity& peer,
                          std::string* route_name) {
  std::string_view target(request.target);
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  if (path.empty() || path.front() != '/') return ErrorResponse(400, "request target must be a path");

  Query query;
  if (qpos != std::string_view::npos) {
    std::string_view qs = target.substr(qpos + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      std::string_view pair = qs.substr(0, amp);
      if (!pair.empty()) {
        auto eq = pair.find('=');
        auto key = Unescape(pair.substr(0, eq), true);
        auto value = Unescape(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
        if (!key.ok()) return FromStatus(key.status());
        if (!value.ok()) return FromStatus(value.status());
        query.emplace(std::move(*key), std::move(*value));
      }
      if (amp == std::string_view::npos) break;
      qs.remove_prefix(amp + 1);
    }
  }

  auto split = [](std::string_view p) {
    std::vector<std::string_view> out;
    std::string_view rest = p.substr(1);
    while (!rest.empty()) {
      auto slash = rest.find('/');
      out.push_back(rest.substr(0, slash));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    return out;
  };
  const std::vector<std::string_view> our_segments = split(path);
  // Docker's routes see the path without its /vX.Y; ours never match a Docker path.
  const std::optional<std::string_view> docker_path =
      peer.transport == Identity::Transport::kUnix ? docker::DockerPath(path) : std::nullopt;
  const std::vector<std::string_view> docker_segments =
      docker_path ? split(*docker_path) : std::vector<std::string_view>{};

  const Route* route = nullptr;
  std::string allow;
  Params params;
  for (const Route& r : routes_) {
    if (r.docker && !docker_path) continue;
    const std::vector<std::string_view>& segments = r.docker ? docker_segments : our_segments;
    if (r.pattern.size() != segments.size()) continue;
    Params p;
    bool match = true;
    for (std::size_t i = 0; i < segments.size() && match; ++i) {
      if (r.pattern[i] == "{}") {
        auto value = Unescape(segments[i], false);
        match = value.ok() && !value->empty();
        if (match) p.push_back(std::move(*value));
      } else {
        match = r.pattern[i] == segments[i];
      }
    }
    if (!match) continue;
    if (r.method == request.method) {
      route = &r;
      params = std::move(p);
      break;
    }
    allow += (allow.empty() ? "" : ", ") + r.method;
  }

  if (peer.role == Role::kNode && cluster_ != nullptr) cluster_->Seen(peer, "");
  const bool tls = peer.transport == Identity::Transport::kTls;
  if (peer.anonymous && (route == nullptr || !route->anonymous)) {
    return Deny(peer, request, path, "permission denied: a client certificate is required");
  }
  if (tls && route != nullptr && route->unix_only) {
    return Deny(peer, request, path,
                "permission denied: " + route->name +
                    " is only served on the manager's unix socket");
  }
  if (!peer.role && !(peer.anonymous && route != nullptr && route->anonymous)) {
    std::string message = "permission denied: uid " + std::to_string(peer.uid) + " is not root";
    message += options_.admin_group.empty()
                   ? " (start oci-secretsd with --admin-group GROUP to let a group in)"
                   : " and not in group " + options_.admin_group;
    return Deny(peer, request, path, std::move(message));
  }
  if (route != nullptr && peer.role && (route->roles & RoleBit(*peer.role)) == 0) {
    return Deny(peer, request, path,
                "permission denied: role " + std::string(RoleName(*peer.role)) +
                    " may not call " + route->name);
  }
  if (request.body.size() > options_.body_limit) {
    return ErrorResponse(413, "request body is larger than 1 MiB");
  }
  if (route == nullptr && allow.empty() && docker_path) {
    return ErrorResponse(404, docker::kNotServedMessage);
  }
  if (route == nullptr && allow.empty()) {
    return ErrorResponse(404, "no such API route: " + std::string(path.substr(0, 256)));
  }
  if (route == nullptr) {
    Response r = ErrorResponse(405, "method " + request.method.substr(0, 16) +
                                        " not allowed here; allowed: " + allow);
    r.allow = allow;
    return r;
  }
  *route_name = route->name;
  if (auto refused = LockGate(*route, peer, request, path)) return *refused;
  if (worker_ != nullptr && worker_->active() && !ServedOnWorker(route->name)) {
    return Deny(peer, request, path,
                route->on_worker.empty() ? "this node is not a manager: run it on a manager"
                                         : route->on_worker,
                409);
  }

  AuditEvent event;
  event.action = route->action;
  if (event.action.empty() && tls) {
    event.action = "call";  // every TLS call is audited, reads too
    event.name = route->name;
  }
  Context c{request, peer, params, query, event.action.empty() ? nullptr : &event};
  Response r = route->handler(this, c);
  if (c.audit != nullptr && audit_ != nullptr) {
    event.status = r.status;
    if (r.status >= 400) {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (j.is_object() && j.contains("message") && j["message"].is_string()) {
        event.error = j["message"].get<std::string>();
      }
    }
    audit_->Record(peer, event);
  }
  return r;
}

Response Router::Deny(const Identity& peer, const Request& request, std::string_view path,
                      std::string message, int status) {
  if (audit_ != nullptr) {
    AuditEvent e;
    e.action = "denied";
    e.status = status;
    e.name = request.method.substr(0, 16) + " " + std::string(path.substr(0, 256));
    e.error = message;
    audit_->Record(peer, e);
  }
  return ErrorResponse(status, message);
}

std::optional<Response> Router::LockGate(const Route& route, const Identity& peer,
                                         const Request& request, std::string_view path) {
  if (lock_ == nullptr) return std::nullopt;
  const LockReason reason = lock_->reason();
  if (reason == LockReason::kUnlocked) return std::nullopt;
  if (route.name == "GET /v1/health" || route.name == "POST /v1/cluster/unlock" ||
      route.name == "GET /_ping" || route.name == "HEAD /_ping") {
    return std::nullopt;
  }
  if (reason == LockReason::kNotJoined && route.name == "POST /v1/cluster/join" &&
      peer.transport != Identity::Transport::kTls) {
    return std::nullopt;
  }
  return Deny(peer, request, path,
              std::string(reason == LockReason::kLocked ? kLockedMessage : kNotJoinedMessage),
              503);
}

Result<std::string> Router::LeaseNodeOf(const Identity& peer, std::string requested) {
  if (peer.kind == Identity::Kind::kCertificate && peer.node_id.empty()) {
    // The registry would take an empty node for the local one.
    return Status::PermissionDenied("permission denied: the caller's certificate names no node");
  }
  if (requested.empty() || requested == peer.node_id) return peer.node_id;
  if (peer.role == Role::kNode) {
    return Status::PermissionDenied("permission denied: node " + peer.node_id +
                                    " may not act for node " + requested.substr(0, 64));
  }
  return requested;  // an admin, or a manager forwarding a worker's lease
}

Response Router::HealthHandler(Context&) {
  const bool locked = lock_ != nullptr && lock_->reason() != LockReason::kUnlocked;
  return JsonResponse(200, nlohmann::json{{"Status", "ok"},
                                          {"Store", registry_->Engine()},
                                          {"Version", options_.version},
                                          {"Locked", locked}}
                               .dump());
}

Response Router::MetricsHandler(Context&) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = metrics_.Render(registry_->LeaseCount());
  return r;
}

Response Router::CreateSecretHandler(Context& c) {
  auto req = ParseSecretCreateRequest(c.request.body);
  if (!req.ok()) return FromStatus(req.status());
  c.audit->name = req->spec.name;
  auto secret = registry_->CreateSecret(req->spec, req->data);
  if (!secret.ok()) return FromStatus(secret.status());
  c.audit->id = secret->id;
  return JsonResponse(201, nlohmann::json{{"ID", secret->id}}.dump());
}

Response Router::ListSecretsHandler(Context& c) {
  SecretFilters filters;
  for (const auto& [key, value] : c.query) {
    if (key == "name") {
      filters.names.push_back(value);
    } else if (key == "id") {
      filters.id_prefixes.push_back(value);
    } else if (key == "label") {
      filters.labels.push_back(value);
    } else {
      return ErrorResponse(400, "unknown filter '" + key.substr(0, 64) +
                                    "': want name=, id= or label=");
    }
  }
  auto list = registry_->ListSecrets(filters);
  if (!list.ok()) return FromStatus(list.status());
  return JsonResponse(200, ToJson(*list));
}

Response Router::InspectSecretHandler(Context& c) {
  auto secret = registry_->InspectSecret(c.params[0]);
  if (!secret.ok()) return FromStatus(secret.status());
  return JsonResponse(200, ToJson(*secret));
}

Response Router::UpdateSecretHandler(Context& c) {
  c.audit->name = c.params[0];
  auto version = VersionParam(c.query);
  if (!version.ok()) return FromStatus(version.status());
  auto spec = ParseSecretSpec(c.request.body);
  if (!spec.ok()) return FromStatus(spec.status());
  auto secret = registry_->UpdateSecret(c.params[0], *version, *spec);
  if (!secret.ok()) return FromStatus(secret.status());
  c.audit->name = secret->spec.name;
  c.audit->id = secret->id;
  return JsonResponse(200, ToJson(*secret));
}

Response Router::RemoveSecretHandler(Context& c) { return RemoveSecretAnswer(c, 409); }

Response Router::RemoveSecretAnswer(Context& c, int in_use_status) {
  c.audit->name = c.params[0];
  auto secret = registry_->RemoveSecret(c.params[0]);
  if (!secret.ok() && secret.status().code() == StatusCode::kFailedPrecondition &&
      in_use_status != HttpStatusOf(secret.status())) {
    return ErrorResponse(in_use_status, secret.status().message());
  }
  if (!secret.ok()) return FromStatus(secret.status());
  c.audit->name = secret->spec.name;
  c.audit->id = secret->id;
  return NoContent();
}

Response Router::CreateServiceHandler(Context& c) {
  auto spec = ParseServiceSpec(c.request.body);
  if (!spec.ok()) return FromStatus(spec.status());
  c.audit->name = spec->name;
  auto service = registry_->CreateService(*spec);
  if (!service.ok()) return FromStatus(service.status());
  c.audit->id = service->id;
  for (const auto& ref : service->spec.secrets) c.audit->secret_ids.push_back(ref.secret_id);
  return JsonResponse(201, nlohmann::json{{"ID", service->id}}.dump());
}

Response Router::ListServicesHandler(Context& c) {
  if (!c.query.empty()) return ErrorResponse(400, "GET /v1/services takes no query parameters");
  auto list = registry_->ListServices();
  if (!list.ok()) return FromStatus(list.status());
  return JsonResponse(200, ToJson(*list));
}

Response Router::InspectServiceHandler(Context& c) {
  auto service = registry_->InspectService(c.params[0]);
  if (!service.ok()) return FromStatus(service.status());
  return JsonResponse(200, ToJson(*service));
}

Response Router::UpdateServiceHandler(Context& c) {
  c.audit->name = c.params[0];
  auto version = VersionParam(c.query);
  if (!version.ok()) return FromStatus(version.status());
  auto spec = ParseServiceSpec(c.request.body);
  if (!spec.ok()) return FromStatus(spec.status());
  auto service = registry_->UpdateService(c.params[0], *version, *spec);
  if (!service.ok()) return FromStatus(service.status());
  c.audit->name = service->spec.name;
  c.audit->id = service->id;
  for (const auto& ref : service->spec.secrets) c.audit->secret_ids.push_back(ref.secret_id);
  return JsonResponse(200, ToJson(*service));
}

Response Router::RemoveServiceHandler(Context& c) {
  c.audit->name = c.params[0];
  auto service = registry_->RemoveService(c.params[0]);
  if (!service.ok()) return FromStatus(service.status());
  c.audit->name = service->spec.name;
  c.audit->id = service->id;
  return NoContent();
}

Response Router::SecretChangeResponse(Context& c, const Result<Secret>& secret) {
  if (!secret.ok()) return FromStatus(secret.status());
  c.audit->name = secret->spec.name;
  c.audit->id = secret->id;
  return JsonResponse(200, ToJson(*secret));
}

Response Router::RotateSecretHandler(Context& c) {
  c.audit->name = c.params[0];
  auto req = ParseSecretRotateRequest(c.request.body);
  if (!req.ok()) return FromStatus(req.status());
  if (req->if_changed) {
    auto result = registry_->RotateSecretIfChanged(c.params[0], req->data,
                                                   std::chrono::seconds(req->overlap_seconds));
    if (!result.ok()) return FromStatus(result.status());
    c.audit->name = result->secret.spec.name;
    c.audit->id = result->secret.id;
    return JsonResponse(200, ToJson(*result));
  }
  return SecretChangeResponse(
      c, registry_->RotateSecret(c.params[0], req->data,
                                 std::chrono::seconds(req->overlap_seconds)));
}

Response Router::RollbackSecretHandler(Context& c) {
  c.audit->name = c.params[0];
  return SecretChangeResponse(c, registry_->RollbackSecret(c.params[0]));
}

Response Router::RevokeSecretHandler(Context& c) {
  c.audit->name = c.params[0];
  return SecretChangeResponse(c, registry_->RevokeSecret(c.params[0]));
}

Response Router::SecretHoldersHandler(Context& c) {
  auto rows = registry_->SecretHolders(c.params[0]);
  if (!rows.ok()) return FromStatus(rows.status());
  return JsonResponse(200, ToJson(*rows));
}

Response Router::ServiceHoldersHandler(Context& c) {
  auto rows = registry_->ServiceHolders(c.params[0]);
  if (!rows.ok()) return FromStatus(rows.status());
  return JsonResponse(200, ToJson(*rows));
}

Response Router::HeldHandler(Context& c) {
  auto report = ParseHeldReport(c.request.body);
  if (!report.ok()) return FromStatus(report.status());
  auto node = LeaseNodeOf(c.peer, std::move(report->node_id));  // a node only for itself
  if (!node.ok()) return FromStatus(node.status());
  Status recorded = registry_->RecordHeld(*node, *report);
  if (!recorded.ok()) return FromStatus(recorded);
  return NoContent();
}

Response Router::CreateLeaseHandler(Context& c) {
  auto req = ParseLeaseRequest(c.request.body);
  if (!req.ok()) return FromStatus(req.status());
  // What the hook tells its own daemon for the node role; never seen by the registry nor
  // forwarded to a manager. NodeHooks::Track takes it with the grant.
  const LeaseRequest from_hook = *req;
  req->pid = 0;
  req->default_secrets_dir.clear();
  req->tmpfs_size = 0;
  c.audit->name = req->service;
  c.audit->container_id = req->container_id;
  if (worker_ != nullptr && worker_->active()) {
    auto grant = worker_->Lease(*req);  // for this node, from a manager
    if (!grant.ok()) return FromStatus(grant.status());
    if (Status s = FollowLocalContainer(c, from_hook, *grant); !s.ok()) return FromStatus(s);
    Response r = JsonResponse(200, ToJson(*grant));
    r.sensitive = true;
    return r;
  }
  auto node = LeaseNodeOf(c.peer, std::move(req->node_id));
  if (!node.ok()) return FromStatus(node.status());
  req->node_id = std::move(*node);
  auto lease = registry_->Lease(*req);
  if (!lease.ok()) return FromStatus(lease.status());
  c.audit->name = lease->grant.service;
  c.audit->id = lease->service_id;
  c.audit->secret_ids = lease->secret_ids;
  if (Status s = FollowLocalContainer(c, from_hook, lease->grant); !s.ok()) {
    return FromStatus(s);
  }
  Response r = JsonResponse(200, ToJson(lease->grant));
  r.sensitive = true;
  return r;
}

Status Router::FollowLocalContainer(const Context& c, const LeaseRequest& from_hook,
                                    const LeaseGrant& grant) {
  if (node_ == nullptr || from_hook.pid <= 0 || c.peer.transport != Identity::Transport::kUnix) {
    return Status::Ok();
  }
  Status tracked = node_->Track(from_hook, grant);
  if (tracked.ok()) return tracked;
  if (worker_ != nullptr && worker_->active()) {
    (void)worker_->EndLease(from_hook.container_id);
  } else {
    (void)registry_->EndLease(from_hook.container_id, c.peer.node_id);
  }
  return tracked.WithContext("follow container " + from_hook.container_id + " for live updates");
}

Response Router::EndLeaseHandler(Context& c) {
  c.audit->container_id = c.params[0];
  // The local hook's poststop: the container is no longer followed. (A manager ending a
  // worker's lease names ?node= and comes over TLS.)
  if (node_ != nullptr && c.peer.transport == Identity::Transport::kUnix &&
      c.query.find("node") == c.query.end()) {
    node_->Untrack(c.params[0]);
  }
  if (worker_ != nullptr && worker_->active()) {
    Status ended = worker_->EndLease(c.params[0]);
    if (!ended.ok()) return FromStatus(ended);
    return NoContent();
  }
  auto requested = c.query.find("node");  // ?node=ID: a manager ending a worker's lease
  auto node = LeaseNodeOf(c.peer, requested == c.query.end() ? "" : requested->second);
  if (!node.ok()) return FromStatus(node.status());
  auto ended = registry_->EndLease(c.params[0], *node);
  if (!ended.ok()) return FromStatus(ended.status());
  return NoContent();
}

Response Router::LeaveClusterHandler(Context& c) {
  auto force = c.query.find("force");
  bool forced = force != c.query.end() && (force->second == "true" || force->second == "1");
  if (worker_ == nullptr) return ErrorResponse(Status::FailedPrecondition(std::string(kNotInCluster)));
  if (Status s = worker_->Leave(forced); !s.ok()) return FromStatus(s);
  return NoContent();
}

}  // namespace ocisecrets
