#include "shared/models.h"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace ocisecrets {
namespace {

using nlohmann::json;

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

Result<json> ParseDocument(std::string_view text, const char* what) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + ": malformed JSON");
  return j;
}

Status WrongType(const char* field, const char* want) {
  return Status::InvalidArgument(std::string("field ") + field + ": must be " + want);
}

// Optional string field: absent or null is "".
Status GetString(const json& j, const char* field, std::string* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return WrongType(field, "a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status GetLabels(const json& j, const char* field, Labels* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return WrongType(field, "an object of strings");
  for (auto l = it->begin(); l != it->end(); ++l) {
    if (!l->is_string()) return WrongType(field, "an object of strings");
    (*out)[l.key()] = l->get<std::string>();
  }
  return Status::Ok();
}

// A 32-bit id given as Docker's decimal string or as a number.
Status GetId(const json& j, const char* field, std::uint32_t* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  std::uint64_t v = 0;
  if (it->is_number_unsigned()) {
    v = it->get<std::uint64_t>();
  } else if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
      return WrongType(field, "a decimal id");
    }
  } else {
    return WrongType(field, "a decimal id");
  }
  if (v > 4294967294ULL) return Status::InvalidArgument(std::string("field ") + field + ": out of range");
  *out = static_cast<std::uint32_t>(v);
  return Status::Ok();
}

Status GetUint(const json& j, const char* field, std::uint64_t max, std::uint64_t* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_unsigned()) return WrongType(field, "a non-negative integer");
  std::uint64_t v = it->get<std::uint64_t>();
  if (v > max) return Status::InvalidArgument(std::string("field ") + field + ": out of range");
  *out = v;
  return Status::Ok();
}

Status GetTime(const json& j, const char* field, TimePoint* out) {
  std::string s;
  RETURN_IF_ERROR(GetString(j, field, &s), "");
  if (s.empty()) return Status::Ok();
  auto t = ParseTime(s);
  if (!t.ok()) return t.status().WithContext(std::string("field ") + field);
  *out = *t;
  return Status::Ok();
}

json SecretSpecJson(const SecretSpec& s) {
  return json{{"Name", s.name}, {"Labels", s.labels}, {"Driver", nullptr}};
}

json SecretJson(const Secret& s) {
  return json{{"ID", s.id},
              {"Version", {{"Index", s.version}}},
              {"CreatedAt", FormatTime(s.created_at)},
              {"UpdatedAt", FormatTime(s.updated_at)},
              {"Spec", SecretSpecJson(s.spec)}};
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
  return json{{"Name", s.name}, {"SecretsDir", s.secrets_dir}, {"Labels", s.labels},
              {"Secrets", secrets}};
}

json ServiceJson(const Service& s) {
  json leases = json::array();
  for (const auto& l : s.leases) {
    leases.push_back({{"ContainerID", l.container_id},
                      {"CreatedAt", FormatTime(l.created_at)},
                      {"ExpiresAt", FormatTime(l.expires_at)}});
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

Result<Secret> SecretFrom(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("secret: must be an object");
  Secret s;
  RETURN_IF_ERROR(GetString(j, "ID", &s.id), "secret");
  RETURN_IF_ERROR(VersionFrom(j, &s.version), "secret");
  RETURN_IF_ERROR(GetTime(j, "CreatedAt", &s.created_at), "secret");
  RETURN_IF_ERROR(GetTime(j, "UpdatedAt", &s.updated_at), "secret");
  auto spec = j.find("Spec");
  if (spec != j.end()) {
    ASSIGN_OR_RETURN(s.spec, SecretSpecFrom(*spec), "secret");
  }
  return s;
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
      RETURN_IF_ERROR(GetTime(e, "CreatedAt", &l.created_at), "service: Leases");
      RETURN_IF_ERROR(GetTime(e, "ExpiresAt", &l.expires_at), "service: Leases");
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

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::size_t Base64Size(std::size_t size) { return (size + 2) / 3 * 4; }

// Writes the Base64Size(size) characters of data's encoding at dst.
void Base64EncodeTo(char* dst, const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    *dst++ = kB64[(v >> 18) & 63];
    *dst++ = kB64[(v >> 12) & 63];
    *dst++ = kB64[(v >> 6) & 63];
    *dst++ = kB64[v & 63];
  }
  if (i + 1 == size) {
    std::uint32_t v = data[i] << 16;
    *dst++ = kB64[(v >> 18) & 63];
    *dst++ = kB64[(v >> 12) & 63];
    *dst++ = '=';
    *dst++ = '=';
  } else if (i + 2 == size) {
    std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    *dst++ = kB64[(v >> 18) & 63];
    *dst++ = kB64[(v >> 12) & 63];
    *dst++ = kB64[(v >> 6) & 63];
    *dst++ = '=';
  }
}


int B64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string FormatTime(TimePoint t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto nanos = (t - secs).count();
  std::time_t tt = Clock::to_time_t(std::chrono::time_point_cast<Clock::duration>(secs));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(nanos));
  return buf;
}

Result<TimePoint> ParseTime(std::string_view str) {
  // Fixed layout YYYY-MM-DDTHH:MM:SS, digits only (no sign, no blanks), then fields in range.
  // The input is never echoed: it is untrusted and may be long or hold line breaks.
  static constexpr char kLayout[] = "dddd-dd-ddTdd:dd:dd";
  if (str.size() < 20) return Status::InvalidArgument("bad time: want RFC 3339 UTC");
  for (std::size_t k = 0; k < 19; ++k) {
    bool ok = kLayout[k] == 'd' ? (str[k] >= '0' && str[k] <= '9') : str[k] == kLayout[k];
    if (!ok) return Status::InvalidArgument("bad time: want RFC 3339 UTC");
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t k = pos; k < pos + len; ++k) v = v * 10 + (str[k] - '0');
    return v;
  };
  int year = num(0, 4), mon = num(5, 2), day = num(8, 2);
  int hour = num(11, 2), min = num(14, 2), sec = num(17, 2);
  // TimePoint counts nanoseconds in 64 bits: it ends in April 2262.
  if (year < 1970 || year > 2261 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
      min > 59 || sec > 59) {
    return Status::InvalidArgument("bad time: field out of range");
  }
  long long nanos = 0;
  std::size_t i = 19;
  if (i < str.size() && str[i] == '.') {
    ++i;
    int digits = 0;
    while (i < str.size() && str[i] >= '0' && str[i] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (str[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return Status::InvalidArgument("bad time: empty fraction");
    for (; digits < 9; ++digits) nanos *= 10;
  }
  if (i + 1 != str.size() || str[i] != 'Z') {
    return Status::InvalidArgument("bad time: want a trailing Z");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  std::time_t tt = timegm(&tm);
  return TimePoint(std::chrono::seconds(tt)) + std::chrono::nanoseconds(nanos);
}

std::string ToJson(const Secret& s) { return SecretJson(s).dump(); }
// Lists are written one element at a time: a list of 100,000 secrets never becomes one
// DOM (hundreds of MiB at peak), and the bytes are those of the whole array's dump.
namespace {
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

std::string ToJson(const std::vector<Secret>& v) { return ListJson(v, SecretJson); }
std::string ToJson(const SecretSpec& s) { return SecretSpecJson(s).dump(); }
std::string ToJson(const ServiceSpec& s) { return ServiceSpecJson(s).dump(); }
std::string ToJson(const Service& s) { return ServiceJson(s).dump(); }
std::string ToJson(const std::vector<Service>& v) { return ListJson(v, ServiceJson); }
std::string ToJson(const LeaseRequest& r) {
  return json{{"ContainerID", r.container_id}, {"Service", r.service}}.dump();
}

// The grant is what every container start waits for, and its payloads are most of it:
// written by hand into one buffer sized up front, so base64 text is neither escaped
// character by character nor left behind in buffers a growing string frees unwiped.
// Same bytes as nlohmann's compact dump (keys in its sorted order).
std::string ToJson(const LeaseGrant& g) {
  auto quoted = [](const std::string& s) {
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  const std::string container = quoted(g.container_id);
  const std::string expires = quoted(FormatTime(g.expires_at));
  const std::string dir = quoted(g.secrets_dir);
  const std::string service = quoted(g.service);
  std::vector<std::string> names;
  names.reserve(g.files.size());
  std::size_t size = 80 + container.size() + expires.size() + dir.size() + service.size();
  for (const auto& f : g.files) {
    names.push_back(quoted(f.name));
    size += 64 + names.back().size() + Base64Size(f.data.size());
  }
  std::string out;
  out.reserve(size);
  out += "{\"ContainerID\":";
  out += container;
  out += ",\"ExpiresAt\":";
  out += expires;
  out += ",\"Files\":[";
  for (std::size_t i = 0; i < g.files.size(); ++i) {
    const LeasedFile& f = g.files[i];
    if (i > 0) out += ',';
    out += "{\"Data\":\"";
    std::size_t at = out.size();
    out.resize(at + Base64Size(f.data.size()));  // within the reserved capacity
    Base64EncodeTo(out.data() + at, f.data.data(), f.data.size());
    out += "\",\"GID\":";
    out += std::to_string(f.gid);
    out += ",\"Mode\":";
    out += std::to_string(f.mode);
    out += ",\"Name\":";
    out += names[i];
    out += ",\"UID\":";
    out += std::to_string(f.uid);
    out += '}';
  }
  out += "],\"SecretsDir\":";
  out += dir;
  out += ",\"Service\":";
  out += service;
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

Result<Secret> ParseSecret(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "secret"), "");
  return SecretFrom(j);
}
Result<std::vector<Secret>> ParseSecretList(std::string_view text) {
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
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "lease request"), "");
  if (!j.is_object()) return Status::InvalidArgument("lease request: must be an object");
  LeaseRequest r;
  RETURN_IF_ERROR(GetString(j, "ContainerID", &r.container_id), "lease request");
  RETURN_IF_ERROR(GetString(j, "Service", &r.service), "lease request");
  return r;
}

Result<LeaseGrant> ParseLeaseGrant(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "lease"), "");
  auto parse = [&]() -> Result<LeaseGrant> {
    if (!j.is_object()) return Status::InvalidArgument("lease: must be an object");
    LeaseGrant g;
    RETURN_IF_ERROR(GetString(j, "ContainerID", &g.container_id), "lease");
    RETURN_IF_ERROR(GetString(j, "Service", &g.service), "lease");
    RETURN_IF_ERROR(GetString(j, "SecretsDir", &g.secrets_dir), "lease");
    RETURN_IF_ERROR(GetTime(j, "ExpiresAt", &g.expires_at), "lease");
    auto files = j.find("Files");
    if (files == j.end() || !files->is_array()) return WrongType("Files", "an array");
    for (const auto& e : *files) {
      if (!e.is_object()) return WrongType("Files[]", "an object");
      LeasedFile f;
      std::uint64_t mode = 0444;
      RETURN_IF_ERROR(GetString(e, "Name", &f.name), "lease: Files");
      RETURN_IF_ERROR(GetId(e, "UID", &f.uid), "lease: Files");
      RETURN_IF_ERROR(GetId(e, "GID", &f.gid), "lease: Files");
      RETURN_IF_ERROR(GetUint(e, "Mode", 07777, &mode), "lease: Files");
      f.mode = static_cast<std::uint32_t>(mode);
      auto data = e.find("Data");
      if (data == e.end() || !data->is_string()) return WrongType("Data", "a base64 string");
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

std::string Base64Encode(const std::uint8_t* data, std::size_t size) {
  std::string out(Base64Size(size), '\0');
  Base64EncodeTo(out.data(), data, size);
  return out;
}

Result<SecretBytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("invalid base64: length");
  SecretBytes out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      unsigned char c = static_cast<unsigned char>(text[i + k]);
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = B64Value(c)) < 0) {
        return Status::InvalidArgument("invalid base64: bad character");
      }
    }
    std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<std::uint8_t>(n >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>(n >> 8));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(n));
  }
  return out;
}

}  // namespace ocisecrets
