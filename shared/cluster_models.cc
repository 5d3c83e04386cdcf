#include "shared/cluster_models.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "shared/json_fields.h"
#include "shared/secure_buffer.h"

namespace ocisecrets {
namespace {

using nlohmann::json;
using namespace json_fields;  // NOLINT: the field readers every parser here uses

std::string TimeText(TimePoint t) { return t == TimePoint{} ? std::string() : FormatTime(t); }

json NodeJson(const Node& n) {
  return json{{"ID", n.id},
              {"Version", {{"Index", n.version}}},
              {"CreatedAt", TimeText(n.created_at)},
              {"UpdatedAt", TimeText(n.updated_at)},
              {"Spec", {{"Labels", n.spec.labels}}},
              {"Description", {{"Hostname", n.hostname}}},
              {"Role", n.role},
              {"Status", {{"State", n.state}, {"Addr", n.addr}}},
              {"CertExpiresAt", TimeText(n.cert_expires_at)},
              {"LastSeen", TimeText(n.last_seen)},
              {"ListenAddr", n.listen_addr}};
}

// The object at j[field], or an error naming the field when it is there and not one.
Result<const json*> Object(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return static_cast<const json*>(nullptr);
  if (!it->is_object()) return WrongType(field, "an object");
  return &*it;
}

Result<Node> NodeFrom(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("must be an object");
  Node n;
  RETURN_IF_ERROR(GetString(j, "ID", &n.id), "");
  ASSIGN_OR_RETURN(const json* version, Object(j, "Version"), "");
  if (version != nullptr) RETURN_IF_ERROR(GetUint(*version, "Index", UINT64_MAX, &n.version), "Version");
  RETURN_IF_ERROR(GetTime(j, "CreatedAt", &n.created_at), "");
  RETURN_IF_ERROR(GetTime(j, "UpdatedAt", &n.updated_at), "");
  ASSIGN_OR_RETURN(const json* spec, Object(j, "Spec"), "");
  if (spec != nullptr) RETURN_IF_ERROR(GetLabels(*spec, "Labels", &n.spec.labels), "Spec");
  ASSIGN_OR_RETURN(const json* desc, Object(j, "Description"), "");
  if (desc != nullptr) RETURN_IF_ERROR(GetString(*desc, "Hostname", &n.hostname), "Description");
  RETURN_IF_ERROR(GetString(j, "Role", &n.role), "");
  ASSIGN_OR_RETURN(const json* status, Object(j, "Status"), "");
  if (status != nullptr) {
    RETURN_IF_ERROR(GetString(*status, "State", &n.state), "Status");
    RETURN_IF_ERROR(GetString(*status, "Addr", &n.addr), "Status");
  }
  RETURN_IF_ERROR(GetTime(j, "CertExpiresAt", &n.cert_expires_at), "");
  RETURN_IF_ERROR(GetTime(j, "LastSeen", &n.last_seen), "");
  RETURN_IF_ERROR(GetString(j, "ListenAddr", &n.listen_addr), "");
  return n;
}

// Parses text as an object and reads it with from; errors start with `what`.
template <class T, class From>
Result<T> ParseObject(std::string_view text, const char* what, From from) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, what), "");
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + ": must be an object");
  auto r = from(j);
  if (!r.ok()) return r.status().WithContext(what);
  return r;
}

}  // namespace

std::string ToJson(const Node& n) { return NodeJson(n).dump(); }

std::string ToJson(const std::vector<Node>& v) {
  json a = json::array();
  for (const auto& n : v) a.push_back(NodeJson(n));
  return a.dump();
}

std::string ToJson(const NodeSpec& s) { return json{{"Labels", s.labels}}.dump(); }

std::string ToJson(const ClusterInitRequest& r) {
  json j{{"ListenAddr", r.listen_addr}, {"CertExpiry", r.cert_expiry}};
  if (r.autolock) j["Autolock"] = *r.autolock;
  return j.dump();
}

namespace {

// KeyStatus's fields, added to j (ClusterInfo carries them beside its own).
void AddKeyStatus(const KeyStatus& k, json& j) {
  j["KeyTerms"] = k.key_terms;
  j["CurrentTerm"] = k.current_term;
  j["Rotation"] = k.rotation ? json{{"Term", k.rotation->term},
                                    {"Done", k.rotation->done},
                                    {"Total", k.rotation->total},
                                    {"State", k.rotation->state}}
                             : json(nullptr);
}

Status GetKeyStatus(const json& j, KeyStatus* k) {
  auto terms = j.find("KeyTerms");
  if (terms != j.end() && !terms->is_null()) {
    if (!terms->is_array()) return WrongType("KeyTerms", "an array of terms");
    for (const json& t : *terms) {
      if (!t.is_number_unsigned() || t.get<std::uint64_t>() > UINT32_MAX) {
        return WrongType("KeyTerms", "an array of terms");
      }
      k->key_terms.push_back(t.get<std::uint32_t>());
    }
  }
  std::uint64_t current = 0;
  RETURN_IF_ERROR(GetUint(j, "CurrentTerm", UINT32_MAX, &current), "");
  k->current_term = static_cast<std::uint32_t>(current);
  ASSIGN_OR_RETURN(const json* rotation, Object(j, "Rotation"), "");
  if (rotation != nullptr) {
    KeyRotationProgress p;
    std::uint64_t term = 0;
    RETURN_IF_ERROR(GetUint(*rotation, "Term", UINT32_MAX, &term), "Rotation");
    p.term = static_cast<std::uint32_t>(term);
    RETURN_IF_ERROR(GetInt(*rotation, "Done", &p.done), "Rotation");
    RETURN_IF_ERROR(GetInt(*rotation, "Total", &p.total), "Rotation");
    RETURN_IF_ERROR(GetString(*rotation, "State", &p.state), "Rotation");
    k->rotation = std::move(p);
  }
  return Status::Ok();
}

}  // namespace

std::string ToJson(const KeyStatus& k) {
  json j = json::object();
  AddKeyStatus(k, j);
  return j.dump();
}

std::string ToJson(const RotateKeyResponse& r) { return json{{"Term", r.term}}.dump(); }

std::string ToJson(const ClusterInfo& c) {
  json status = json::array();
  for (const ManagerStatus& m : c.manager_status) {
    status.push_back({{"NodeID", m.node_id}, {"Addr", m.addr}, {"Reachable", m.reachable}});
  }
  json j{{"ClusterID", c.cluster_id},
              {"CreatedAt", TimeText(c.created_at)},
              {"NodeID", c.node_id},
              {"Role", c.role},
              {"Managers", c.managers},
              {"CACertDigest", c.ca_digest},
              {"CAExpiresAt", TimeText(c.ca_expires_at)},
              {"CertExpiry", c.cert_expiry_seconds},
              {"CertExpiresAt", TimeText(c.cert_expires_at)},
              {"ManagerStatus", status},
              {"Autolock", c.autolock}};
  AddKeyStatus(c.keys, j);
  if (!c.unlock_key.empty()) j["UnlockKey"] = c.unlock_key;
  std::string text = j.dump();
  if (!c.unlock_key.empty()) WipeString(j["UnlockKey"].get_ref<std::string&>());
  return text;
}

std::string ToJson(const UnlockKeyInfo& u) {
  json j{{"UnlockKey", u.unlock_key}};
  std::string text = j.dump();
  WipeString(j["UnlockKey"].get_ref<std::string&>());
  return text;
}

std::string ToJson(const JoinTokenInfo& t) {
  return json{{"Role", t.role}, {"Token", t.token}, {"Command", t.command}}.dump();
}

std::string ToJson(const JoinRequest& r) {
  return json{{"Token", r.token},
              {"CSR", r.csr},
              {"Hostname", r.hostname},
              {"Managers", r.managers},
              {"ListenAddr", r.listen_addr},
              {"StoreClusterID", r.store_cluster_id}}
      .dump();
}

std::string ToJson(const JoinResponse& r) {
  return json{{"Certificate", r.certificate}, {"CA", r.ca},
              {"ClusterID", r.cluster_id},    {"NodeID", r.node_id},
              {"Role", r.role},               {"Managers", r.managers},
              {"CertExpiry", r.cert_expiry_seconds},
              {"WrappedRootKey", r.wrapped_root_key}}
      .dump();
}

std::string ToJson(const CsrRequest& r) {
  return json{{"CSR", r.csr}, {"Hostname", r.hostname}}.dump();
}

std::string ToJson(const HeartbeatResponse& r) { return json{{"Managers", r.managers}}.dump(); }

Result<Node> ParseNode(std::string_view text) {
  return ParseObject<Node>(text, "node", NodeFrom);
}

Result<std::vector<Node>> ParseNodeList(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "node list"), "");
  if (!j.is_array()) return Status::InvalidArgument("node list: must be an array");
  std::vector<Node> out;
  for (const auto& e : j) {
    auto n = NodeFrom(e);
    if (!n.ok()) return n.status().WithContext("node list");
    out.push_back(std::move(*n));
  }
  return out;
}

Result<NodeSpec> ParseNodeSpec(std::string_view text) {
  return ParseObject<NodeSpec>(text, "node spec", [](const json& j) -> Result<NodeSpec> {
    NodeSpec s;
    RETURN_IF_ERROR(GetLabels(j, "Labels", &s.labels), "");
    return s;
  });
}

Result<ClusterInitRequest> ParseClusterInitRequest(std::string_view text) {
  return ParseObject<ClusterInitRequest>(
      text, "cluster init", [](const json& j) -> Result<ClusterInitRequest> {
        ClusterInitRequest r;
        RETURN_IF_ERROR(GetString(j, "ListenAddr", &r.listen_addr), "");
        RETURN_IF_ERROR(GetString(j, "CertExpiry", &r.cert_expiry), "");
        if (j.contains("Autolock") && !j["Autolock"].is_null()) {
          bool on = false;
          RETURN_IF_ERROR(GetBool(j, "Autolock", &on), "");
          r.autolock = on;
        }
        return r;
      });
}

Result<ClusterInfo> ParseClusterInfo(std::string_view text) {
  return ParseObject<ClusterInfo>(text, "cluster", [](const json& j) -> Result<ClusterInfo> {
    ClusterInfo c;
    RETURN_IF_ERROR(GetString(j, "ClusterID", &c.cluster_id), "");
    RETURN_IF_ERROR(GetTime(j, "CreatedAt", &c.created_at), "");
    RETURN_IF_ERROR(GetString(j, "NodeID", &c.node_id), "");
    RETURN_IF_ERROR(GetString(j, "Role", &c.role), "");
    RETURN_IF_ERROR(GetStrings(j, "Managers", &c.managers), "");
    RETURN_IF_ERROR(GetString(j, "CACertDigest", &c.ca_digest), "");
    RETURN_IF_ERROR(GetTime(j, "CAExpiresAt", &c.ca_expires_at), "");
    RETURN_IF_ERROR(GetInt(j, "CertExpiry", &c.cert_expiry_seconds), "");
    RETURN_IF_ERROR(GetTime(j, "CertExpiresAt", &c.cert_expires_at), "");
    auto status = j.find("ManagerStatus");
    if (status != j.end() && !status->is_null()) {
      if (!status->is_array()) return WrongType("ManagerStatus", "an array");
      for (const json& e : *status) {
        if (!e.is_object()) return WrongType("ManagerStatus", "an array of objects");
        ManagerStatus m;
        RETURN_IF_ERROR(GetString(e, "NodeID", &m.node_id), "ManagerStatus");
        RETURN_IF_ERROR(GetString(e, "Addr", &m.addr), "ManagerStatus");
        auto reachable = e.find("Reachable");
        if (reachable != e.end() && !reachable->is_boolean()) {
          return WrongType("ManagerStatus Reachable", "a boolean");
        }
        m.reachable = reachable != e.end() && reachable->get<bool>();
        c.manager_status.push_back(std::move(m));
      }
    }
    RETURN_IF_ERROR(GetKeyStatus(j, &c.keys), "");
    RETURN_IF_ERROR(GetBool(j, "Autolock", &c.autolock), "");
    RETURN_IF_ERROR(GetString(j, "UnlockKey", &c.unlock_key), "");
    return c;
  });
}

Result<JoinTokenInfo> ParseJoinTokenInfo(std::string_view text) {
  return ParseObject<JoinTokenInfo>(text, "join token", [](const json& j) -> Result<JoinTokenInfo> {
    JoinTokenInfo t;
    RETURN_IF_ERROR(GetString(j, "Role", &t.role), "");
    RETURN_IF_ERROR(GetString(j, "Token", &t.token), "");
    RETURN_IF_ERROR(GetString(j, "Command", &t.command), "");
    return t;
  });
}

Result<JoinRequest> ParseJoinRequest(std::string_view text) {
  return ParseObject<JoinRequest>(text, "join request", [](const json& j) -> Result<JoinRequest> {
    JoinRequest r;
    RETURN_IF_ERROR(GetString(j, "Token", &r.token), "");
    RETURN_IF_ERROR(GetString(j, "CSR", &r.csr), "");
    RETURN_IF_ERROR(GetString(j, "Hostname", &r.hostname), "");
    RETURN_IF_ERROR(GetStrings(j, "Managers", &r.managers), "");
    RETURN_IF_ERROR(GetString(j, "ListenAddr", &r.listen_addr), "");
    RETURN_IF_ERROR(GetString(j, "StoreClusterID", &r.store_cluster_id), "");
    return r;
  });
}

Result<JoinResponse> ParseJoinResponse(std::string_view text) {
  return ParseObject<JoinResponse>(text, "join response", [](const json& j) -> Result<JoinResponse> {
    JoinResponse r;
    RETURN_IF_ERROR(GetString(j, "Certificate", &r.certificate), "");
    RETURN_IF_ERROR(GetString(j, "CA", &r.ca), "");
    RETURN_IF_ERROR(GetString(j, "ClusterID", &r.cluster_id), "");
    RETURN_IF_ERROR(GetString(j, "NodeID", &r.node_id), "");
    RETURN_IF_ERROR(GetString(j, "Role", &r.role), "");
    RETURN_IF_ERROR(GetStrings(j, "Managers", &r.managers), "");
    RETURN_IF_ERROR(GetInt(j, "CertExpiry", &r.cert_expiry_seconds), "");
    RETURN_IF_ERROR(GetString(j, "WrappedRootKey", &r.wrapped_root_key), "");
    return r;
  });
}

Result<CsrRequest> ParseCsrRequest(std::string_view text) {
  return ParseObject<CsrRequest>(text, "request", [](const json& j) -> Result<CsrRequest> {
    CsrRequest r;
    RETURN_IF_ERROR(GetString(j, "CSR", &r.csr), "");
    RETURN_IF_ERROR(GetString(j, "Hostname", &r.hostname), "");
    return r;
  });
}

Result<HeartbeatResponse> ParseHeartbeatResponse(std::string_view text) {
  return ParseObject<HeartbeatResponse>(
      text, "heartbeat answer", [](const json& j) -> Result<HeartbeatResponse> {
        HeartbeatResponse r;
        RETURN_IF_ERROR(GetStrings(j, "Managers", &r.managers), "");
        return r;
      });
}

Result<KeyStatus> ParseKeyStatus(std::string_view text) {
  return ParseObject<KeyStatus>(text, "key status", [](const json& j) -> Result<KeyStatus> {
    KeyStatus k;
    RETURN_IF_ERROR(GetKeyStatus(j, &k), "");
    return k;
  });
}

Result<RotateKeyResponse> ParseRotateKeyResponse(std::string_view text) {
  return ParseObject<RotateKeyResponse>(
      text, "rotate-key answer", [](const json& j) -> Result<RotateKeyResponse> {
        RotateKeyResponse r;
        std::uint64_t term = 0;
        RETURN_IF_ERROR(GetUint(j, "Term", UINT32_MAX, &term), "");
        r.term = static_cast<std::uint32_t>(term);
        return r;
      });
}

Result<UnlockKeyInfo> ParseUnlockKeyInfo(std::string_view text) {
  return ParseObject<UnlockKeyInfo>(text, "unlock key", [](const json& j) -> Result<UnlockKeyInfo> {
    UnlockKeyInfo u;
    RETURN_IF_ERROR(GetString(j, "UnlockKey", &u.unlock_key), "");
    if (u.unlock_key.empty()) return Status::InvalidArgument("UnlockKey is required");
    return u;
  });
}

}  // namespace ocisecrets
