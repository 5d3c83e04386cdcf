// Docker's Engine API, the secrets part, as routes of the Router (router.h): each one
// translates Docker's shapes (docker_shapes.h) to the registry calls our /v1 routes make,
// with the same audit actions. The router gives every error on a Docker path Docker's
// body; the handlers here choose Docker's status codes.
#include "manager/api/docker/docker_shapes.h"
#include "manager/api/router.h"

namespace ocisecrets {

void Router::AddDockerRoutes() {
  auto add = [this](std::string method, std::string path, std::string action, Handler h) {
    Route& r = AddRoute(std::move(method), std::move(path), std::move(action), {Role::kAdmin},
                        std::move(h));
    r.docker = true;
    r.unix_only = true;
  };
  add("GET", "/_ping", "", &Router::DockerPingHandler);
  add("HEAD", "/_ping", "", &Router::DockerPingHandler);
  add("GET", "/version", "", &Router::DockerVersionHandler);
  add("GET", "/info", "", &Router::DockerInfoHandler);
  add("GET", "/secrets", "", &Router::DockerListSecretsHandler);
  add("POST", "/secrets/create", "secret.create", &Router::DockerCreateSecretHandler);
  add("GET", "/secrets/{}", "", &Router::DockerInspectSecretHandler);
  add("POST", "/secrets/{}/update", "secret.update", &Router::DockerUpdateSecretHandler);
  add("DELETE", "/secrets/{}", "secret.remove", &Router::DockerRemoveSecretHandler);
}

Response Router::DockerPingHandler(Context& c) {
  Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = c.request.method == "HEAD" ? "" : "OK";  // HEAD: the headers only
  r.headers = docker::PingHeaders();
  return r;
}

Response Router::DockerVersionHandler(Context&) {
  return JsonResponse(200, docker::VersionJson(options_.version));
}

Response Router::DockerInfoHandler(Context& c) {
  return JsonResponse(200, docker::InfoJson(options_.version, c.peer.node_id));
}

Response Router::DockerListSecretsHandler(Context& c) {
  std::string filters_json;
  for (const auto& [key, value] : c.query) {
    if (key == "filters") filters_json = value;
  }
  auto filters = docker::ParseSecretFilters(filters_json);
  if (!filters.ok()) return ErrorResponse(filters.status());
  auto list = registry_->ListSecrets(SecretFilters{});
  if (!list.ok()) return ErrorResponse(list.status());
  std::erase_if(*list, [&](const Secret& s) { return !docker::Matches(s, *filters); });
  return JsonResponse(200, docker::SecretListJson(*list));
}

Response Router::DockerCreateSecretHandler(Context& c) {
  if (Status extras = docker::CheckSecretSpecExtras(c.request.body); !extras.ok()) {
    return ErrorResponse(extras);
  }
  return CreateSecretHandler(c);  // Docker's SecretSpec is our create body; 201 {"ID"}
}

Response Router::DockerInspectSecretHandler(Context& c) {
  auto secret = registry_->InspectSecret(c.params[0]);
  if (!secret.ok()) return ErrorResponse(secret.status());
  return JsonResponse(200, docker::SecretJson(*secret));
}

Response Router::DockerUpdateSecretHandler(Context& c) {
  Response r = UpdateSecretHandler(c);  // only Labels may change, as in Docker
  if (r.status == 200) r.body.clear();  // Docker answers an update with no body
  return r;
}

Response Router::DockerRemoveSecretHandler(Context& c) {
  return RemoveSecretAnswer(c, 400);  // in use: swarmkit's InvalidArgument
}

}  // namespace ocisecrets
