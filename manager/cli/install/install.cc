#include "manager/cli/install/install.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>

#include "hook/runtime/file_util.h"
#include "hook/runtime/shim_config.h"
#include "shared/validation.h"

namespace ocisecrets {
namespace {

using Json = nlohmann::ordered_json;
using Pointer = Json::json_pointer;

constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;
constexpr std::string_view kBackupSuffix = ".oci-secrets.bak";
constexpr std::string_view kDaemonJson = "/etc/docker/daemon.json";
constexpr std::string_view kContainerdConfig = "/etc/containerd/config.toml";
constexpr std::string_view kContainerdDropIn = "/etc/containerd/conf.d/oci-secrets.toml";
constexpr std::string_view kHooksDir = "/usr/share/containers/oci/hooks.d";

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

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
                                    {"value", R::kAny}});
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

// The state of one run of install or uninstall: options, manifest, report.
class Session {
 public:
  Session(Engine engine, const InstallOptions& options)
      : options_(options), name_(EngineName(engine)) {}

  Status LoadManifest() {
    ASSIGN_OR_RETURN(std::optional<std::string> text, ReadOptional(std::string(kManifestPath)),
                     "manifest");
    if (!text) {
      manifest_ = Json{{"version", 1}, {"engines", Json::object()}};
    } else {
      manifest_ = Json::parse(*text, nullptr, false);
      const std::string where = Host(std::string(kManifestPath));
      if (manifest_.is_discarded() || !manifest_.is_object() ||
          !manifest_.contains("engines") || !manifest_["engines"].is_object()) {
        return Status::DataLoss(where + ": not a valid manifest");
      }
      for (const auto& [engine, record] : manifest_["engines"].items()) {
        RETURN_IF_ERROR(CheckRecord(record, "engines." + engine),
                        where + ": not a valid manifest (nothing was changed)");
      }
    }
    return Status::Ok();
  }

  Status SaveManifest() {
    if (options_.dry_run || !manifest_dirty_) return Status::Ok();
    Json& engines = manifest_["engines"];
    if (engines.contains(name_) && Record().empty()) engines.erase(name_);
    std::string path = Host(std::string(kManifestPath));
    if (engines.empty()) {
      if (unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError("remove " + path, errno);
      return Status::Ok();
    }
    return WriteHostFile(std::string(kManifestPath), manifest_.dump(2) + "\n", 0600);
  }

  // This engine's record in the manifest.
  Json& Record() {
    Json& r = manifest_["engines"][name_];
    if (r.is_null()) r = Json::object();
    return r;
  }

  void Say(std::string line) { report_.lines.push_back(std::move(line)); }
  void Changed() { report_.changed = true; }
  InstallReport& report() { return report_; }
  const InstallOptions& options() const { return options_; }
  std::string Verb(std::string_view done, std::string_view would) const {
    return std::string(options_.dry_run ? would : done);
  }

  std::string Host(const std::string& path) const { return options_.root + path; }

  Result<std::optional<std::string>> ReadOptional(const std::string& path) const {
    Result<std::string> text = ReadFileBounded(Host(path), kMaxFileBytes);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
      return text.status();
    }
    return std::optional<std::string>(std::move(text).value());
  }

  // Writes `path` (unprefixed) atomically, keeping the mode and owner of an existing
  // file, creating missing parent directories (0755).
  Status WriteHostFile(const std::string& path, const std::string& content, mode_t new_mode) {
    std::string host = Host(path);
    struct stat st{};
    mode_t mode = new_mode;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (stat(host.c_str(), &st) == 0) {
      mode = st.st_mode & 07777;
      uid = st.st_uid;
      gid = st.st_gid;
    } else {
      RETURN_IF_ERROR(MakeParents(host), "write " + host);
    }
    return ReplaceFileAtomically(host, content, mode, uid, gid).WithContext("write " + host);
  }

  Status RemoveHostFile(const std::string& path) {
    std::string host = Host(path);
    if (unlink(host.c_str()) != 0 && errno != ENOENT) return PosixError("remove " + host, errno);
    return Status::Ok();
  }

  // Copies the current bytes of `path` to path.oci-secrets.bak unless a backup exists.
  Result<std::string> Backup(const std::string& path, const std::string& bytes) {
    std::string backup = path + std::string(kBackupSuffix);
    struct stat st{};
    if (stat(Host(backup).c_str(), &st) == 0) return backup;  // the first original stays
    if (!options_.dry_run) {
      struct stat orig{};
      mode_t mode = stat(Host(path).c_str(), &orig) == 0 ? (orig.st_mode & 07777) : 0600;
      RETURN_IF_ERROR(WriteHostFile(backup, bytes, mode), "backup");
    }
    return backup;
  }

  void MarkManifestDirty() { manifest_dirty_ = true; }

  // True when another engine's record lists the owned file `path`.
  bool OwnedByOtherEngine(const std::string& path) const {
    for (const auto& [engine, record] : manifest_["engines"].items()) {
      if (engine == name_ || !record.contains("files")) continue;
      for (const Json& f : record["files"]) {
        if (f.value("path", "") == path) return true;
      }
    }
    return false;
  }

  // The recorded hash of an owned file, from any engine's record.
  std::optional<std::string> RecordedHash(const std::string& path) const {
    for (const auto& [engine, record] : manifest_["engines"].items()) {
      if (!record.contains("files")) continue;
      for (const Json& f : record["files"]) {
        if (f.value("path", "") == path) return f.value("sha256", "");
      }
    }
    return std::nullopt;
  }

 private:
  static Status MakeParents(const std::string& file) {
    std::size_t pos = 1;
    while ((pos = file.find('/', pos)) != std::string::npos) {
      std::string dir = file.substr(0, pos);
      if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return PosixError("mkdir " + dir, errno);
      }
      ++pos;
    }
    return Status::Ok();
  }

  const InstallOptions& options_;
  std::string name_;
  Json manifest_;
  bool manifest_dirty_ = false;
  InstallReport report_;
};

// ---- files we own entirely (hooks.d JSON, drop-ins) ----

Status InstallOwnedFile(Session& s, const std::string& path, const std::string& content) {
  std::string host = s.Host(path);
  ASSIGN_OR_RETURN(std::optional<std::string> current, s.ReadOptional(path), "read " + host);
  std::string hash = Sha256Hex(content);
  Json& files = s.Record()["files"];
  if (files.is_null()) files = Json::array();
  bool recorded = std::any_of(files.begin(), files.end(),
                              [&](const Json& f) { return f.value("path", "") == path; });
  if (current && *current == content) {
    std::optional<std::string> known = s.RecordedHash(path);
    if (!known) {
      s.Say("unchanged: " + host + " (already there, not written by install: uninstall leaves it)");
      return Status::Ok();
    }
    s.Say("unchanged: " + host);
    if (recorded) return Status::Ok();
    // Written for another engine: record it for this one too, so it stays until both go.
  } else {
    if (current) {
      std::optional<std::string> known = s.RecordedHash(path);
      if (!known || *known != Sha256Hex(*current)) {
        return Status::FailedPrecondition(host +
                                          ": exists and was not written by oci-secrets; "
                                          "not overwriting it (move it away and retry)");
      }
    }
    if (!s.options().dry_run) RETURN_IF_ERROR(s.WriteHostFile(path, content, 0644), "");
    s.Say(s.Verb("wrote ", "would write ") + host);
    s.Changed();
  }
  {
    files.erase(std::remove_if(files.begin(), files.end(),
                               [&](const Json& f) { return f.value("path", "") == path; }),
                files.end());
    files.push_back(Json{{"path", path}, {"sha256", hash}});
    s.MarkManifestDirty();
  }
  return Status::Ok();
}

Status UninstallOwnedFiles(Session& s) {
  Json& record = s.Record();
  if (!record.contains("files")) return Status::Ok();
  for (const Json& f : record["files"]) {
    std::string path = f.value("path", "");
    std::string host = s.Host(path);
    if (s.OwnedByOtherEngine(path)) {
      s.Say("kept " + host + ": also installed for another engine");
      continue;
    }
    ASSIGN_OR_RETURN(std::optional<std::string> current, s.ReadOptional(path), "read " + host);
    if (!current) {
      s.Say("already gone: " + host);
      continue;
    }
    if (Sha256Hex(*current) != f.value("sha256", "")) {
      s.Say("kept " + host + ": changed since install; remove it by hand if unwanted");
      continue;
    }
    if (!s.options().dry_run) RETURN_IF_ERROR(s.RemoveHostFile(path), "");
    s.Say(s.Verb("removed ", "would remove ") + host);
    s.Changed();
  }
  record.erase("files");
  s.MarkManifestDirty();
  return Status::Ok();
}

// ---- additions to JSON files the user owns (daemon.json, a bundle's config.json) ----

struct JsonAdd {
  std::string pointer;  // the object or array added to
  std::string name;     // member name; empty: append to an array
  Json value;
};

Result<Json> ParseUserJson(const std::string& host, const std::string& text) {
  Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded()) return Status::InvalidArgument(host + ": not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument(host + ": not a JSON object");
  return doc;
}

// Makes sure the container at `pointer` exists, creating objects (and, for the last
// level when `array`, an array); appends the pointers it created to `created`.
Status EnsureContainer(Json& doc, const std::string& pointer, bool array,
                       std::vector<std::string>& created) {
  Pointer ptr(pointer);
  std::vector<std::string> tokens;
  for (Pointer p = ptr; !p.empty(); p.pop_back()) tokens.insert(tokens.begin(), p.back());
  Json* node = &doc;
  std::string path;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    path += "/" + tokens[i];
    bool last = i + 1 == tokens.size();
    if (!node->contains(tokens[i]) || (*node)[tokens[i]].is_null()) {
      (*node)[tokens[i]] = (last && array) ? Json::array() : Json::object();
      created.push_back(path);
    }
    node = &(*node)[tokens[i]];
    bool ok = (last && array) ? node->is_array() : node->is_object();
    if (!ok) {
      return Status::InvalidArgument(path.substr(1) + ": not " +
                                     ((last && array) ? "an array" : "an object"));
    }
  }
  return Status::Ok();
}

Status InstallJsonAdds(Session& s, const std::string& path, const std::vector<JsonAdd>& adds,
                       std::string_view what) {
  std::string host = s.Host(path);
  ASSIGN_OR_RETURN(std::optional<std::string> text, s.ReadOptional(path), "read " + host);
  Json doc = Json::object();
  if (text) {
    ASSIGN_OR_RETURN(doc, ParseUserJson(host, *text), "");
  }
  std::vector<std::string> created;
  std::vector<JsonAdd> done;
  for (const JsonAdd& add : adds) {
    RETURN_IF_ERROR(EnsureContainer(doc, add.pointer, add.name.empty(), created), host);
    Json& container = doc[Pointer(add.pointer)];
    if (add.name.empty()) {
      if (std::find(container.begin(), container.end(), add.value) != container.end()) continue;
      container.push_back(add.value);
    } else {
      if (container.contains(add.name)) {
        if (container[add.name] == add.value) continue;
        return Status::FailedPrecondition(host + ": " + add.pointer.substr(1) + "." + add.name +
                                          " is already defined differently; not changing it");
      }
      container[add.name] = add.value;
    }
    done.push_back(add);
  }
  if (done.empty()) {
    s.Say("unchanged: " + host + " (" + std::string(what) + " already there)");
    return Status::Ok();
  }
  Json& edits = s.Record()["json_edits"];
  if (edits.is_null()) edits = Json::array();
  Json* edit = nullptr;
  for (Json& e : edits) {
    if (e.value("path", "") == path) edit = &e;
  }
  // Back up the user's original only: a later install (e.g. one more --service) edits
  // a file that already holds our earlier additions.
  std::string backup = edit != nullptr ? (*edit).value("backup", "") : "";
  if (text && edit == nullptr) {
    ASSIGN_OR_RETURN(backup, s.Backup(path, *text), "");
  }
  if (!s.options().dry_run) {
    RETURN_IF_ERROR(s.WriteHostFile(path, doc.dump(2) + "\n", 0644), "");
  }
  std::string line = s.Verb("updated ", "would update ") + host + ": added " + std::string(what);
  if (!backup.empty()) line += "; backup " + s.Host(backup);
  s.Say(line);
  s.Changed();

  if (edit == nullptr) {
    edits.push_back(Json{{"path", path}, {"created_file", !text}, {"backup", backup},
                         {"created", Json::array()}, {"adds", Json::array()}});
    edit = &edits.back();
  }
  for (const std::string& c : created) (*edit)["created"].push_back(c);
  for (const JsonAdd& a : done) {
    (*edit)["adds"].push_back(Json{{"pointer", a.pointer}, {"name", a.name}, {"value", a.value}});
  }
  s.MarkManifestDirty();
  return Status::Ok();
}

Status UninstallJsonAdds(Session& s) {
  Json& record = s.Record();
  if (!record.contains("json_edits")) return Status::Ok();
  for (const Json& edit : record["json_edits"]) {
    std::string path = edit.value("path", "");
    std::string host = s.Host(path);
    ASSIGN_OR_RETURN(std::optional<std::string> text, s.ReadOptional(path), "read " + host);
    if (!text) {
      s.Say("already gone: " + host);
      continue;
    }
    ASSIGN_OR_RETURN(Json doc, ParseUserJson(host, *text), "");
    std::vector<std::string> kept;
    const Json before = doc;
    const Json& adds = edit["adds"];
    for (auto it = adds.rbegin(); it != adds.rend(); ++it) {
      std::string pointer = it->value("pointer", "");
      std::string name = it->value("name", "");
      const Json& value = (*it)["value"];
      Pointer ptr(pointer);
      bool removed = false;
      if (doc.contains(ptr)) {
        Json& container = doc[ptr];
        if (name.empty() && container.is_array()) {
          auto found = std::find(container.begin(), container.end(), value);
          if (found != container.end()) {
            container.erase(found);
            removed = true;
          }
        } else if (!name.empty() && container.is_object() && container.contains(name) &&
                   container[name] == value) {
          container.erase(name);
          removed = true;
        }
      }
      if (!removed) kept.push_back(pointer.substr(1) + (name.empty() ? "" : "." + name));
    }
    std::vector<std::string> created = edit["created"].get<std::vector<std::string>>();
    std::sort(created.begin(), created.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& c : created) {
      Pointer ptr(c);
      if (doc.contains(ptr) && doc[ptr].empty()) doc[ptr.parent_pointer()].erase(ptr.back());
    }
    if (doc == before) {
      s.Say("unchanged: " + host);
    } else if (edit.value("created_file", false) && doc.empty()) {
      if (!s.options().dry_run) RETURN_IF_ERROR(s.RemoveHostFile(path), "");
      s.Say(s.Verb("removed ", "would remove ") + host + " (install had created it)");
      s.Changed();
    } else {
      if (!s.options().dry_run) {
        RETURN_IF_ERROR(s.WriteHostFile(path, doc.dump(2) + "\n", 0644), "");
      }
      s.Say(s.Verb("updated ", "would update ") + host + ": removed what install added");
      s.Changed();
    }
    for (const std::string& k : kept) {
      s.Say("kept " + k + " in " + host + ": changed since install; remove it by hand");
    }
    std::string backup = edit.value("backup", "");
    if (!backup.empty()) {
      ASSIGN_OR_RETURN(std::optional<std::string> saved, s.ReadOptional(backup), "backup");
      if (saved) {
        Json original = Json::parse(*saved, nullptr, false);
        if (!original.is_discarded() && original == doc) {
          if (!s.options().dry_run) RETURN_IF_ERROR(s.RemoveHostFile(backup), "");
          s.Say(s.Verb("removed backup ", "would remove backup ") + s.Host(backup) +
                " (same JSON as the file now)");
        } else {
          s.Say("kept backup " + s.Host(backup) + ": differs from the file now");
        }
      }
    }
  }
  record.erase("json_edits");
  s.MarkManifestDirty();
  return Status::Ok();
}

// ---- one line of a TOML file the user owns (containerd's imports) ----

std::string Trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

bool IsImportsLine(const std::string& line) {
  std::string t = Trim(line);
  if (t.rfind("imports", 0) != 0) return false;
  return Trim(t.substr(7)).rfind('=', 0) == 0;
}

// ---- containerd: runtime tables appended to config.toml itself ----
//
// Not an imported drop-in: containerd 1.6 replaces a plugin's whole section of the main
// config with an imported file's (the user's CRI settings would be lost), and replaces its
// default list of runtimes with the configured one (so runc, the default runtime, must be
// declared once any runtime is). The block is recorded byte for byte; uninstall removes it.

constexpr std::string_view kCriRuntimes = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.";
constexpr std::string_view kBlockBegin =
    "# BEGIN oci-secrets: written by \"oci-secrets install containerd\"; "
    "\"oci-secrets uninstall containerd\" removes it";
constexpr std::string_view kBlockEnd = "# END oci-secrets";

// True when `lines` (a config.toml without our block) declares a CRI runtime table.
bool DeclaresCriRuntime(const std::vector<std::string>& lines) {
  return std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return Trim(l).rfind(kCriRuntimes, 0) == 0;
  });
}

std::string ContainerdBlock(const InstallOptions& o, bool declare_runc) {
  const std::string table = std::string(kCriRuntimes) + "oci-secrets]";
  std::string block = std::string(kBlockBegin) + "\n";
  if (declare_runc) {
    block += "# runc, containerd's default runtime: declared because a configured runtime list\n"
             "# replaces the default one.\n" +
             std::string(kCriRuntimes) + "runc]\n  runtime_type = \"io.containerd.runc.v2\"\n";
  }
  block += "# The CRI runtime (RuntimeClass handler) \"oci-secrets\": runc behind the oci-secrets "
           "shim.\n" +
           table + "\n  runtime_type = \"io.containerd.runc.v2\"\n" +
           "  # The CRI plugin passes into the OCI config only the annotations listed here.\n"
           "  pod_annotations = [\"org.oci-secrets.service\"]\n"
           "  container_annotations = [\"org.oci-secrets.service\"]\n" +
           table.substr(0, table.size() - 1) + ".options]\n  BinaryName = " +
           Json(o.shim_path).dump() + "\n" + std::string(kBlockEnd) + "\n";
  return block;
}

Status InstallContainerdBlock(Session& s) {
  const std::string path(kContainerdConfig);
  const std::string host = s.Host(path);
  ASSIGN_OR_RETURN(std::optional<std::string> text, s.ReadOptional(path), "read " + host);
  Json record{{"path", path}, {"created_file", !text}, {"separator", ""}, {"backup", ""}};
  std::string content;
  std::string block;
  if (!text) {
    block = ContainerdBlock(s.options(), /*declare_runc=*/true);
    content = "version = 2\n" + block;
  } else {
    std::vector<std::string> lines = SplitLines(*text);
    bool declares = DeclaresCriRuntime(lines);
    if (text->find(kBlockBegin) != std::string::npos) {
      std::string recorded =
          s.Record().contains("block_edit") ? s.Record()["block_edit"].value("block", "") : "";
      bool had_runc = recorded.find(std::string(kCriRuntimes) + "runc]") != std::string::npos;
      if (!recorded.empty() && text->find(recorded) != std::string::npos &&
          recorded == ContainerdBlock(s.options(), had_runc)) {
        s.Say("unchanged: " + host + " (runtime oci-secrets already there)");
        return Status::Ok();
      }
      return Status::FailedPrecondition(
          host + ": holds an oci-secrets block that differs from this one (another --shim?) "
                 "or was edited; run \"oci-secrets uninstall containerd\" or remove it by hand, "
                 "then install again");
    }
    if (std::none_of(lines.begin(), lines.end(), [](const std::string& l) {
          std::string t = l;
          t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return c == ' ' || c == '\t'; }),
                  t.end());
          return t == "version=2";
        })) {
      return Status::FailedPrecondition(
          host + ": not a version 2 configuration (no \"version = 2\"); add the runtime of "
                 "runtime-config/containerd/oci-secrets.toml by hand");
    }
    if (text->find(std::string(kCriRuntimes) + "oci-secrets]") != std::string::npos ||
        text->find(std::string(kCriRuntimes) + "oci-secrets.") != std::string::npos) {
      return Status::FailedPrecondition(host +
                                        ": already defines a runtime oci-secrets; not changing it");
    }
    block = ContainerdBlock(s.options(), !declares);
    std::string separator = text->empty() || text->back() == '\n' ? "" : "\n";
    record["separator"] = separator;
    content = *text + separator + block;
    ASSIGN_OR_RETURN(std::string backup, s.Backup(path, *text), "");
    record["backup"] = backup;
    if (std::any_of(lines.begin(), lines.end(), IsImportsLine)) {
      s.Say("note: " + host + " imports other files; one of them that configures the CRI "
            "plugin replaces its whole section, this runtime included");
    }
  }
  record["block"] = block;
  if (!s.options().dry_run) RETURN_IF_ERROR(s.WriteHostFile(path, content, 0644), "");
  bool runc = block.find(std::string(kCriRuntimes) + "runc]") != std::string::npos;
  std::string line = s.Verb("updated ", "would update ") + host + ": added the runtime oci-secrets";
  if (runc) line += " and runc (the default runtime, which a configured runtime list replaces)";
  if (!record["backup"].get<std::string>().empty()) {
    line += "; backup " + s.Host(record["backup"].get<std::string>());
  }
  s.Say(line);
  s.Changed();
  s.Record()["block_edit"] = record;
  s.MarkManifestDirty();
  return Status::Ok();
}

// Writes `content` back to containerd's config.toml at `path` (or removes the file when
// install had created it and nothing else is left), says so with `what`, and removes the
// backup `edit` names when it equals the restored content.
Status RestoreContainerdConfig(Session& s, const Json& edit, const std::string& path,
                               const std::string& content, const std::string& what) {
  const std::string host = s.Host(path);
  bool remove = edit.value("created_file", false) && Trim(content) == "version = 2";
  if (!s.options().dry_run) {
    if (remove) {
      RETURN_IF_ERROR(s.RemoveHostFile(path), "");
    } else {
      RETURN_IF_ERROR(s.WriteHostFile(path, content, 0644), "");
    }
  }
  s.Say(s.Verb(remove ? "removed " : "updated ", remove ? "would remove " : "would update ") +
        host + (remove ? " (install had created it)" : ": " + what));
  s.Changed();
  std::string backup = edit.value("backup", "");
  if (!backup.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> saved, s.ReadOptional(backup), "backup");
    if (saved && *saved == content) {
      if (!s.options().dry_run) RETURN_IF_ERROR(s.RemoveHostFile(backup), "");
      s.Say(s.Verb("removed backup ", "would remove backup ") + s.Host(backup));
    } else if (saved) {
      s.Say("kept backup " + s.Host(backup) + ": differs from the file now");
    }
  }
  return Status::Ok();
}

Status UninstallContainerdBlock(Session& s) {
  Json& r = s.Record();
  if (!r.contains("block_edit")) return Status::Ok();
  const Json& edit = r["block_edit"];
  const std::string path = edit.value("path", "");
  const std::string host = s.Host(path);
  ASSIGN_OR_RETURN(std::optional<std::string> text, s.ReadOptional(path), "read " + host);
  const std::string block = edit.value("separator", "") + edit.value("block", "");
  std::size_t at = text ? text->find(block) : std::string::npos;
  if (!text) {
    s.Say("already gone: " + host);
  } else if (block.empty() || at == std::string::npos) {
    s.Say("kept " + host + ": the oci-secrets block changed since install; remove it by hand");
  } else {
    std::string content = text->substr(0, at) + text->substr(at + block.size());
    RETURN_IF_ERROR(
        RestoreContainerdConfig(s, edit, path, content, "removed the runtime oci-secrets"), "");
  }
  r.erase("block_edit");
  s.MarkManifestDirty();
  return Status::Ok();
}

// Installs before this one wrote a drop-in and an imports line: their records are still
// undone by uninstall.
Status UninstallContainerdImport(Session& s) {
  Json& r = s.Record();
  if (!r.contains("line_edit")) return Status::Ok();
  const Json& edit = r["line_edit"];
  std::string path = edit.value("path", "");
  std::string host = s.Host(path);
  std::string line = edit.value("line", "");
  ASSIGN_OR_RETURN(std::optional<std::string> text, s.ReadOptional(path), "read " + host);
  if (!text) {
    s.Say("already gone: " + host);
  } else {
    std::vector<std::string> lines = SplitLines(*text);
    auto it = std::find(lines.begin(), lines.end(), line);
    if (it == lines.end()) {
      s.Say("kept " + host + ": its imports line changed since install; remove " +
            std::string(kContainerdDropIn) + " from it by hand");
    } else {
      if (edit["original"].is_null()) {
        lines.erase(it);
      } else {
        *it = edit["original"].get<std::string>();
      }
      RETURN_IF_ERROR(RestoreContainerdConfig(s, edit, path, JoinLines(lines),
                                              "restored its imports line"),
                      "");
    }
  }
  r.erase("line_edit");
  s.MarkManifestDirty();
  return Status::Ok();
}

// ---- what each engine gets ----

Json HookEntry(const InstallOptions& o, std::string_view stage) {
  Json args = Json::array({"oci-secrets-hook"});
  if (!o.hook_config.empty()) {
    args.push_back("--config");
    args.push_back(o.hook_config);
  }
  args.push_back(std::string(stage));
  return Json{{"path", o.hook_path},
              {"args", args},
              {"env", Json::array({std::string(kHookEnvPath)})},
              {"timeout", o.hook_timeout}};
}

Status CheckOptions(const InstallOptions& o) {
  for (const std::string* p : {&o.shim_path, &o.hook_path}) {
    if (p->empty() || (*p)[0] != '/') {
      return Status::InvalidArgument("\"" + *p + "\": the shim and hook paths must be absolute");
    }
  }
  if (!o.hook_config.empty() && o.hook_config[0] != '/') {
    return Status::InvalidArgument("--hook-config must be an absolute path");
  }
  if (!o.root.empty() && o.root[0] != '/') {
    return Status::InvalidArgument("--root must be an absolute path");
  }
  if (o.hook_timeout < 1 || o.hook_timeout > 300) {
    return Status::InvalidArgument("--hook-timeout must be 1 to 300 seconds");
  }
  for (const std::string& service : o.services) {
    RETURN_IF_ERROR(ValidateServiceName(service), "--service");
  }
  return Status::Ok();
}

std::string BundleConfigPath(const InstallOptions& o) {
  std::string bundle = o.bundle;
  while (bundle.size() > 1 && bundle.back() == '/') bundle.pop_back();
  return bundle + "/config.json";
}

}  // namespace

Result<Engine> ParseEngine(std::string_view name) {
  if (name == "docker") return Engine::kDocker;
  if (name == "containerd") return Engine::kContainerd;
  if (name == "podman") return Engine::kPodman;
  if (name == "crio" || name == "cri-o") return Engine::kCrio;
  if (name == "runc") return Engine::kRunc;
  return Status::InvalidArgument("unknown engine \"" + std::string(name) +
                                 "\" (docker, containerd, podman, crio, runc)");
}

std::string_view EngineName(Engine engine) {
  switch (engine) {
    case Engine::kDocker:
      return "docker";
    case Engine::kContainerd:
      return "containerd";
    case Engine::kPodman:
      return "podman";
    case Engine::kCrio:
      return "crio";
    case Engine::kRunc:
      return "runc";
  }
  return "unknown";
}

std::string HooksDJson(const InstallOptions& options, std::string_view stage) {
  Json doc{{"version", "1.0.0"},
           {"hook", HookEntry(options, stage)},
           {"when", Json{{"annotations", Json{{"^org\\.oci-secrets\\.service$", ".*"}}}}},
           {"stages", Json::array({std::string(stage)})}};
  return doc.dump(2) + "\n";
}

Result<InstallReport> Install(Engine engine, const InstallOptions& o) {
  RETURN_IF_ERROR(CheckOptions(o), "install");
  Session s(engine, o);
  std::string context = "install " + std::string(EngineName(engine));
  RETURN_IF_ERROR(s.LoadManifest(), context);
  switch (engine) {
    case Engine::kDocker: {
      std::vector<JsonAdd> adds;
      adds.push_back({"/runtimes", "oci-secrets", Json{{"path", o.shim_path}}});
      std::string what = "runtimes.oci-secrets";
      for (const std::string& service : o.services) {
        adds.push_back({"/runtimes", "oci-secrets-" + service,
                        Json{{"path", o.shim_path},
                             {"runtimeArgs", Json::array({"--oci-secrets-service", service})}}});
        what += ", runtimes.oci-secrets-" + service;
      }
      RETURN_IF_ERROR(InstallJsonAdds(s, std::string(kDaemonJson), adds, what), context);
      if (s.report().changed) {
        s.report().restart =
            "reload dockerd to load the runtime: systemctl reload docker (or kill -HUP the "
            "dockerd process)";
      }
      break;
    }
    case Engine::kContainerd:
      RETURN_IF_ERROR(InstallContainerdBlock(s), context);
      if (s.report().changed) {
        s.report().restart = "restart containerd: systemctl restart containerd";
      }
      break;
    case Engine::kPodman:
    case Engine::kCrio:
      for (const char* stage : {"prestart", "poststop"}) {
        RETURN_IF_ERROR(InstallOwnedFile(s,
                                         std::string(kHooksDir) + "/oci-secrets-" + stage +
                                             ".json",
                                         HooksDJson(o, stage)),
                        context);
      }
      if (s.report().changed && engine == Engine::kCrio) {
        s.report().restart =
            "CRI-O watches its hooks directories; restart crio if its hooks_dir does not "
            "list " + std::string(kHooksDir);
      }
      break;
    case Engine::kRunc: {
      // The bundle is a path on the target system, so under --root like every other.
      if (o.bundle.empty() || o.bundle[0] != '/') {
        return Status::InvalidArgument(
            context + ": runc has no global configuration: give --bundle /ABSOLUTE/DIR, the "
                      "bundle whose config.json gets the hook entries");
      }
      RETURN_IF_ERROR(InstallJsonAdds(s, BundleConfigPath(o),
                                      {{"/hooks/prestart", "", HookEntry(o, "prestart")},
                                       {"/hooks/poststop", "", HookEntry(o, "poststop")}},
                                      "hooks.prestart and hooks.poststop entries"),
                      context);
      break;
    }
  }
  RETURN_IF_ERROR(s.SaveManifest(), context + ": manifest");
  return std::move(s.report());
}

Result<InstallReport> Uninstall(Engine engine, const InstallOptions& o) {
  if (!o.root.empty() && o.root[0] != '/') {
    return Status::InvalidArgument("uninstall: --root must be an absolute path");
  }
  Session s(engine, o);
  std::string context = "uninstall " + std::string(EngineName(engine));
  RETURN_IF_ERROR(s.LoadManifest(), context);
  if (s.Record().empty()) {
    s.Say("nothing recorded for " + std::string(EngineName(engine)) + ": nothing to remove");
    return std::move(s.report());
  }
  RETURN_IF_ERROR(UninstallContainerdBlock(s), context);
  RETURN_IF_ERROR(UninstallContainerdImport(s), context);
  RETURN_IF_ERROR(UninstallJsonAdds(s), context);
  RETURN_IF_ERROR(UninstallOwnedFiles(s), context);
  if (s.report().changed) {
    switch (engine) {
      case Engine::kDocker:
        s.report().restart =
            "reload dockerd: systemctl reload docker (containers using the runtime keep "
            "running)";
        break;
      case Engine::kContainerd:
        s.report().restart = "restart containerd: systemctl restart containerd";
        break;
      default:
        break;
    }
  }
  RETURN_IF_ERROR(s.SaveManifest(), context + ": manifest");
  return std::move(s.report());
}

}  // namespace ocisecrets
