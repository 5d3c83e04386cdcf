#include "shared/models.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
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
    json lease{{"ContainerID", l.container_id},
               {"CreatedAt", FormatTime(l.created_at)},
               {"ExpiresAt", FormatTime(l.expires_at)}};
    if (!l.node_id.empty()) lease["NodeID"] = l.node_id;
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
      RETURN_IF_ERROR(GetString(e, "NodeID", &l.node_id), "service: Leases");
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

// Every 12-bit value's two characters: a lease of 10 secrets of 4 KiB encodes 40 KiB on
// the container's start path, two lookups per 3 bytes instead of four.
constexpr std::array<std::array<char, 2>, 4096> kB64Pairs = [] {
  std::array<std::array<char, 2>, 4096> t{};
  for (std::size_t v = 0; v < 4096; ++v) t[v] = {kB64[v >> 6], kB64[v & 63]};
  return t;
}();

// Writes the Base64Size(size) characters of data's encoding at dst.
void Base64EncodeTo(char* dst, const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    std::memcpy(dst, kB64Pairs[v >> 12].data(), 2);
    std::memcpy(dst + 2, kB64Pairs[v & 4095].data(), 2);
    dst += 4;
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

// Each byte's value in the alphabet, -1 for a byte outside it ('=' included).
constexpr std::array<std::int8_t, 256> kB64Values = [] {
  std::array<std::int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kB64[i])] = static_cast<std::int8_t>(i);
  return t;
}();

// Decodes padded standard base64 into *out, sized once (no copy of a payload is freed on
// the way). False for a length that is not a multiple of 4, a byte outside the alphabet, or
// '=' anywhere but the last two places; *out then holds garbage the caller discards.
bool Base64DecodeInto(std::string_view text, SecretBytes* out) {
  const std::size_t size = text.size();
  if (size % 4 != 0) return false;
  std::size_t pad = 0;
  if (size > 0 && text[size - 1] == '=') pad = text[size - 2] == '=' ? 2 : 1;
  out->resize(size / 4 * 3 - pad);
  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  std::uint8_t* dst = out->data();
  int bad = 0;  // negative once any byte is outside the alphabet
  auto quad = [&](std::size_t i, int n_out) {
    const int a = kB64Values[src[i]];
    const int b = kB64Values[src[i + 1]];
    const int c = n_out > 1 ? kB64Values[src[i + 2]] : 0;
    const int d = n_out > 2 ? kB64Values[src[i + 3]] : 0;
    bad |= a | b | c | d;
    const std::uint32_t v = (static_cast<std::uint32_t>(a) << 18) |
                            (static_cast<std::uint32_t>(b) << 12) |
                            (static_cast<std::uint32_t>(c) << 6) | static_cast<std::uint32_t>(d);
    *dst++ = static_cast<std::uint8_t>(v >> 16);
    if (n_out > 1) *dst++ = static_cast<std::uint8_t>(v >> 8);
    if (n_out > 2) *dst++ = static_cast<std::uint8_t>(v);
  };
  const std::size_t full = pad == 0 ? size : size - 4;
  for (std::size_t i = 0; i < full; i += 4) quad(i, 3);
  if (pad > 0) quad(full, 3 - static_cast<int>(pad));
  return bad >= 0;
}

}  // namespace

namespace {

// FormatTime by way of gmtime and printf: for the years AppendTime does not write itself.
std::string FormatTimeSlow(TimePoint t) {
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

// Writes v as `width` decimal digits, zero-padded, ending just before end.
void PutDigits(char* end, unsigned long long v, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

void AppendTime(std::string& out, TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    out += FormatTimeSlow(t);
    return;
  }
  const auto in_day = duration_cast<nanoseconds>(t - day).count();  // [0, 86400e9)
  const auto sec_of_day = static_cast<unsigned long long>(in_day / 1'000'000'000);
  const auto nanos = static_cast<unsigned long long>(in_day % 1'000'000'000);
  char buf[] = "YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ";
  PutDigits(buf + 4, static_cast<unsigned>(year), 4);
  PutDigits(buf + 7, static_cast<unsigned>(ymd.month()), 2);
  PutDigits(buf + 10, static_cast<unsigned>(ymd.day()), 2);
  PutDigits(buf + 13, sec_of_day / 3600, 2);
  PutDigits(buf + 16, sec_of_day / 60 % 60, 2);
  PutDigits(buf + 19, sec_of_day % 60, 2);
  PutDigits(buf + 29, nanos, 9);
  out.append(buf, sizeof(buf) - 1);
}

std::string FormatTime(TimePoint t) {
  std::string out;
  out.reserve(30);
  AppendTime(out, t);
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  // Printable ASCII other than the quote and the backslash is written as is by nlohmann
  // too; anything else (escapes, UTF-8, invalid bytes) goes through nlohmann itself.
  bool plain = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += '"';
    out += s;
    out += '"';
    return;
  }
  out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
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
  // The civil calendar of <chrono> (timegm's locking and normalising cost more than the
  // rest of a listing's parse). As with timegm, a day past the month's end rolls over.
  using namespace std::chrono;
  const sys_days first{year_month_day{std::chrono::year(year), month(static_cast<unsigned>(mon)),
                                      std::chrono::day(1)}};
  const seconds since_epoch = (first + days(day - 1)).time_since_epoch() + hours(hour) +
                              minutes(min) + seconds(sec);
  return TimePoint(since_epoch) + nanoseconds(nanos);
}

namespace {

void AppendUint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
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
  out += "\",\"ID\":";
  AppendJsonString(out, s.id);
  out += ",\"Spec\":{\"Driver\":null,\"Labels\":";
  AppendLabels(out, s.spec.labels);
  out += ",\"Name\":";
  AppendJsonString(out, s.spec.name);
  out += "},\"UpdatedAt\":\"";
  AppendTime(out, s.updated_at);
  out += "\",\"Version\":{\"Index\":";
  AppendUint(out, s.version);
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
  return j.dump();
}

// The grant is what every container start waits for, and its payloads are most of it:
// written by hand into one buffer sized up front, so base64 text is neither escaped
// character by character nor left behind in buffers a growing string frees unwiped.
// Same bytes as nlohmann's compact dump (keys in its sorted order).
std::string ToJson(const LeaseGrant& g) {
  // Escaping writes at most 6 bytes per byte (\u00XX): with that bound the buffer never
  // grows, so no copy of a payload is freed unwiped on the way.
  std::size_t size = 160 + 6 * (g.container_id.size() + g.secrets_dir.size() + g.service.size());
  for (const auto& f : g.files) size += 80 + 6 * f.name.size() + Base64Size(f.data.size());
  std::string out;
  out.reserve(size);
  out += "{\"ContainerID\":";
  AppendJsonString(out, g.container_id);
  out += ",\"ExpiresAt\":\"";
  AppendTime(out, g.expires_at);
  out += "\",\"Files\":[";
  for (std::size_t i = 0; i < g.files.size(); ++i) {
    const LeasedFile& f = g.files[i];
    if (i > 0) out += ',';
    out += "{\"Data\":\"";
    const std::size_t at = out.size();
    out.resize(at + Base64Size(f.data.size()));  // within the reserved capacity
    Base64EncodeTo(out.data() + at, f.data.data(), f.data.size());
    out += "\",\"GID\":";
    AppendUint(out, f.gid);
    out += ",\"Mode\":";
    AppendUint(out, f.mode);
    out += ",\"Name\":";
    AppendJsonString(out, f.name);
    out += ",\"UID\":";
    AppendUint(out, f.uid);
    out += '}';
  }
  out += "],\"SecretsDir\":";
  AppendJsonString(out, g.secrets_dir);
  out += ",\"Service\":";
  AppendJsonString(out, g.service);
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

// Reads JSON in exactly the form our own writers give it, with plain strings (printable
// ASCII but the quote and the backslash): what the registry stores, the server sends and
// the clients send. Each Read* is false on any other form, and a general reader decides;
// no text it accepts reads differently through the DOM.
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view text)
      : p_(text.data()), end_(text.data() + text.size()) {}

  bool AtEnd() const { return p_ == end_; }

  bool Lit(std::string_view lit) {
    if (static_cast<std::size_t>(end_ - p_) < lit.size() ||
        std::memcmp(p_, lit.data(), lit.size()) != 0) {
      return false;
    }
    p_ += lit.size();
    return true;
  }

  bool Plain(std::string_view* out) {
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = ++p_;
    for (; p_ < end_ && *p_ != '"'; ++p_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c < 0x20 || c >= 0x7f || c == '\\') return false;
    }
    if (p_ == end_) return false;
    *out = std::string_view(start, static_cast<std::size_t>(p_ - start));
    ++p_;
    return true;
  }

  bool Str(std::string* out) {
    std::string_view v;
    if (!Plain(&v)) return false;
    out->assign(v);
    return true;
  }

  // JSON's unsigned integer: no leading zero, no sign, fits 64 bits.
  bool Uint(std::uint64_t* out) {
    const char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ == start || (*start == '0' && p_ - start > 1)) return false;
    auto [ptr, ec] = std::from_chars(start, p_, *out);
    return ec == std::errc() && ptr == p_;
  }

  // A secret as AppendSecretJson writes it.
  bool ReadSecret(Secret* s) {
    std::string_view created, updated;
    if (!Lit("{\"CreatedAt\":") || !Plain(&created) || !Lit(",\"ID\":") || !Str(&s->id) ||
        !Lit(",\"Spec\":{\"Driver\":null,\"Labels\":{")) {
      return false;
    }
    if (!Lit("}")) {
      do {
        std::string_view k, v;
        if (!Plain(&k) || !Lit(":") || !Plain(&v)) return false;
        s->spec.labels.insert_or_assign(std::string(k), std::string(v));  // last one wins
      } while (Lit(","));
      if (!Lit("}")) return false;
    }
    return Lit(",\"Name\":") && Str(&s->spec.name) && Lit("},\"UpdatedAt\":") &&
           Plain(&updated) && Lit(",\"Version\":{\"Index\":") && Uint(&s->version) &&
           Lit("}}") && Time(created, &s->created_at) && Time(updated, &s->updated_at);
  }

  // A lease request as ToJson writes it, the whole text.
  bool ReadLeaseRequest(LeaseRequest* r) {
    return Lit("{\"ContainerID\":") && Str(&r->container_id) && Lit(",\"Service\":") &&
           Str(&r->service) && Lit("}") && AtEnd();
  }

  // A lease grant as ToJson writes it, the whole text. Each payload is decoded from the
  // text straight into its file's SecretBytes: no DOM, no intermediate copy.
  bool ReadLeaseGrant(LeaseGrant* g) {
    std::string_view expires;
    if (!Lit("{\"ContainerID\":") || !Str(&g->container_id) || !Lit(",\"ExpiresAt\":") ||
        !Plain(&expires) || !Time(expires, &g->expires_at) || !Lit(",\"Files\":[")) {
      return false;
    }
    if (!Lit("]")) {
      do {
        LeasedFile& f = g->files.emplace_back();
        std::uint64_t gid = 0;
        std::uint64_t mode = 0;
        std::uint64_t uid = 0;
        if (!Lit("{\"Data\":") || !Base64(&f.data) || !Lit(",\"GID\":") || !Id(&gid) ||
            !Lit(",\"Mode\":") || !Uint(&mode) || mode > 07777 || !Lit(",\"Name\":") ||
            !Str(&f.name) || !Lit(",\"UID\":") || !Id(&uid) || !Lit("}")) {
          return false;
        }
        f.gid = static_cast<std::uint32_t>(gid);
        f.mode = static_cast<std::uint32_t>(mode);
        f.uid = static_cast<std::uint32_t>(uid);
      } while (Lit(","));
      if (!Lit("]")) return false;
    }
    return Lit(",\"SecretsDir\":") && Str(&g->secrets_dir) && Lit(",\"Service\":") &&
           Str(&g->service) && Lit("}") && AtEnd();
  }

 private:
  // A uid or gid as GetId takes it (up to 2^32 - 2; -1 means "unchanged" to the kernel).
  bool Id(std::uint64_t* out) { return Uint(out) && *out <= 4294967294ULL; }

  // A quoted base64 string, decoded. The closing quote is found first; decoding then
  // refuses every byte outside the alphabet, escapes and control characters included.
  bool Base64(SecretBytes* out) {
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = p_ + 1;
    const void* quote = std::memchr(start, '"', static_cast<std::size_t>(end_ - start));
    if (quote == nullptr) return false;
    p_ = static_cast<const char*>(quote) + 1;
    return Base64DecodeInto(std::string_view(start, static_cast<std::size_t>(p_ - 1 - start)), out);
  }

  // Non-empty (an empty time means "none" to SecretFrom: left to the general reader).
  static bool Time(std::string_view text, TimePoint* out) {
    if (text.empty()) return false;
    auto t = ParseTime(text);
    if (!t.ok()) return false;
    *out = *t;
    return true;
  }

  const char* p_;
  const char* end_;
};

// Reads secrets straight from the text, without a DOM: one object, or an array of them
// (a list of 100,000 secrets, or every stored record of a listing). It accepts only the
// shapes SecretFrom accepts and gives the same result; on anything else (a wrong type, a
// repeated field, a bad time, malformed text) it stops, and the caller takes the DOM path,
// which names the problem.
class SecretSax {
 public:
  explicit SecretSax(bool list) : list_(list) {}

  std::vector<Secret> secrets;

  bool null() { return Scalar(Kind::kNull, nullptr, 0); }
  bool boolean(bool) { return Scalar(Kind::kOther, nullptr, 0); }
  bool number_integer(json::number_integer_t) { return Scalar(Kind::kOther, nullptr, 0); }
  bool number_unsigned(json::number_unsigned_t v) { return Scalar(Kind::kUnsigned, nullptr, v); }
  bool number_float(json::number_float_t, const std::string&) {
    return Scalar(Kind::kOther, nullptr, 0);
  }
  bool string(std::string& v) { return Scalar(Kind::kString, &v, 0); }
  bool binary(json::binary_t&) { return false; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

  bool start_object(std::size_t) {
    if (skip_ > 0) return ++skip_, true;
    switch (level()) {
      case Level::kTop:
        if (list_) return false;
        return StartSecret();
      case Level::kList:
        return StartSecret();
      case Level::kSecret:
        if (field_ == Field::kVersion) return Push(Level::kVersion);
        if (field_ == Field::kSpec) return Push(Level::kSpec);
        break;
      case Level::kSpec:
        if (field_ == Field::kLabels) return Push(Level::kLabels);
        break;
      default:
        break;
    }
    return SkipUnknown();
  }
  bool end_object() {
    if (skip_ > 0) return --skip_, true;
    Level done = level();
    --depth_;
    field_ = Field::kUnknown;
    if (done == Level::kSecret) secrets.push_back(std::move(current_));
    return true;
  }
  bool start_array(std::size_t) {
    if (skip_ > 0) return ++skip_, true;
    if (level() == Level::kTop) return list_ && Push(Level::kList);
    return SkipUnknown();
  }
  bool end_array() {
    if (skip_ > 0) return --skip_, true;
    --depth_;
    return true;
  }
  bool key(std::string& k) {
    if (skip_ > 0) return true;
    field_ = Field::kUnknown;
    switch (level()) {
      case Level::kSecret:
        if (k == "ID") return Known(Field::kId);
        if (k == "Version") return Known(Field::kVersion);
        if (k == "CreatedAt") return Known(Field::kCreatedAt);
        if (k == "UpdatedAt") return Known(Field::kUpdatedAt);
        if (k == "Spec") return Known(Field::kSpec);
        return true;
      case Level::kVersion:
        if (k == "Index") return Known(Field::kIndex);
        return true;
      case Level::kSpec:
        if (k == "Name") return Known(Field::kName);
        if (k == "Labels") return Known(Field::kLabels);
        return true;
      case Level::kLabels:
        label_ = std::move(k);
        field_ = Field::kLabelValue;
        return true;
      default:
        return false;
    }
  }

 private:
  enum class Level { kTop, kList, kSecret, kVersion, kSpec, kLabels };
  enum class Field {
    kUnknown, kId, kVersion, kCreatedAt, kUpdatedAt, kSpec, kIndex, kName, kLabels, kLabelValue
  };
  enum class Kind { kNull, kString, kUnsigned, kOther };
  static constexpr int kMaxDepth = 5;

  Level level() const { return depth_ == 0 ? Level::kTop : stack_[depth_ - 1]; }
  bool Push(Level l) {
    if (depth_ == kMaxDepth) return false;
    stack_[depth_++] = l;
    seen_[depth_ - 1] = 0;
    field_ = Field::kUnknown;
    return true;
  }
  bool StartSecret() {
    current_ = Secret{};
    return Push(Level::kSecret);
  }
  // A field SecretFrom reads: twice in one object is left to the DOM path (last one wins).
  bool Known(Field f) {
    unsigned bit = 1u << static_cast<unsigned>(f);
    if (seen_[depth_ - 1] & bit) return false;
    seen_[depth_ - 1] |= bit;
    field_ = f;
    return true;
  }
  // An object or array as the value of a field SecretFrom ignores is skipped whole.
  bool SkipUnknown() {
    if (field_ != Field::kUnknown) return false;
    if (level() == Level::kTop || level() == Level::kList || level() == Level::kLabels) {
      return false;
    }
    skip_ = 1;
    return true;
  }
  bool Time(Kind kind, std::string* v, TimePoint* out) {
    if (kind == Kind::kNull) return true;
    if (kind != Kind::kString) return false;
    if (v->empty()) return true;
    auto t = ParseTime(*v);
    if (!t.ok()) return false;
    *out = *t;
    return true;
  }
  bool Scalar(Kind kind, std::string* v, std::uint64_t u) {
    if (skip_ > 0) return true;
    const Field f = field_;
    field_ = Field::kUnknown;
    switch (level()) {
      case Level::kSecret:
        switch (f) {
          case Field::kId:
            if (kind == Kind::kString) current_.id = std::move(*v);
            return kind == Kind::kString || kind == Kind::kNull;
          case Field::kCreatedAt:
            return Time(kind, v, &current_.created_at);
          case Field::kUpdatedAt:
            return Time(kind, v, &current_.updated_at);
          case Field::kVersion:
            return kind == Kind::kNull;
          case Field::kSpec:
            return false;  // SecretFrom wants an object, even rather than null
          default:
            return true;
        }
      case Level::kVersion:
        if (f != Field::kIndex) return true;
        if (kind == Kind::kUnsigned) current_.version = u;
        return kind == Kind::kUnsigned || kind == Kind::kNull;
      case Level::kSpec:
        if (f == Field::kName) {
          if (kind == Kind::kString) current_.spec.name = std::move(*v);
          return kind == Kind::kString || kind == Kind::kNull;
        }
        if (f == Field::kLabels) return kind == Kind::kNull;
        return true;
      case Level::kLabels:
        if (kind != Kind::kString) return false;
        current_.spec.labels[label_] = std::move(*v);
        return true;
      default:
        return false;  // a bare value where an object or array belongs
    }
  }

  const bool list_;
  Level stack_[kMaxDepth] = {};
  unsigned seen_[kMaxDepth] = {};
  int depth_ = 0;
  int skip_ = 0;  // > 0: inside an ignored value, this many levels deep
  Field field_ = Field::kUnknown;
  std::string label_;
  Secret current_;
};

// Reads the canonical form; false (out unspecified) for any other.
bool ParseCanonicalSecrets(std::string_view text, bool list, std::vector<Secret>* out) {
  CanonicalReader r(text);
  if (!list) return r.ReadSecret(&out->emplace_back()) && r.AtEnd();
  if (!r.Lit("[")) return false;
  if (r.Lit("]")) return r.AtEnd();
  do {
    if (!r.ReadSecret(&out->emplace_back())) return false;
  } while (r.Lit(","));
  return r.Lit("]") && r.AtEnd();
}

// The secrets in text by way of the canonical reader, else SecretSax; false when the DOM
// path must decide.
bool ParseSecretsFast(std::string_view text, bool list, std::vector<Secret>* out) {
  if (ParseCanonicalSecrets(text, list, out)) return true;
  out->clear();
  SecretSax sax(list);
  try {
    if (!json::sax_parse(text.begin(), text.end(), &sax)) return false;
  } catch (const std::exception&) {
    return false;
  }
  if (!list && sax.secrets.size() != 1) return false;
  *out = std::move(sax.secrets);
  return true;
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
  if (CanonicalReader(text).ReadLeaseRequest(&fast)) return fast;
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "lease request"), "");
  if (!j.is_object()) return Status::InvalidArgument("lease request: must be an object");
  LeaseRequest r;
  RETURN_IF_ERROR(GetString(j, "ContainerID", &r.container_id), "lease request");
  RETURN_IF_ERROR(GetString(j, "Service", &r.service), "lease request");
  RETURN_IF_ERROR(GetString(j, "NodeID", &r.node_id), "lease request");
  return r;
}

Result<LeaseGrant> ParseLeaseGrant(std::string_view text) {
  // Every container start with secrets reads one, holding every payload in base64: the
  // manager's form is read without a DOM; anything else goes the general way.
  {
    LeaseGrant fast;
    if (CanonicalReader(text).ReadLeaseGrant(&fast)) return fast;
  }
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "lease"), "");
  auto parse = [&]() -> Result<LeaseGrant> {
    if (!j.is_object()) return Status::InvalidArgument("lease: must be an object");
    LeaseGrant g;
    RETURN_IF_ERROR(GetString(j, "ContainerID", &g.container_id), "lease");
    RETURN_IF_ERROR(GetString(j, "Service", &g.service), "lease");
    RETURN_IF_ERROR(GetString(j, "SecretsDir", &g.secrets_dir), "lease");
    RETURN_IF_ERROR(GetTime(j, "ExpiresAt", &g.expires_at), "lease");
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

std::string Base64Encode(const std::uint8_t* data, std::size_t size) {
  std::string out(Base64Size(size), '\0');
  Base64EncodeTo(out.data(), data, size);
  return out;
}

Result<SecretBytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("invalid base64: length");
  SecretBytes out;
  if (!Base64DecodeInto(text, &out)) return Status::InvalidArgument("invalid base64: bad character");
  return out;
}

}  // namespace ocisecrets
