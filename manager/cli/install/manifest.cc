#include "manager/cli/install/manifest.h"

#include <initializer_list>

namespace ocisecrets::install_internal {
namespace {

using Pointer = Json::json_pointer;

// The shape of the manifest's records, as install writes them: every field install and
// uninstall read, with its type. Checked whole when the manifest is loaded, so that a file
// edited by hand into another shape is refused before anything is added or undone.
struct FieldRule {
  const char* name;
  enum Kind { kString, kBool, kPointer, kStringOrNull, kAny } kind;
  bool optional = false;
};

bool IsPointer(const Json& v) {
  if (!v.is_string()) return false;
  try {
    Pointer p(v.get<std::string>());
  } catch (const Json::exception&) {
    return false;
  }
  return true;
}

// `obj` is an object holding every field of `rules` with its kind; `at` names it.
Status CheckFields(const Json& obj, const std::string& at, std::initializer_list<FieldRule> rules) {
  if (!obj.is_object()) return Status::DataLoss(at + ": must be an object");
  for (const FieldRule& r : rules) {
    auto it = obj.find(r.name);
    if (it == obj.end()) {
      if (r.optional) continue;
      return Status::DataLoss(at + "." + r.name + ": missing");
    }
    bool ok = true;
    switch (r.kind) {
      case FieldRule::kString: ok = it->is_string(); break;
      case FieldRule::kBool: ok = it->is_boolean(); break;
      case FieldRule::kPointer: ok = IsPointer(*it); break;
      case FieldRule::kStringOrNull: ok = it->is_string() || it->is_null(); break;
      case FieldRule::kAny: break;
    }
    if (!ok) return Status::DataLoss(at + "." + r.name + ": wrong type");
  }
  return Status::Ok();
}

// `record[key]`, when present, is an array whose every element passes `check`.
template <typename Check>
Status CheckArray(const Json& record, const std::string& at, const char* key, Check check) {
  auto it = record.find(key);
  if (it == record.end()) return Status::Ok();
  if (!it->is_array()) return Status::DataLoss(at + "." + key + ": must be an array");
  for (const Json& e : *it) RETURN_IF_ERROR(check(e, at + "." + key + "[]"), "");
  return Status::Ok();
}

// One of json_edits: the file, its backup, the members install created and those it added.
Status CheckJsonEdit(const Json& edit, const std::string& at) {
  using R = FieldRule;
  RETURN_IF_ERROR(CheckFields(edit, at, {{"path", R::kString}, {"created_file", R::kBool},
                                         {"backup", R::kString}, {"created", R::kAny},
                                         {"adds", R::kAny}}),
                  "");
  RETURN_IF_ERROR(CheckArray(edit, at, "created",
                             [](const Json& c, const std::string& where) {
                               if (IsPointer(c)) return Status::Ok();
                               return Status::DataLoss(where + ": not a JSON pointer");
                             }),
                  "");
  return CheckArray(edit, at, "adds", [](const Json& add, const std::string& where) {
    return CheckFields(add, where, {{"pointer", R::kPointer}, {"name", R::kString},
                                    {"value", R::kAny}, {"previous", R::kAny, true}});
  });
}

Status CheckRecord(const Json& record, const std::string& at) {
  if (!record.is_object()) return Status::DataLoss(at + ": must be an object");
  using R = FieldRule;
  RETURN_IF_ERROR(CheckArray(record, at, "files",
                             [](const Json& f, const std::string& where) {
                               return CheckFields(f, where, {{"path", R::kString},
                                                             {"sha256", R::kString}});
                             }),
                  "");
  RETURN_IF_ERROR(CheckArray(record, at, "json_edits", CheckJsonEdit), "");
  if (record.contains("block_edit")) {
    RETURN_IF_ERROR(CheckFields(record["block_edit"], at + ".block_edit",
                                {{"path", R::kString}, {"created_file", R::kBool},
                                 {"separator", R::kString}, {"backup", R::kString},
                                 {"block", R::kString}}),
                    "");
  }
  if (record.contains("line_edit")) {
    // Written by installs of an older build only; its backup was optional.
    RETURN_IF_ERROR(CheckFields(record["line_edit"], at + ".line_edit",
                                {{"path", R::kString}, {"created_file", R::kBool},
                                 {"line", R::kString}, {"original", R::kStringOrNull},
                                 {"backup", R::kString, true}}),
                    "");
  }
  return Status::Ok();
}

}  // namespace

Json EmptyManifest() { return Json{{"version", 1}, {"engines", Json::object()}}; }

Result<Json> ParseManifest(const std::string& text, const std::string& where) {
  Json manifest = Json::parse(text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("engines") ||
      !manifest["engines"].is_object()) {
    return Status::DataLoss(where + ": not a valid manifest");
  }
  for (const auto& [engine, record] : manifest["engines"].items()) {
    RETURN_IF_ERROR(CheckRecord(record, "engines." + engine),
                    where + ": not a valid manifest (nothing was changed)");
  }
  return manifest;
}

}  // namespace ocisecrets::install_internal
