// Readers of one JSON field each, for the parsers of the API's objects (models.cc,
// cluster_models.cc). Each treats an absent or null field as "not given" (the output is
// left as it was) and answers a wrong type with InvalidArgument "field F: must be ...",
// never echoing the value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets::json_fields {

using nlohmann::json;

// The document, or InvalidArgument "<what>: malformed JSON".
Result<json> ParseDocument(std::string_view text, const char* what);
Status WrongType(const char* field, const char* want);
Status GetString(const json& j, const char* field, std::string* out);
Status GetStrings(const json& j, const char* field, std::vector<std::string>* out);
Status GetLabels(const json& j, const char* field, Labels* out);
// A 32-bit id given as Docker's decimal string or as a number.
Status GetId(const json& j, const char* field, std::uint32_t* out);
Status GetUint(const json& j, const char* field, std::uint64_t max, std::uint64_t* out);
Status GetInt(const json& j, const char* field, std::int64_t* out);
Status GetBool(const json& j, const char* field, bool* out);
// A time as FormatTime writes it; "" is "not given".
Status GetTime(const json& j, const char* field, TimePoint* out);

}  // namespace ocisecrets::json_fields
