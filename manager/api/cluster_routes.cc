// The cluster and node routes of the Router (docs/API.md "Cluster", "Nodes"). Who may call
// each is decided in router.cc's table; here the requests meet the ClusterHooks.
#include "manager/api/router.h"
#include "shared/secure_buffer.h"

namespace ocisecrets {
namespace {

// A boolean query flag (?force=true, ?rotate=1). Absent: false.
Result<bool> FlagParam(const std::multimap<std::string, std::string>& query, const char* name) {
  auto it = query.find(name);
  if (it == query.end()) return false;
  if (it->second == "true" || it->second == "1" || it->second.empty()) return true;
  if (it->second == "false" || it->second == "0") return false;
  return Status::InvalidArgument(std::string("invalid ") + name + " '" + it->second.substr(0, 16) +
                                 "': want true or false");
}

// A cluster answer; sensitive (wiped once sent) when it carries an unlock key, which is
// wiped here.
Response InfoResponse(ClusterInfo& info) {
  Response r = JsonResponse(200, ToJson(info));
  if (!info.unlock_key.empty()) {
    WipeString(info.unlock_key);
    r.sensitive = true;
  }
  return r;
}

}  // namespace

// Every handler below starts with this: 409 when the daemon has no cluster part at all.
#define REQUIRE_CLUSTER()                                                              \
  if (cluster_ == nullptr) return ErrorResponse(Status::FailedPrecondition(std::string(kNotInCluster)))

Response Router::ClusterInitHandler(Context& c) {
  REQUIRE_CLUSTER();
  if (worker_ != nullptr && worker_->active()) {
    return ErrorResponse(Status::FailedPrecondition("this node is already part of a cluster"));
  }
  auto req = ParseClusterInitRequest(c.request.body);
  if (!req.ok()) return ErrorResponse(req.status());
  if (req->autolock.value_or(false) && lock_ == nullptr) {
    return ErrorResponse(Status::FailedPrecondition("this daemon has no autolock"));
  }
  auto info = cluster_->Init(*req);
  if (!info.ok()) return ErrorResponse(info.status());
  c.audit->id = info->cluster_id;
  if (Status s = ApplyAutolock(*req, *info); !s.ok()) {
    return ErrorResponse(s.WithContext(
        "the cluster was made, but autolock is off (run oci-secrets cluster update "
        "--autolock=true)"));
  }
  return InfoResponse(*info);
}

Status Router::ApplyAutolock(const ClusterInitRequest& request, ClusterInfo& info) {
  if (request.autolock) {
    if (lock_ == nullptr) return Status::FailedPrecondition("this daemon has no autolock");
    ASSIGN_OR_RETURN(std::optional<std::string> key, lock_->SetAutolock(*request.autolock),
                     "autolock");
    if (key) info.unlock_key = std::move(*key);
  }
  info.autolock = lock_ != nullptr && lock_->autolock();
  return Status::Ok();
}

Response Router::UnlockHandler(Context& c) {
  if (lock_ == nullptr) return ErrorResponse(Status::FailedPrecondition(std::string(kNotLockedMessage)));
  auto req = ParseUnlockKeyInfo(c.request.body);
  if (!req.ok()) return ErrorResponse(req.status());
  Status unlocked = lock_->Unlock(req->unlock_key);
  WipeString(req->unlock_key);
  return unlocked.ok() ? NoContent() : ErrorResponse(unlocked);
}

Response Router::UnlockKeyHandler(Context& c) {
  if (lock_ == nullptr) return ErrorResponse(Status::FailedPrecondition(std::string(kAutolockOffMessage)));
  auto rotate = FlagParam(c.query, "rotate");
  if (!rotate.ok()) return ErrorResponse(rotate.status());
  if (*rotate) c.audit->name = "rotated";
  auto key = lock_->UnlockKey(*rotate);
  if (!key.ok()) return ErrorResponse(key.status());
  UnlockKeyInfo info{std::move(*key)};
  Response r = JsonResponse(200, ToJson(info));
  WipeString(info.unlock_key);
  r.sensitive = true;
  return r;
}

Response Router::ClusterInspectHandler(Context&) {
  if (worker_ != nullptr && worker_->active()) {
    auto info = worker_->Inspect();
    return info.ok() ? JsonResponse(200, ToJson(*info)) : ErrorResponse(info.status());
  }
  REQUIRE_CLUSTER();
  auto info = cluster_->Inspect();
  if (!info.ok()) return ErrorResponse(info.status());
  if (rotation_ != nullptr) {
    auto keys = rotation_->GetKeyStatus();
    if (!keys.ok()) return ErrorResponse(keys.status().WithContext("key status"));
    info->keys = std::move(*keys);
  }
  info->autolock = lock_ != nullptr && lock_->autolock();
  return JsonResponse(200, ToJson(*info));
}

// Not behind REQUIRE_CLUSTER: every manager has a keyring, in a cluster or not.
Response Router::RotateKeyHandler(Context& c) {
  if (rotation_ == nullptr) {
    return ErrorResponse(Status::FailedPrecondition("this daemon cannot rotate its key"));
  }
  auto term = rotation_->RotateKey();
  if (!term.ok()) return ErrorResponse(term.status());
  c.audit->id = "term " + std::to_string(*term);
  return JsonResponse(200, ToJson(RotateKeyResponse{*term}));
}

Response Router::KeyStatusHandler(Context&) {
  if (rotation_ == nullptr) {
    return ErrorResponse(Status::FailedPrecondition("this daemon cannot rotate its key"));
  }
  auto keys = rotation_->GetKeyStatus();
  return keys.ok() ? JsonResponse(200, ToJson(*keys)) : ErrorResponse(keys.status());
}

Response Router::ClusterUpdateHandler(Context& c) {
  REQUIRE_CLUSTER();
  auto req = ParseClusterInitRequest(c.request.body);
  if (!req.ok()) return ErrorResponse(req.status());
  if (req->cert_expiry.empty() && req->listen_addr.empty() && !req->autolock) {
    return ErrorResponse(
        Status::InvalidArgument("nothing to update: give CertExpiry (e.g. 24h) or Autolock"));
  }
  // Autolock alone leaves the cluster's settings as they are.
  auto info = req->cert_expiry.empty() && req->listen_addr.empty() ? cluster_->Inspect()
                                                                   : cluster_->Update(*req);
  if (!info.ok()) return ErrorResponse(info.status());
  c.audit->id = info->cluster_id;
  if (req->autolock) c.audit->name = *req->autolock ? "autolock on" : "autolock off";
  if (Status s = ApplyAutolock(*req, *info); !s.ok()) return ErrorResponse(s);
  return InfoResponse(*info);
}

Response Router::JoinTokenHandler(Context& c) {
  REQUIRE_CLUSTER();
  auto role = c.query.find("role");
  if (role == c.query.end()) {
    return ErrorResponse(Status::InvalidArgument(
        "the role query parameter is required (?role=node or ?role=manager)"));
  }
  auto rotate = FlagParam(c.query, "rotate");
  if (!rotate.ok()) return ErrorResponse(rotate.status());
  c.audit->name = role->second.substr(0, 16) + (*rotate ? " (rotated)" : "");
  auto token = cluster_->JoinToken(role->second, *rotate);
  if (!token.ok()) return ErrorResponse(token.status());
  Response r = JsonResponse(200, ToJson(*token));
  WipeString(token->token);
  WipeString(token->command);
  r.sensitive = true;  // a join token admits a machine: wiped once sent
  return r;
}

Response Router::ClusterJoinHandler(Context& c) {
  auto req = ParseJoinRequest(c.request.body);
  if (!req.ok()) return ErrorResponse(req.status());
  Response r;
  if (c.peer.transport == Identity::Transport::kTls) {
    // A machine joining this manager.
    REQUIRE_CLUSTER();
    c.audit->name = req->hostname.substr(0, 253);
    auto joined = cluster_->Join(*req, c.peer.peer_addr);
    WipeString(req->token);
    if (!joined.ok()) return ErrorResponse(joined.status());
    c.audit->id = joined->node_id;
    r = JsonResponse(200, ToJson(*joined));
  } else {
    // The local CLI asking this machine to join a cluster: the worker's part.
    if (worker_ == nullptr) {
      WipeString(req->token);
      return ErrorResponse(Status::FailedPrecondition(
          "this daemon cannot join a cluster: it was built without the worker role"));
    }
    if (cluster_ != nullptr && cluster_->awaiting_join()) {
      // A manager on a store it shares with a cluster: it joins as a manager.
      auto joined = cluster_->JoinAsManager(*req);
      WipeString(req->token);
      if (!joined.ok()) return ErrorResponse(joined.status());
      c.audit->id = joined->node_id;
      return JsonResponse(200, ToJson(*joined));
    }
    if (cluster_ != nullptr && cluster_->initialized()) {
      WipeString(req->token);
      return ErrorResponse(Status::FailedPrecondition("this node is already part of a cluster"));
    }
    auto joined = worker_->Join(*req);
    WipeString(req->token);
    if (!joined.ok()) return ErrorResponse(joined.status());
    c.audit->id = joined->node_id;
    r = JsonResponse(200, ToJson(*joined));
  }
  return r;
}

Response Router::RenewHandler(Context& c) {
  REQUIRE_CLUSTER();
  auto req = ParseCsrRequest(c.request.body);
  if (!req.ok()) return ErrorResponse(req.status());
  c.audit->id = c.peer.node_id;
  auto renewed = cluster_->Renew(c.peer, *req);
  if (!renewed.ok()) return ErrorResponse(renewed.status());
  return JsonResponse(200, ToJson(*renewed));
}

Response Router::HeartbeatHandler(Context& c) {
  REQUIRE_CLUSTER();
  auto req = ParseCsrRequest(c.request.body.empty() ? std::string("{}") : c.request.body);
  if (!req.ok()) return ErrorResponse(req.status());
  cluster_->Seen(c.peer, req->hostname);
  // The answer tells the node every manager, so that it fails over to those it did not
  // join through.
  auto info = cluster_->Inspect();
  if (!info.ok()) return ErrorResponse(info.status());
  return JsonResponse(200, ToJson(HeartbeatResponse{info->managers}));
}

Response Router::AdminCertHandler(Context& c) {
  REQUIRE_CLUSTER();
  auto req = ParseCsrRequest(c.request.body);
  if (!req.ok()) return ErrorResponse(req.status());
  auto issued = cluster_->AdminCert(*req);
  if (!issued.ok()) return ErrorResponse(issued.status());
  c.audit->id = issued->node_id;
  return JsonResponse(200, ToJson(*issued));
}

Response Router::ListNodesHandler(Context& c) {
  REQUIRE_CLUSTER();
  if (!c.query.empty()) return ErrorResponse(400, "GET /v1/nodes takes no query parameters");
  auto nodes = cluster_->ListNodes();
  return nodes.ok() ? JsonResponse(200, ToJson(*nodes)) : ErrorResponse(nodes.status());
}

Response Router::InspectNodeHandler(Context& c) {
  REQUIRE_CLUSTER();
  auto node = cluster_->InspectNode(c.params[0]);
  return node.ok() ? JsonResponse(200, ToJson(*node)) : ErrorResponse(node.status());
}

Response Router::UpdateNodeHandler(Context& c) {
  REQUIRE_CLUSTER();
  c.audit->name = c.params[0].substr(0, 253);
  auto version = VersionOf(c.query);
  if (!version.ok()) return ErrorResponse(version.status());
  auto spec = ParseNodeSpec(c.request.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  auto node = cluster_->UpdateNode(c.params[0], *version, *spec);
  if (!node.ok()) return ErrorResponse(node.status());
  c.audit->name = node->hostname;
  c.audit->id = node->id;
  return JsonResponse(200, ToJson(*node));
}

Response Router::RemoveNodeHandler(Context& c) {
  REQUIRE_CLUSTER();
  c.audit->name = c.params[0].substr(0, 253);
  auto force = FlagParam(c.query, "force");
  if (!force.ok()) return ErrorResponse(force.status());
  auto node = cluster_->RemoveNode(c.params[0], *force);
  if (!node.ok()) return ErrorResponse(node.status());
  c.audit->name = node->hostname;
  c.audit->id = node->id;
  return NoContent();
}

#undef REQUIRE_CLUSTER

}  // namespace ocisecrets
