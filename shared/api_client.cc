#include "shared/api_client.h"

#include <nlohmann/json.hpp>

namespace ocisecrets {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string Escape(std::string_view s, std::string_view also_keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (IsUnreserved(c) || also_keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// A query value keeps '=' (label=K=V) and ':' readable; '&', '+', '#', '%' and the rest
// are encoded.
std::string EscapeQueryValue(std::string_view s) { return Escape(s, "=:@,/"); }

// {"ID":"..."} from a create call.
Result<std::string> ParseCreatedId(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_object()) {
    auto it = j.find("ID");
    if (it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      return it->get<std::string>();
    }
  }
  return Status::DataLoss("malformed answer from the manager: no ID");
}

Status DataLoss(const Status& s) {
  return Status::DataLoss("malformed answer from the manager: " + s.message());
}

}  // namespace

std::string EscapePathSegment(std::string_view s) { return Escape(s, ""); }

ApiClient::ApiClient(std::unique_ptr<Transport> transport, std::chrono::milliseconds timeout)
    : transport_(std::move(transport)), timeout_(timeout) {}

Result<HttpResponse> ApiClient::Call(std::string method, std::string target, std::string body) {
  HttpRequest req{std::move(method), std::move(target), std::move(body)};
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto resp = transport_->RoundTrip(req, deadline);
  WipeString(req.body);
  if (!resp.ok()) return resp.status();
  Status s = StatusFromHttp(resp->status, resp->body);
  if (!s.ok()) {
    WipeString(resp->body);
    return s;
  }
  return resp;
}

Result<std::string> ApiClient::Health() {
  ASSIGN_OR_RETURN(HttpResponse r, Call("GET", "/v1/health", ""), "");
  return std::move(r.body);
}

Result<std::string> ApiClient::CreateSecret(const SecretCreateRequest& req) {
  // ToJson's result holds the payload in base64; Call wipes its copy.
  ASSIGN_OR_RETURN(HttpResponse r, Call("POST", "/v1/secrets", ToJson(req)), "");
  return ParseCreatedId(r.body);
}

Result<std::vector<Secret>> ApiClient::ListSecrets(const std::vector<std::string>& filters) {
  std::string target = "/v1/secrets";
  char sep = '?';
  for (const auto& f : filters) {
    auto eq = f.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("bad filter '" + f + "': want KEY=VALUE");
    }
    target += sep;
    target += Escape(std::string_view(f).substr(0, eq), "");
    target += '=';
    target += EscapeQueryValue(std::string_view(f).substr(eq + 1));
    sep = '&';
  }
  ASSIGN_OR_RETURN(HttpResponse r, Call("GET", std::move(target), ""), "");
  auto list = ParseSecretList(r.body);
  if (!list.ok()) return DataLoss(list.status());
  return list;
}

Result<Secret> ApiClient::InspectSecret(std::string_view name_or_id) {
  ASSIGN_OR_RETURN(HttpResponse r, Call("GET", "/v1/secrets/" + EscapePathSegment(name_or_id), ""),
                   "");
  auto s = ParseSecret(r.body);
  if (!s.ok()) return DataLoss(s.status());
  return s;
}

Status ApiClient::UpdateSecret(std::string_view name_or_id, std::uint64_t version,
                               const SecretSpec& spec) {
  auto r = Call(
      "POST",
      "/v1/secrets/" + EscapePathSegment(name_or_id) + "/update?version=" + std::to_string(version),
      ToJson(spec));
  return r.status();
}

Status ApiClient::RemoveSecret(std::string_view name_or_id) {
  return Call("DELETE", "/v1/secrets/" + EscapePathSegment(name_or_id), "").status();
}

Result<Secret> ApiClient::SecretCall(std::string_view name_or_id, std::string_view action,
                                     std::string body) {
  ASSIGN_OR_RETURN(HttpResponse r,
                   Call("POST", "/v1/secrets/" + EscapePathSegment(name_or_id) + "/" +
                                    std::string(action),
                        std::move(body)),
                   "");
  auto s = ParseSecret(r.body);
  if (!s.ok()) return DataLoss(s.status());
  return s;
}

Result<Secret> ApiClient::RotateSecret(std::string_view name_or_id, const SecretRotateRequest& req) {
  return SecretCall(name_or_id, "rotate", ToJson(req));  // Call wipes the body
}
Result<SecretRotateResult> ApiClient::RotateSecretIfChanged(std::string_view name_or_id,
                                                            SecretRotateRequest req) {
  req.if_changed = true;
  ASSIGN_OR_RETURN(HttpResponse r,
                   Call("POST", "/v1/secrets/" + EscapePathSegment(name_or_id) + "/rotate",
                        ToJson(req)),  // Call wipes the body
                   "");
  auto result = ParseSecretRotateResult(r.body);
  if (!result.ok()) return DataLoss(result.status());
  return result;
}
Result<Secret> ApiClient::RollbackSecret(std::string_view name_or_id) {
  return SecretCall(name_or_id, "rollback", "");
}
Result<Secret> ApiClient::RevokeSecret(std::string_view name_or_id) {
  return SecretCall(name_or_id, "revoke", "");
}

Result<std::vector<SecretHolder>> ApiClient::HoldersOf(std::string_view kind,
                                                       std::string_view name_or_id) {
  ASSIGN_OR_RETURN(HttpResponse r,
                   Call("GET", "/v1/" + std::string(kind) + "/" + EscapePathSegment(name_or_id) +
                                   "/holders",
                        ""),
                   "");
  auto holders = ParseSecretHolders(r.body);
  if (!holders.ok()) return DataLoss(holders.status());
  return holders;
}
Result<std::vector<SecretHolder>> ApiClient::SecretHolders(std::string_view name_or_id) {
  return HoldersOf("secrets", name_or_id);
}
Result<std::vector<SecretHolder>> ApiClient::ServiceHolders(std::string_view name_or_id) {
  return HoldersOf("services", name_or_id);
}

Result<std::string> ApiClient::CreateService(const ServiceSpec& spec) {
  ASSIGN_OR_RETURN(HttpResponse r, Call("POST", "/v1/services", ToJson(spec)), "");
  return ParseCreatedId(r.body);
}

Result<std::vector<Service>> ApiClient::ListServices() {
  ASSIGN_OR_RETURN(HttpResponse r, Call("GET", "/v1/services", ""), "");
  auto list = ParseServiceList(r.body);
  if (!list.ok()) return DataLoss(list.status());
  return list;
}

Result<Service> ApiClient::InspectService(std::string_view name_or_id) {
  ASSIGN_OR_RETURN(HttpResponse r, Call("GET", "/v1/services/" + EscapePathSegment(name_or_id), ""),
                   "");
  auto s = ParseService(r.body);
  if (!s.ok()) return DataLoss(s.status());
  return s;
}

Status ApiClient::UpdateService(std::string_view name_or_id, std::uint64_t version,
                                const ServiceSpec& spec) {
  return Call("POST",
              "/v1/services/" + EscapePathSegment(name_or_id) +
                  "/update?version=" + std::to_string(version),
              ToJson(spec))
      .status();
}

Status ApiClient::RemoveService(std::string_view name_or_id) {
  return Call("DELETE", "/v1/services/" + EscapePathSegment(name_or_id), "").status();
}

Result<LeaseGrant> ApiClient::Lease(const LeaseRequest& req) {
  ASSIGN_OR_RETURN(HttpResponse r, Call("POST", "/v1/leases", ToJson(req)), "");
  auto grant = ParseLeaseGrant(r.body);
  WipeString(r.body);
  if (!grant.ok()) return DataLoss(grant.status());
  return grant;
}

Status ApiClient::EndLease(std::string_view container_id) {
  auto r = Call("DELETE", "/v1/leases/" + EscapePathSegment(container_id), "");
  if (!r.ok() && r.status().code() == StatusCode::kNotFound) return Status::Ok();
  return r.status();
}

}  // namespace ocisecrets
