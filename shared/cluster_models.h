// The cluster API's objects (docs/API.md "Cluster" and "Nodes"), with Docker's field
// names where Docker has them, and their JSON forms. Parsing never throws: a bad document
// is InvalidArgument "<object>: malformed JSON" or one naming the field ("join request:
// field CSR: must be a string"); no message echoes a value (a token is a secret). Pure
// and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

struct NodeSpec {
  Labels labels;  // "Labels"
};

// A member of the cluster, as the manager records it (store key nodes/<ID>).
struct Node {
  std::string id;                  // "ID"
  std::uint64_t version = 0;       // "Version":{"Index"}
  TimePoint created_at{};          // "CreatedAt"
  TimePoint updated_at{};          // "UpdatedAt"
  NodeSpec spec;                   // "Spec"
  std::string hostname;            // "Description":{"Hostname"}
  std::string role;                // "Role": "manager" or "node"
  std::string state;               // "Status":{"State"}: "ready" or "down" (computed)
  TimePoint cert_expires_at{};     // "CertExpiresAt"
  TimePoint last_seen{};           // "LastSeen"
  std::string addr;                // "Status":{"Addr"}: where it was last seen from
  std::string listen_addr;         // "ListenAddr": a manager's TLS address, ADDR:PORT
};

// One manager in ClusterInfo's "ManagerStatus".
struct ManagerStatus {
  std::string node_id;     // "NodeID"
  std::string addr;        // "Addr": ADDR:PORT others reach it at
  bool reachable = false;  // "Reachable": seen within the ready window
};

// POST /v1/cluster/init
struct ClusterInitRequest {
  std::string listen_addr;  // "ListenAddr": ADDR:PORT (default 0.0.0.0:7443)
  std::string cert_expiry;  // "CertExpiry": a duration ("24h"); empty: 24h
  std::optional<bool> autolock;  // "Autolock"; absent: off at init, unchanged at update
};

// The key rotation's progress (ClusterInfo's "Rotation").
struct KeyRotationProgress {
  std::uint32_t term = 0;   // "Term": the term the pass moves records to
  std::int64_t done = 0;    // "Done": records handled
  std::int64_t total = 0;   // "Total": records to handle
  std::string state;        // "State": "running" or "done"
};

// The keyring's terms and the last rotation: part of ClusterInfo, and the whole answer of
// GET /v1/cluster/rotate-key (which a manager outside a cluster answers too).
struct KeyStatus {
  std::vector<std::uint32_t> key_terms;         // "KeyTerms", ascending
  std::uint32_t current_term = 0;               // "CurrentTerm"
  std::optional<KeyRotationProgress> rotation;  // "Rotation"; null: never rotated
};

// POST /v1/cluster/rotate-key's answer.
struct RotateKeyResponse {
  std::uint32_t term = 0;  // "Term": the new current term
};

// GET /v1/cluster, also the answer of init and of a join on the joining machine.
struct ClusterInfo {
  std::string cluster_id;              // "ClusterID"
  TimePoint created_at{};              // "CreatedAt"
  std::string node_id;                 // "NodeID": the answering node
  std::string role;                    // "Role": "manager" or "worker"
  std::vector<std::string> managers;   // "Managers": ADDR:PORT
  std::string ca_digest;               // "CACertDigest"
  TimePoint ca_expires_at{};           // "CAExpiresAt"
  std::int64_t cert_expiry_seconds = 0;  // "CertExpiry"
  TimePoint cert_expires_at{};         // "CertExpiresAt": the answering node's certificate
  std::vector<ManagerStatus> manager_status;  // "ManagerStatus" (managers only)
  KeyStatus keys;                      // "KeyTerms", "CurrentTerm", "Rotation" (managers)
  bool autolock = false;               // "Autolock"
  // "UnlockKey": only in the answer of an init or update that made one (the caller wipes
  // it); absent from the JSON when empty.
  std::string unlock_key;
};

// POST /v1/cluster/unlock (the request) and GET /v1/cluster/unlock-key (the answer).
struct UnlockKeyInfo {
  std::string unlock_key;  // "UnlockKey" (the caller wipes it)
};

// GET /v1/cluster/join-token
struct JoinTokenInfo {
  std::string role;     // "Role": "node" or "manager"
  std::string token;    // "Token"
  std::string command;  // "Command": the join command to run on the new machine
};

// POST /v1/cluster/join, over TLS to a manager (Token, CSR, Hostname) or on the joining
// machine's unix socket (Token, Managers).
struct JoinRequest {
  std::string token;                  // "Token"
  std::string csr;                    // "CSR" (PEM)
  std::string hostname;               // "Hostname"
  std::vector<std::string> managers;  // "Managers": ADDR:PORT to try, in order
  std::string listen_addr;            // "ListenAddr": a joining manager's TLS address
  std::string store_cluster_id;       // "StoreClusterID": the cluster in a joining
                                      // manager's store (a manager join only)
};

// The manager's answer to a join, and (Certificate, CA only) to a renewal or an admin
// certificate.
struct JoinResponse {
  std::string certificate;            // "Certificate" (PEM)
  std::string ca;                     // "CA" (PEM)
  std::string cluster_id;             // "ClusterID"
  std::string node_id;                // "NodeID"
  std::string role;                   // "Role"
  std::vector<std::string> managers;  // "Managers"
  std::int64_t cert_expiry_seconds = 0;  // "CertExpiry"
  // "WrappedRootKey": a manager join only: the root key, WrapForPeer'd to the CSR's key,
  // in base64. Empty otherwise.
  std::string wrapped_root_key;
};

// The answer of POST /v1/cluster/heartbeat: every manager's ADDR:PORT.
struct HeartbeatResponse {
  std::vector<std::string> managers;  // "Managers"
};

// POST /v1/cluster/renew, POST /v1/cluster/admin-cert: {"CSR"}; heartbeat {"Hostname"}.
struct CsrRequest {
  std::string csr;       // "CSR"
  std::string hostname;  // "Hostname"
};

std::string ToJson(const Node& n);
std::string ToJson(const std::vector<Node>& v);
std::string ToJson(const NodeSpec& s);
std::string ToJson(const ClusterInitRequest& r);
std::string ToJson(const ClusterInfo& c);
std::string ToJson(const JoinTokenInfo& t);   // holds a token: the caller wipes it
std::string ToJson(const JoinRequest& r);     // holds a token: the caller wipes it
std::string ToJson(const JoinResponse& r);
std::string ToJson(const CsrRequest& r);
std::string ToJson(const HeartbeatResponse& r);
std::string ToJson(const KeyStatus& k);
std::string ToJson(const RotateKeyResponse& r);
std::string ToJson(const UnlockKeyInfo& u);  // holds a key: the caller wipes it

Result<Node> ParseNode(std::string_view json);
Result<std::vector<Node>> ParseNodeList(std::string_view json);
Result<NodeSpec> ParseNodeSpec(std::string_view json);
Result<ClusterInitRequest> ParseClusterInitRequest(std::string_view json);
Result<ClusterInfo> ParseClusterInfo(std::string_view json);
Result<JoinTokenInfo> ParseJoinTokenInfo(std::string_view json);
Result<JoinRequest> ParseJoinRequest(std::string_view json);
Result<JoinResponse> ParseJoinResponse(std::string_view json);
Result<CsrRequest> ParseCsrRequest(std::string_view json);
Result<HeartbeatResponse> ParseHeartbeatResponse(std::string_view json);
Result<KeyStatus> ParseKeyStatus(std::string_view json);
Result<RotateKeyResponse> ParseRotateKeyResponse(std::string_view json);
Result<UnlockKeyInfo> ParseUnlockKeyInfo(std::string_view json);

}  // namespace ocisecrets
