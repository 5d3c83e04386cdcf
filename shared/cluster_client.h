// The manager's cluster and node routes (docs/API.md "Cluster", "Nodes") as calls over an
// ApiClient. Errors as ApiClient's; an answer that does not parse is DataLoss
// "malformed answer from the manager: ...". Not thread-safe (as the ApiClient).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "shared/api_client.h"
#include "shared/cluster_models.h"

namespace ocisecrets {

// POST /v1/cluster/init. FailedPrecondition when this node is already in a cluster.
Result<ClusterInfo> InitCluster(ApiClient& client, const ClusterInitRequest& request);
// POST /v1/cluster/join on this machine's daemon: it joins the cluster of request.token
// through request.managers as a worker. The token is wiped from this call's buffers.
Result<ClusterInfo> JoinCluster(ApiClient& client, const JoinRequest& request);
// POST /v1/cluster/leave[?force=true] on this machine's daemon.
Status LeaveCluster(ApiClient& client, bool force);
// GET /v1/cluster. FailedPrecondition when this node is in no cluster.
Result<ClusterInfo> InspectCluster(ApiClient& client);
// POST /v1/cluster/update: CertExpiry and/or Autolock; the answer's UnlockKey is set when
// autolock was turned on (the caller wipes it).
Result<ClusterInfo> UpdateCluster(ApiClient& client, const ClusterInitRequest& request);
// GET /v1/cluster/join-token?role=ROLE[&rotate=true]. The answer holds a token: the
// caller wipes it when done.
Result<JoinTokenInfo> GetJoinToken(ApiClient& client, std::string_view role, bool rotate);
// POST /v1/cluster/unlock with the unlock key's text (wiped from this call's buffers).
// PermissionDenied "invalid unlock key"; FailedPrecondition "the manager is not locked".
Status UnlockCluster(ApiClient& client, std::string_view unlock_key);
// GET /v1/cluster/unlock-key[?rotate=true]. FailedPrecondition when autolock is off. The
// answer holds the key: the caller wipes it.
Result<UnlockKeyInfo> GetUnlockKey(ApiClient& client, bool rotate);
// POST /v1/cluster/admin-cert: a certificate for the CSR's key, and the CA.
Result<JoinResponse> IssueAdminCert(ApiClient& client, const CsrRequest& request);
// POST /v1/cluster/rotate-key: the new current term. FailedPrecondition "a key rotation
// is already running (N of M records)" while one runs.
Result<RotateKeyResponse> RotateKey(ApiClient& client);
// GET /v1/cluster/rotate-key: the keyring's terms and the last rotation's progress.
Result<KeyStatus> GetKeyStatus(ApiClient& client);

// GET /v1/nodes, sorted by hostname then ID.
Result<std::vector<Node>> ListNodes(ApiClient& client);
// GET /v1/nodes/ID_OR_HOSTNAME_OR_PREFIX. NotFound "node not found: X".
Result<Node> InspectNode(ApiClient& client, std::string_view id_or_name);
// POST /v1/nodes/ID/update?version=N with the whole label set.
Status UpdateNode(ApiClient& client, std::string_view id, std::uint64_t version,
                  const NodeSpec& spec);
// DELETE /v1/nodes/ID[?force=true].
Status RemoveNode(ApiClient& client, std::string_view id_or_name, bool force);

}  // namespace ocisecrets
