#include "shared/cluster_client.h"

#include <string>

#include "shared/secure_buffer.h"

namespace ocisecrets {
namespace {

// The answer of a call parsed by parse; a parse error is the manager's fault.
template <typename Parse>
auto Answer(Result<HttpResponse> response, Parse parse) -> decltype(parse(std::string_view())) {
  if (!response.ok()) return response.status();
  auto parsed = parse(response->body);
  WipeString(response->body);  // a join token or a certificate: nobody needs the copy
  if (!parsed.ok()) {
    return Status::DataLoss("malformed answer from the manager: " + parsed.status().message());
  }
  return parsed;
}

std::string NodePath(std::string_view id) { return "/v1/nodes/" + EscapePathSegment(id); }

}  // namespace

Result<ClusterInfo> InitCluster(ApiClient& client, const ClusterInitRequest& request) {
  return Answer(client.Call("POST", "/v1/cluster/init", ToJson(request)), ParseClusterInfo);
}

Result<ClusterInfo> JoinCluster(ApiClient& client, const JoinRequest& request) {
  // The body holds the token; Call wipes its copy.
  return Answer(client.Call("POST", "/v1/cluster/join", ToJson(request)), ParseClusterInfo);
}

Status LeaveCluster(ApiClient& client, bool force) {
  return client.Call("POST", force ? "/v1/cluster/leave?force=true" : "/v1/cluster/leave", "")
      .status();
}

Result<ClusterInfo> InspectCluster(ApiClient& client) {
  return Answer(client.Call("GET", "/v1/cluster", ""), ParseClusterInfo);
}

Result<RotateKeyResponse> RotateKey(ApiClient& client) {
  return Answer(client.Call("POST", "/v1/cluster/rotate-key", ""), ParseRotateKeyResponse);
}

Result<KeyStatus> GetKeyStatus(ApiClient& client) {
  return Answer(client.Call("GET", "/v1/cluster/rotate-key", ""), ParseKeyStatus);
}

Result<ClusterInfo> UpdateCluster(ApiClient& client, const ClusterInitRequest& request) {
  return Answer(client.Call("POST", "/v1/cluster/update", ToJson(request)), ParseClusterInfo);
}

Result<JoinTokenInfo> GetJoinToken(ApiClient& client, std::string_view role, bool rotate) {
  std::string target = "/v1/cluster/join-token?role=" + EscapePathSegment(role);
  if (rotate) target += "&rotate=true";
  return Answer(client.Call("GET", target, ""), ParseJoinTokenInfo);
}

Status UnlockCluster(ApiClient& client, std::string_view unlock_key) {
  // The body holds the key; Call wipes its copy.
  UnlockKeyInfo info{std::string(unlock_key)};
  Status s = client.Call("POST", "/v1/cluster/unlock", ToJson(info)).status();
  WipeString(info.unlock_key);
  return s;
}

Result<UnlockKeyInfo> GetUnlockKey(ApiClient& client, bool rotate) {
  return Answer(client.Call("GET", rotate ? "/v1/cluster/unlock-key?rotate=true"
                                          : "/v1/cluster/unlock-key",
                            ""),
                ParseUnlockKeyInfo);
}

Result<JoinResponse> IssueAdminCert(ApiClient& client, const CsrRequest& request) {
  return Answer(client.Call("POST", "/v1/cluster/admin-cert", ToJson(request)), ParseJoinResponse);
}

Result<std::vector<Node>> ListNodes(ApiClient& client) {
  return Answer(client.Call("GET", "/v1/nodes", ""), ParseNodeList);
}

Result<Node> InspectNode(ApiClient& client, std::string_view id_or_name) {
  return Answer(client.Call("GET", NodePath(id_or_name), ""), ParseNode);
}

Status UpdateNode(ApiClient& client, std::string_view id, std::uint64_t version,
                  const NodeSpec& spec) {
  return client.Call("POST", NodePath(id) + "/update?version=" + std::to_string(version),
                     ToJson(spec))
      .status();
}

Status RemoveNode(ApiClient& client, std::string_view id_or_name, bool force) {
  return client.Call("DELETE", NodePath(id_or_name) + (force ? "?force=true" : ""), "").status();
}

}  // namespace ocisecrets
