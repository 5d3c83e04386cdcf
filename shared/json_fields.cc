#include "shared/json_fields.h"

#include <charconv>

namespace ocisecrets::json_fields {

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

Status GetStrings(const json& j, const char* field, std::vector<std::string>* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return WrongType(field, "an array of strings");
  std::vector<std::string> v;
  for (const auto& e : *it) {
    if (!e.is_string()) return WrongType(field, "an array of strings");
    v.push_back(e.get<std::string>());
  }
  *out = std::move(v);
  return Status::Ok();
}

Status GetInt(const json& j, const char* field, std::int64_t* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer()) return WrongType(field, "an integer");
  *out = it->get<std::int64_t>();
  return Status::Ok();
}

Status GetBool(const json& j, const char* field, bool* out) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return WrongType(field, "true or false");
  *out = it->get<bool>();
  return Status::Ok();
}

}  // namespace ocisecrets::json_fields
