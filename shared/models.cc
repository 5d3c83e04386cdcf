#include "shared/models.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>

#include "shared/canonical_reader.h"
#include "shared/constraint.h"
#include "shared/json_fields.h"
#include "shared/secret_sax_reader.h"

namespace ocisecrets {
namespace {

using nlohmann::json;
using namespace json_fields;  // NOLINT: the field readers every parser here uses

// Wipes every "Data" string of a parsed or built document before it is freed.
void WipeDataFields(json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "Data" && it->is_string()) {
        WipeString(it->get_ref<std::string&>());
      } else {
        WipeDataFields(*it);
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) WipeDataFields(e);
  }
}

json SecretSpecJson(const SecretSpec& s) {
  return json{{"Name", s.name}, {"Labels", s.labels}, {"Driver", nullptr}};
}

json ServiceSpecJson(const ServiceSpec& s) {
  json secrets = json::array();
  for (const auto& r : s.secrets) {
    secrets.push_back({{"SecretID", r.secret_id},
                       {"SecretName", r.secret_name},
                       {"File",
                        {{"Name", r.file.name},
                         {"UID", std::to_string(r.file.uid)},
                         {"GID", std::to_string(r.file.gid)},
                         {"Mode", r.file.mode}}}});
  }
  json j{{"Name", s.name}, {"SecretsDir", s.secrets_dir}, {"Labels", s.labels},
         {"Secrets", secrets}};
  if (!s.constraints.empty()) j["Placement"] = {{"Constraints", s.constraints}};
  if (!s.update_signal.empty()) j["UpdateSignal"] = s.update_signal;
  return j;
}

json ServiceJson(const Service& s) {
  json leases = json::array();
  for (const auto& l : s.leases) {
    json lease{{"ContainerID", l.container_id},
               {"CreatedAt", FormatTime(l.created_at)},
               {"ExpiresAt", FormatTime(l.expires_at)}};
    if (!l.node_id.empty()) lease["NodeID"] = l.node_id;
    if (!l.versions.empty()) lease["Versions"] = l.versions;
    leases.push_back(std::move(lease));
  }
  return json{{"ID", s.id},
              {"Version", {{"Index", s.version}}},
              {"CreatedAt", FormatTime(s.created_at)},
              {"UpdatedAt", FormatTime(s.updated_at)},
              {"Spec", ServiceSpecJson(s.spec)},
              {"Leases", leases}};
}

Result<SecretSpec> SecretSpecFrom(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("Spec: must be an object");
  SecretSpec s;
  RETURN_IF_ERROR(GetString(j, "Name", &s.name), "Spec");
  RETURN_IF_ERROR(GetLabels(j, "Labels", &s.labels), "Spec");
  return s;
}

Status VersionFrom(const json& j, std::uint64_t* out) {
  auto it = j.find("Version");
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return WrongType("Version", "an object");
  return GetUint(*it, "Index", UINT64_MAX, out);
}

// "DataVersion", after CreatedAt was read: absent (a record from before data versions),
// it is version 1 made current at the secret's creation; so is an absent UpdatedAt in it.
Status DataVersionFrom(const json& j, Secret* s) {
  s->data = SecretData{};
  s->data.updated_at = s->created_at;
  auto it = j.find("DataVersion");
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return WrongType("DataVersion", "an object");
  RETURN_IF_ERROR(GetUint(*it, "Index", UINT64_MAX, &s->data.index), "DataVersion");
  RETURN_IF_ERROR(GetTime(*it, "UpdatedAt", &s->data.updated_at), "DataVersion");
  RETURN_IF_ERROR(GetUint(*it, "Previous", UINT64_MAX, &s->data.previous), "DataVersion");
  RETURN_IF_ERROR(GetTime(*it, "OverlapUntil", &s->data.overlap_until), "DataVersion");
  RETURN_IF_ERROR(GetTime(*it, "RevokedAt", &s->data.revoked_at), "DataVersion");
  return Status::Ok();
}

// {"SECRET_ID": N, ...}, as lease records and held reports carry them.
Status GetVersions(const json& j, const char* field, std::map<std::string, std::uint64_t>* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return WrongType(field, "an object of non-negative integers");
  for (auto v = it->begin(); v != it->end(); ++v) {
    if (!v->is_number_unsigned()) return WrongType(field, "an object of non-negative integers");
    (*out)[v.key()] = v->get<std::uint64_t>();
  }
  return Status::Ok();
}

Result<Secret> SecretFrom(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("secret: must be an object");
  Secret s;
  RETURN_IF_ERROR(GetString(j, "ID", &s.id), "secret");
  RETURN_IF_ERROR(VersionFrom(j, &s.version), "secret");
  RETURN_IF_ERROR(GetTime(j, "CreatedAt", &s.created_at), "secret");
  RETURN_IF_ERROR(GetTime(j, "UpdatedAt", &s.updated_at), "secret");
  RETURN_IF_ERROR(DataVersionFrom(j, &s), "secret");
  auto spec = j.find("Spec");
  if (spec != j.end()) {
    ASSIGN_OR_RETURN(s.spec, SecretSpecFrom(*spec), "secret");
  }
  return s;
}

// "Placement":{"Constraints":[EXPR...]}: each parsed, kept in its canonical text. The
// messages of ParseConstraint name the expression and say what is wrong.
Status PlacementFrom(const json& spec, ServiceSpec* s) {
  auto placement = spec.find("Placement");
  if (placement == spec.end() || placement->is_null()) return Status::Ok();
  if (!placement->is_object()) return WrongType("Placement", "an object").WithContext("service spec");
  auto constraints = placement->find("Constraints");
  if (constraints == placement->end() || constraints->is_null()) return Status::Ok();
  if (!constraints->is_array()) {
    return WrongType("Placement.Constraints", "an array of strings").WithContext("service spec");
  }
  std::vector<std::string> exprs;
  for (const auto& e : *constraints) {
    if (!e.is_string()) {
      return WrongType("Placement.Constraints", "an array of strings").WithContext("service spec");
    }
    exprs.push_back(e.get<std::string>());
  }
  ASSIGN_OR_RETURN(s->constraints, CanonicalConstraints(exprs, s->name), "");
  return Status::Ok();
}

Result<ServiceSpec> ServiceSpecFrom(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("service spec: must be an object");
  ServiceSpec s;
  RETURN_IF_ERROR(GetString(j, "Name", &s.name), "service spec");
  RETURN_IF_ERROR(GetString(j, "SecretsDir", &s.secrets_dir), "service spec");
  RETURN_IF_ERROR(GetLabels(j, "Labels", &s.labels), "service spec");
  auto secrets = j.find("Secrets");
  if (secrets != j.end() && !secrets->is_null()) {
    if (!secrets->is_array()) return WrongType("Secrets", "an array");
    for (const auto& e : *secrets) {
      if (!e.is_object()) return WrongType("Secrets[]", "an object");
      SecretReference r;
      RETURN_IF_ERROR(GetString(e, "SecretID", &r.secret_id), "service spec: Secrets");
      RETURN_IF_ERROR(GetString(e, "SecretName", &r.secret_name), "service spec: Secrets");
      auto f = e.find("File");
      if (f != e.end() && !f->is_null()) {
        if (!f->is_object()) return WrongType("File", "an object");
        std::uint64_t mode = 0444;
        RETURN_IF_ERROR(GetString(*f, "Name", &r.file.name), "service spec: Secrets: File");
        RETURN_IF_ERROR(GetId(*f, "UID", &r.file.uid), "service spec: Secrets: File");
        RETURN_IF_ERROR(GetId(*f, "GID", &r.file.gid), "service spec: Secrets: File");
        RETURN_IF_ERROR(GetUint(*f, "Mode", UINT32_MAX, &mode), "service spec: Secrets: File");
        r.file.mode = static_cast<std::uint32_t>(mode);
      }
      s.secrets.push_back(std::move(r));
    }
  }
  RETURN_IF_ERROR(PlacementFrom(j, &s), "");
  RETURN_IF_ERROR(GetString(j, "UpdateSignal", &s.update_signal), "service spec");
  return s;
}

Result<Service> ServiceFrom(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("service: must be an object");
  Service s;
  RETURN_IF_ERROR(GetString(j, "ID", &s.id), "service");
  RETURN_IF_ERROR(VersionFrom(j, &s.version), "service");
  RETURN_IF_ERROR(GetTime(j, "CreatedAt", &s.created_at), "service");
  RETURN_IF_ERROR(GetTime(j, "UpdatedAt", &s.updated_at), "service");
  auto spec = j.find("Spec");
  if (spec != j.end()) {
    ASSIGN_OR_RETURN(s.spec, ServiceSpecFrom(*spec), "service");
  }
  auto leases = j.find("Leases");
  if (leases != j.end() && !leases->is_null()) {
    if (!leases->is_array()) return WrongType("Leases", "an array");
    for (const auto& e : *leases) {
      if (!e.is_object()) return WrongType("Leases[]", "an object");
      LeaseInfo l;
      RETURN_IF_ERROR(GetString(e, "ContainerID", &l.container_id), "service: Leases");
      RETURN_IF_ERROR(GetString(e, "NodeID", &l.node_id), "service: Leases");
      RETURN_IF_ERROR(GetTime(e, "CreatedAt", &l.created_at), "service: Leases");
      RETURN_IF_ERROR(GetTime(e, "ExpiresAt", &l.expires_at), "service: Leases");
      RETURN_IF_ERROR(GetVersions(e, "Versions", &l.versions), "service: Leases");
      s.leases.push_back(std::move(l));
    }
  }
  return s;
}

template <typename T, typename F>
Result<std::vector<T>> ListFrom(std::string_view text, const char* what, F from) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, what), "");
  if (!j.is_array()) return Status::InvalidArgument(std::string(what) + ": must be an array");
  std::vector<T> out;
  out.reserve(j.size());
  for (const auto& e : j) {
    ASSIGN_OR_RETURN(T v, from(e), what);
    out.push_back(std::move(v));
  }
  return out;
}

void AppendLabels(std::string& out, const Labels& labels) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, k);
    out += ':';
    AppendJsonString(out, v);
  }
  out += '}';
}

// SecretJson(s).dump(), written directly: lists of secrets are the largest answers.
// Keys in nlohmann's (sorted) order.
void AppendSecretJson(std::string& out, const Secret& s) {
  out += "{\"CreatedAt\":\"";
  AppendTime(out, s.created_at);
  out += "\",\"DataVersion\":{\"Index\":";
  AppendJsonUint(out, s.data.index);
  if (s.data.overlap_until != TimePoint{}) {
    out += ",\"OverlapUntil\":\"";
    AppendTime(out, s.data.overlap_until);
    out += '"';
  }
  if (s.data.previous != 0) {
    out += ",\"Previous\":";
    AppendJsonUint(out, s.data.previous);
  }
  if (s.data.revoked_at != TimePoint{}) {
    out += ",\"RevokedAt\":\"";
    AppendTime(out, s.data.revoked_at);
    out += '"';
  }
  out += ",\"UpdatedAt\":\"";
  AppendTime(out, s.data.updated_at);
  out += "\"},\"ID\":";
  AppendJsonString(out, s.id);
  out += ",\"Spec\":{\"Driver\":null,\"Labels\":";
  AppendLabels(out, s.spec.labels);
  out += ",\"Name\":";
  AppendJsonString(out, s.spec.name);
  out += "},\"UpdatedAt\":\"";
  AppendTime(out, s.updated_at);
  out += "\",\"Version\":{\"Index\":";
  AppendJsonUint(out, s.version);
  out += "}}";
}

// Lists are written one element at a time: a list of 100,000 secrets never becomes one
// DOM (hundreds of MiB at peak), and the bytes are those of the whole array's dump.
template <typename T, typename ToDom>
std::string ListJson(const std::vector<T>& v, ToDom to_dom) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += to_dom(v[i]).dump();
  }
  out += ']';
  return out;
}

}  // namespace

std::string ToJson(const Secret& s) {
  std::string out;
  out.reserve(256);
  AppendSecretJson(out, s);
  return out;
}

std::string ToJson(const std::vector<Secret>& v) {
  std::string out;
  out.reserve(2 + v.size() * 220);
  out += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    AppendSecretJson(out, v[i]);
  }
  out += ']';
  return out;
}

std::string ToJson(const SecretSpec& s) { return SecretSpecJson(s).dump(); }
std::string ToJson(const ServiceSpec& s) { return ServiceSpecJson(s).dump(); }
std::string ToJson(const Service& s) { return ServiceJson(s).dump(); }
std::string ToJson(const std::vector<Service>& v) { return ListJson(v, ServiceJson); }
std::string ToJson(const LeaseRequest& r) {
  json j{{"ContainerID", r.container_id}, {"Service", r.service}};
  if (!r.node_id.empty()) j["NodeID"] = r.node_id;
  if (r.renewal) j["Renewal"] = true;
  if (r.pid != 0) j["Pid"] = r.pid;
  if (!r.default_secrets_dir.empty()) j["DefaultSecretsDir"] = r.default_secrets_dir;
  if (r.tmpfs_size != 0) j["TmpfsSize"] = r.tmpfs_size;
  return j.dump();
}

std::size_t LeasedFilesJsonSize(const std::vector<LeasedFile>& files) {
  std::size_t size = 2;
  for (const auto& f : files) {
    size += 160 + 6 * (f.name.size() + f.secret_id.size()) + Base64EncodedSize(f.data.size());
  }
  return size;
}

void AppendLeasedFilesJson(std::string& out, const std::vector<LeasedFile>& files) {
  out += '[';
  for (std::size_t i = 0; i < files.size(); ++i) {
    const LeasedFile& f = files[i];
    if (i > 0) out += ',';
    out += "{\"Data\":\"";
    const std::size_t at = out.size();
    out.resize(at + Base64EncodedSize(f.data.size()));  // within the reserved capacity
    Base64EncodeTo(out.data() + at, f.data.data(), f.data.size());
    out += "\",\"GID\":";
    AppendJsonUint(out, f.gid);
    out += ",\"Mode\":";
    AppendJsonUint(out, f.mode);
    out += ",\"Name\":";
    AppendJsonString(out, f.name);
    if (f.previous) out += ",\"Previous\":true";
    if (!f.secret_id.empty()) {
      out += ",\"SecretID\":";
      AppendJsonString(out, f.secret_id);
    }
    out += ",\"UID\":";
    AppendJsonUint(out, f.uid);
    if (f.version != 0) {
      out += ",\"Version\":";
      AppendJsonUint(out, f.version);
    }
    out += '}';
  }
  out += ']';
}

// The grant is what every container start waits for, and its payloads are most of it:
// written by hand into one buffer sized up front, so base64 text is neither escaped
// character by character nor left behind in buffers a growing string frees unwiped.
// Same bytes as nlohmann's compact dump (keys in its sorted order).
std::string ToJson(const LeaseGrant& g) {
  // Escaping writes at most 6 bytes per byte (\u00XX): with that bound the buffer never
  // grows, so no copy of a payload is freed unwiped on the way.
  std::size_t size = 240 + 6 * (g.container_id.size() + g.secrets_dir.size() + g.service.size() +
                                g.service_id.size() + g.update_signal.size());
  for (const auto& n : g.revoked) size += 3 + 6 * n.size();
  size += LeasedFilesJsonSize(g.files);
  std::string out;
  out.reserve(size);
  out += "{\"ContainerID\":";
  AppendJsonString(out, g.container_id);
  out += ",\"ExpiresAt\":\"";
  AppendTime(out, g.expires_at);
  out += "\",\"Files\":";
  AppendLeasedFilesJson(out, g.files);
  if (g.refresh_at != TimePoint{}) {
    out += ",\"RefreshAt\":\"";
    AppendTime(out, g.refresh_at);
    out += '"';
  }
  if (!g.revoked.empty()) {
    out += ",\"Revoked\":[";
    for (std::size_t i = 0; i < g.revoked.size(); ++i) {
      if (i > 0) out += ',';
      AppendJsonString(out, g.revoked[i]);
    }
    out += ']';
  }
  out += ",\"SecretsDir\":";
  AppendJsonString(out, g.secrets_dir);
  out += ",\"Service\":";
  AppendJsonString(out, g.service);
  if (!g.service_id.empty()) {
    out += ",\"ServiceID\":";
    AppendJsonString(out, g.service_id);
  }
  if (!g.update_signal.empty()) {
    out += ",\"UpdateSignal\":";
    AppendJsonString(out, g.update_signal);
  }
  out += '}';
  return out;
}

std::string ToJson(const SecretCreateRequest& r) {
  json j{{"Name", r.spec.name},
         {"Labels", r.spec.labels},
         {"Data", Base64Encode(r.data.data(), r.data.size())}};
  std::string out = j.dump();
  WipeDataFields(j);
  return out;
}

namespace {

// The secrets in text by way of the canonical reader, else the SAX reader; false when the
// DOM path must decide.
bool ParseSecretsFast(std::string_view text, bool list, std::vector<Secret>* out) {
  if (ReadCanonicalSecrets(text, list, out)) return true;
  out->clear();
  return ReadSecretsSax(text, list, out);
}

}  // namespace

Result<Secret> ParseSecret(std::string_view text) {
  std::vector<Secret> fast;
  if (ParseSecretsFast(text, /*list=*/false, &fast)) return std::move(fast.front());
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "secret"), "");
  return SecretFrom(j);
}
Result<std::vector<Secret>> ParseSecretList(std::string_view text) {
  std::vector<Secret> fast;
  if (ParseSecretsFast(text, /*list=*/true, &fast)) return fast;
  return ListFrom<Secret>(text, "secret list", SecretFrom);
}
Result<SecretSpec> ParseSecretSpec(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "secret spec"), "");
  if (j.is_object() && j.contains("Data")) {
    WipeDataFields(j);
    return Status::InvalidArgument("only updates to Labels are allowed");
  }
  return SecretSpecFrom(j);
}
Result<ServiceSpec> ParseServiceSpec(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "service spec"), "");
  return ServiceSpecFrom(j);
}
Result<Service> ParseService(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "service"), "");
  return ServiceFrom(j);
}
Result<std::vector<Service>> ParseServiceList(std::string_view text) {
  return ListFrom<Service>(text, "service list", ServiceFrom);
}

Result<LeaseRequest> ParseLeaseRequest(std::string_view text) {
  // Every container start sends one: the usual form is read without a DOM.
  LeaseRequest fast;
  if (ReadCanonicalLeaseRequest(text, &fast)) return fast;
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "lease request"), "");
  if (!j.is_object()) return Status::InvalidArgument("lease request: must be an object");
  LeaseRequest r;
  RETURN_IF_ERROR(GetString(j, "ContainerID", &r.container_id), "lease request");
  RETURN_IF_ERROR(GetString(j, "Service", &r.service), "lease request");
  RETURN_IF_ERROR(GetString(j, "NodeID", &r.node_id), "lease request");
  RETURN_IF_ERROR(GetBool(j, "Renewal", &r.renewal), "lease request");
  std::uint64_t pid = 0;
  RETURN_IF_ERROR(GetUint(j, "Pid", kMaxLeasePid, &pid), "lease request");
  r.pid = static_cast<int>(pid);
  RETURN_IF_ERROR(GetString(j, "DefaultSecretsDir", &r.default_secrets_dir), "lease request");
  RETURN_IF_ERROR(GetUint(j, "TmpfsSize", UINT64_MAX, &r.tmpfs_size), "lease request");
  return r;
}

Result<LeaseGrant> ParseLeaseGrant(std::string_view text) {
  // Every container start with secrets reads one, holding every payload in base64: the
  // manager's form is read without a DOM; anything else goes the general way.
  {
    LeaseGrant fast;
    if (ReadCanonicalLeaseGrant(text, &fast)) return fast;
  }
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "lease"), "");
  auto parse = [&]() -> Result<LeaseGrant> {
    if (!j.is_object()) return Status::InvalidArgument("lease: must be an object");
    LeaseGrant g;
    RETURN_IF_ERROR(GetString(j, "ContainerID", &g.container_id), "lease");
    RETURN_IF_ERROR(GetString(j, "Service", &g.service), "lease");
    RETURN_IF_ERROR(GetString(j, "ServiceID", &g.service_id), "lease");
    RETURN_IF_ERROR(GetString(j, "SecretsDir", &g.secrets_dir), "lease");
    RETURN_IF_ERROR(GetTime(j, "ExpiresAt", &g.expires_at), "lease");
    RETURN_IF_ERROR(GetString(j, "UpdateSignal", &g.update_signal), "lease");
    RETURN_IF_ERROR(GetTime(j, "RefreshAt", &g.refresh_at), "lease");
    RETURN_IF_ERROR(GetStrings(j, "Revoked", &g.revoked), "lease");
    auto files = j.find("Files");
    if (files == j.end() || !files->is_array()) {
      return WrongType("Files", "an array").WithContext("lease");
    }
    for (const auto& e : *files) {
      if (!e.is_object()) return WrongType("Files[]", "an object").WithContext("lease");
      LeasedFile f;
      std::uint64_t mode = 0444;
      RETURN_IF_ERROR(GetString(e, "Name", &f.name), "lease: Files");
      RETURN_IF_ERROR(GetId(e, "UID", &f.uid), "lease: Files");
      RETURN_IF_ERROR(GetId(e, "GID", &f.gid), "lease: Files");
      RETURN_IF_ERROR(GetUint(e, "Mode", 07777, &mode), "lease: Files");
      f.mode = static_cast<std::uint32_t>(mode);
      RETURN_IF_ERROR(GetString(e, "SecretID", &f.secret_id), "lease: Files");
      RETURN_IF_ERROR(GetUint(e, "Version", UINT64_MAX, &f.version), "lease: Files");
      RETURN_IF_ERROR(GetBool(e, "Previous", &f.previous), "lease: Files");
      auto data = e.find("Data");
      if (data == e.end() || !data->is_string()) {
        return WrongType("Data", "a base64 string").WithContext("lease: Files");
      }
      ASSIGN_OR_RETURN(f.data, Base64Decode(data->get_ref<const std::string&>()),
                       "lease: Files: Data");
      g.files.push_back(std::move(f));
    }
    return g;
  };
  auto result = parse();
  WipeDataFields(j);
  return result;
}

Result<SecretCreateRequest> ParseSecretCreateRequest(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "secret create"), "");
  auto parse = [&]() -> Result<SecretCreateRequest> {
    if (!j.is_object()) return Status::InvalidArgument("secret create: must be an object");
    SecretCreateRequest r;
    ASSIGN_OR_RETURN(r.spec, SecretSpecFrom(j), "secret create");
    auto data = j.find("Data");
    if (data == j.end() || !data->is_string()) return WrongType("Data", "a base64 string");
    ASSIGN_OR_RETURN(r.data, Base64Decode(data->get_ref<const std::string&>()),
                     "secret create: Data");
    return r;
  };
  auto result = parse();
  WipeDataFields(j);
  return result;
}

// ---- live secrets -----------------------------------------------------------------------

namespace {

json HolderJson(const SecretHolder& h) {
  return json{{"ContainerID", h.container_id}, {"NodeID", h.node_id},
              {"SecretID", h.secret_id},       {"SecretName", h.secret_name},
              {"ServiceID", h.service_id},     {"ServiceName", h.service_name},
              {"Since", FormatTime(h.since)},  {"Version", h.version}};
}

Result<SecretHolder> HolderFrom(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("holder: must be an object");
  SecretHolder h;
  RETURN_IF_ERROR(GetString(j, "ContainerID", &h.container_id), "holder");
  RETURN_IF_ERROR(GetString(j, "NodeID", &h.node_id), "holder");
  RETURN_IF_ERROR(GetString(j, "SecretID", &h.secret_id), "holder");
  RETURN_IF_ERROR(GetString(j, "SecretName", &h.secret_name), "holder");
  RETURN_IF_ERROR(GetString(j, "ServiceID", &h.service_id), "holder");
  RETURN_IF_ERROR(GetString(j, "ServiceName", &h.service_name), "holder");
  RETURN_IF_ERROR(GetTime(j, "Since", &h.since), "holder");
  RETURN_IF_ERROR(GetUint(j, "Version", UINT64_MAX, &h.version), "holder");
  return h;
}

}  // namespace

std::string ToJson(const std::vector<SecretHolder>& v) { return ListJson(v, HolderJson); }

Result<std::vector<SecretHolder>> ParseSecretHolders(std::string_view text) {
  return ListFrom<SecretHolder>(text, "holders", HolderFrom);
}

std::string ToJson(const SecretRotateRequest& r) {
  json j{{"Data", Base64Encode(r.data.data(), r.data.size())}};
  if (r.overlap_seconds != 0) j["OverlapSeconds"] = r.overlap_seconds;
  if (r.if_changed) j["IfChanged"] = true;
  std::string out = j.dump();
  WipeDataFields(j);
  return out;
}

Result<SecretRotateRequest> ParseSecretRotateRequest(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "secret rotate"), "");
  auto parse = [&]() -> Result<SecretRotateRequest> {
    if (!j.is_object()) return Status::InvalidArgument("secret rotate: must be an object");
    SecretRotateRequest r;
    RETURN_IF_ERROR(GetUint(j, "OverlapSeconds", kMaxOverlapSeconds, &r.overlap_seconds),
                    "secret rotate");
    RETURN_IF_ERROR(GetBool(j, "IfChanged", &r.if_changed), "secret rotate");
    auto data = j.find("Data");
    if (data == j.end() || !data->is_string()) {
      return WrongType("Data", "a base64 string").WithContext("secret rotate");
    }
    ASSIGN_OR_RETURN(r.data, Base64Decode(data->get_ref<const std::string&>()),
                     "secret rotate: Data");
    return r;
  };
  auto result = parse();
  WipeDataFields(j);
  return result;
}

std::string ToJson(const SecretRotateResult& r) {
  std::string out = ToJson(r.secret);
  out.pop_back();  // the secret object's closing brace
  out += r.changed ? ",\"Changed\":true}" : ",\"Changed\":false}";
  return out;
}

Result<SecretRotateResult> ParseSecretRotateResult(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "secret rotate result"), "");
  SecretRotateResult r;
  ASSIGN_OR_RETURN(r.secret, SecretFrom(j), "");
  RETURN_IF_ERROR(GetBool(j, "Changed", &r.changed), "secret rotate result");
  return r;
}

std::string ToJson(const HeldReport& r) {
  json containers = json::array();
  for (const auto& c : r.containers) {
    containers.push_back({{"ContainerID", c.container_id}, {"Versions", c.versions}});
  }
  json j{{"Containers", std::move(containers)}};
  if (!r.node_id.empty()) j["NodeID"] = r.node_id;
  return j.dump();
}

Result<HeldReport> ParseHeldReport(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "held report"), "");
  if (!j.is_object()) return Status::InvalidArgument("held report: must be an object");
  HeldReport r;
  RETURN_IF_ERROR(GetString(j, "NodeID", &r.node_id), "held report");
  auto containers = j.find("Containers");
  if (containers != j.end() && !containers->is_null()) {
    if (!containers->is_array()) return WrongType("Containers", "an array").WithContext("held report");
    for (const auto& e : *containers) {
      if (!e.is_object()) return WrongType("Containers[]", "an object").WithContext("held report");
      HeldReport::Container c;
      RETURN_IF_ERROR(GetString(e, "ContainerID", &c.container_id), "held report: Containers");
      RETURN_IF_ERROR(GetVersions(e, "Versions", &c.versions), "held report: Containers");
      r.containers.push_back(std::move(c));
    }
  }
  return r;
}

std::string ToJson(const ChangesRequest& r) {
  return json{{"Epoch", r.epoch},
              {"Since", r.since},
              {"Secrets", r.secrets},
              {"Services", r.services},
              {"WaitMs", r.wait_ms}}
      .dump();
}

Result<ChangesRequest> ParseChangesRequest(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "changes request"), "");
  if (!j.is_object()) return Status::InvalidArgument("changes request: must be an object");
  ChangesRequest r;
  RETURN_IF_ERROR(GetString(j, "Epoch", &r.epoch), "changes request");
  RETURN_IF_ERROR(GetUint(j, "Since", UINT64_MAX, &r.since), "changes request");
  RETURN_IF_ERROR(GetStrings(j, "Secrets", &r.secrets), "changes request");
  RETURN_IF_ERROR(GetStrings(j, "Services", &r.services), "changes request");
  RETURN_IF_ERROR(GetUint(j, "WaitMs", UINT64_MAX, &r.wait_ms), "changes request");
  return r;
}

std::string ToJson(const ChangesResponse& r) {
  json j{{"Epoch", r.epoch}, {"Revision", r.revision}, {"Reset", r.reset}, {"Changed", r.changed}};
  if (r.changed_at != TimePoint{}) j["ChangedAt"] = FormatTime(r.changed_at);
  return j.dump();
}

Result<ChangesResponse> ParseChangesResponse(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "changes"), "");
  if (!j.is_object()) return Status::InvalidArgument("changes: must be an object");
  ChangesResponse r;
  RETURN_IF_ERROR(GetString(j, "Epoch", &r.epoch), "changes");
  RETURN_IF_ERROR(GetUint(j, "Revision", UINT64_MAX, &r.revision), "changes");
  RETURN_IF_ERROR(GetBool(j, "Reset", &r.reset), "changes");
  RETURN_IF_ERROR(GetStrings(j, "Changed", &r.changed), "changes");
  RETURN_IF_ERROR(GetTime(j, "ChangedAt", &r.changed_at), "changes");
  return r;
}

}  // namespace ocisecrets
