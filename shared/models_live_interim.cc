// Interim JSON of the live-secrets objects (shared/models.h) so that the change feed's
// route and the CLI build and test on their own branch. models.cc gains the real
// readers and writers of these (all the readers, old records, the exact messages): this
// file is then deleted whole. Plain nlohmann, compact, sorted keys.
#include <nlohmann/json.hpp>

#include "shared/base64.h"
#include "shared/models.h"

namespace ocisecrets {
namespace {

using json = nlohmann::json;

Result<json> ParseObject(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || (!j.is_object() && !j.is_array())) {
    return Status::InvalidArgument(std::string(what) + ": malformed JSON");
  }
  return j;
}

template <class F>
Status Field(std::string_view what, std::string_view field, F f) {
  try {
    f();
    return Status::Ok();
  } catch (const json::exception&) {
    return Status::InvalidArgument(std::string(what) + ": field " + std::string(field) +
                                   ": wrong type");
  }
}

Result<TimePoint> TimeOf(const json& j, const char* key) {
  if (!j.contains(key)) return TimePoint{};
  if (!j[key].is_string()) return Status::InvalidArgument(std::string("field ") + key + ": wrong type");
  return ParseTime(j[key].get<std::string>());
}

}  // namespace

std::string ToJson(const std::vector<SecretHolder>& v) {
  json a = json::array();
  for (const SecretHolder& h : v) {
    a.push_back({{"ContainerID", h.container_id}, {"NodeID", h.node_id},
                 {"SecretID", h.secret_id}, {"SecretName", h.secret_name},
                 {"ServiceID", h.service_id}, {"ServiceName", h.service_name},
                 {"Since", FormatTime(h.since)}, {"Version", h.version}});
  }
  return a.dump();
}

Result<std::vector<SecretHolder>> ParseSecretHolders(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text, "holders"), "");
  if (!j.is_array()) return Status::InvalidArgument("holders: want a list");
  std::vector<SecretHolder> out;
  for (const json& e : j) {
    SecretHolder h;
    RETURN_IF_ERROR(Field("holders", "ContainerID", [&] {
      h.container_id = e.value("ContainerID", "");
      h.node_id = e.value("NodeID", "");
      h.secret_id = e.value("SecretID", "");
      h.secret_name = e.value("SecretName", "");
      h.service_id = e.value("ServiceID", "");
      h.service_name = e.value("ServiceName", "");
      h.version = e.value("Version", std::uint64_t{0});
    }), "");
    ASSIGN_OR_RETURN(h.since, TimeOf(e, "Since"), "holders");
    out.push_back(std::move(h));
  }
  return out;
}

std::string ToJson(const SecretRotateRequest& r) {
  std::string out = R"({"Data":")";
  out += Base64Encode(r.data.data(), r.data.size());
  out += "\"";
  if (r.overlap_seconds > 0) out += ",\"OverlapSeconds\":" + std::to_string(r.overlap_seconds);
  out += "}";
  return out;
}

std::string ToJson(const ChangesRequest& r) {
  return json{{"Epoch", r.epoch}, {"Secrets", r.secrets}, {"Services", r.services},
              {"Since", r.since}, {"WaitMs", r.wait_ms}}
      .dump();
}

Result<ChangesRequest> ParseChangesRequest(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text, "changes"), "");
  if (!j.is_object()) return Status::InvalidArgument("changes: want an object");
  ChangesRequest r;
  RETURN_IF_ERROR(Field("changes", "Epoch", [&] { r.epoch = j.value("Epoch", ""); }), "");
  RETURN_IF_ERROR(Field("changes", "Since", [&] { r.since = j.value("Since", std::uint64_t{0}); }), "");
  RETURN_IF_ERROR(Field("changes", "Secrets", [&] {
    r.secrets = j.value("Secrets", std::vector<std::string>{});
  }), "");
  RETURN_IF_ERROR(Field("changes", "Services", [&] {
    r.services = j.value("Services", std::vector<std::string>{});
  }), "");
  RETURN_IF_ERROR(Field("changes", "WaitMs", [&] { r.wait_ms = j.value("WaitMs", std::uint64_t{0}); }), "");
  return r;
}

std::string ToJson(const ChangesResponse& r) {
  json j{{"Changed", r.changed}, {"Epoch", r.epoch}, {"Reset", r.reset}, {"Revision", r.revision}};
  if (r.changed_at != TimePoint{}) j["ChangedAt"] = FormatTime(r.changed_at);
  return j.dump();
}

Result<ChangesResponse> ParseChangesResponse(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text, "changes"), "");
  if (!j.is_object()) return Status::InvalidArgument("changes: want an object");
  ChangesResponse r;
  RETURN_IF_ERROR(Field("changes", "Changed", [&] {
    r.epoch = j.value("Epoch", "");
    r.revision = j.value("Revision", std::uint64_t{0});
    r.reset = j.value("Reset", false);
    r.changed = j.value("Changed", std::vector<std::string>{});
  }), "");
  ASSIGN_OR_RETURN(r.changed_at, TimeOf(j, "ChangedAt"), "changes");
  return r;
}

}  // namespace ocisecrets
