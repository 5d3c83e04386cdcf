#include "manager/cli/compose/compose_file.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string_view>

#include "shared/file_util.h"
#include "shared/names.h"
#include "shared/validation.h"

namespace ocisecrets::compose {
namespace {

namespace fs = std::filesystem;

// The runtime every rewritten service gets (DESIGN.md: one Docker runtime for every service).
constexpr char kRuntimeName[] = "oci-secrets";
const std::string kServiceVariable(kServiceEnv);
// Deeper than any Compose file nests; a walk stops here instead of the stack.
constexpr int kMaxDepth = 64;

// Reads one file's nodes: every message names "FILE:LINE: KEY".
class FileReader {
 public:
  explicit FileReader(const std::string& name) : name_(name) {}

  std::string Where(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return name_;
    return name_ + ":" + std::to_string(mark.line + 1);
  }
  Status Error(const YAML::Node& node, const std::string& key, const std::string& why) const {
    return Status::InvalidArgument(Where(node) + ": " + key + ": " + why);
  }
  // The node's text when it is a scalar, else an error naming key.
  Result<std::string> Scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) return Error(node, key, "want a string");
    return node.Scalar();
  }

  Status ReadSecrets(const YAML::Node& secrets, std::map<std::string, ComposeSecret>* out) const;
  Status ReadServices(const YAML::Node& services, std::map<std::string, ComposeService>* out) const;

 private:
  Result<ComposeSecret> ReadSecret(const std::string& key, const YAML::Node& node) const;
  Result<ComposeGrant> ReadGrant(const std::string& key, const YAML::Node& node) const;
  Status ReadLabels(const std::string& key, const YAML::Node& node, Labels* out) const;
  Result<std::uint32_t> ReadId(const std::string& key, const YAML::Node& node) const;
  Result<std::uint32_t> ReadMode(const std::string& key, const YAML::Node& node) const;

  std::string name_;
};

// What to say about a key of a top-level secret that Compose accepts and we cannot honour.
std::string UnsupportedSecretKey(const std::string& key) {
  if (key == "driver" || key == "driver_opts") {
    return "secret drivers are Swarm's: oci-secrets keeps the secret itself (remove the key)";
  }
  if (key == "template_driver") {
    return "templated secrets are Swarm's: oci-secrets stores the payload as it is "
           "(remove the key)";
  }
  return "not a key oci-secrets compose import can honour (want file, environment, "
         "external, name or labels)";
}

bool IsTrue(const std::string& s) { return s == "true" || s == "True" || s == "TRUE" || s == "yes"; }
bool IsFalse(const std::string& s) {
  return s == "false" || s == "False" || s == "FALSE" || s == "no";
}

Result<ComposeSecret> FileReader::ReadSecret(const std::string& key, const YAML::Node& node) const {
  const std::string at = "secrets." + key;
  ComposeSecret s;
  s.key = key;
  s.where = Where(node);
  RETURN_IF_ERROR(ValidateSecretName(key), s.where + ": " + at);
  if (!node.IsMap()) return Error(node, at, "want a mapping with file, environment or external");
  int sources = 0;
  for (auto it = node.begin(); it != node.end(); ++it) {
    ASSIGN_OR_RETURN(std::string k, Scalar(it->first, at), "");
    const YAML::Node v = it->second;  // a copy: the iterator's pair is a temporary
    const std::string kat = at + "." + k;
    if (k == "file") {
      ASSIGN_OR_RETURN(std::string file, Scalar(v, kat), "");
      if (file.empty()) return Error(v, kat, "is empty");
      s.source = ComposeSecret::Source::kFile;
      s.file = file;
      ++sources;
    } else if (k == "environment") {
      ASSIGN_OR_RETURN(s.variable, Scalar(v, kat), "");
      if (s.variable.empty()) return Error(v, kat, "is empty");
      s.source = ComposeSecret::Source::kEnvironment;
      ++sources;
    } else if (k == "external") {
      if (v.IsMap()) {  // the old `external: {name: N}`
        for (auto e = v.begin(); e != v.end(); ++e) {
          ASSIGN_OR_RETURN(std::string ek, Scalar(e->first, kat), "");
          if (ek != "name") return Error(e->first, kat + "." + ek, "want only name");
          ASSIGN_OR_RETURN(s.name, Scalar(e->second, kat + ".name"), "");
        }
      } else {
        ASSIGN_OR_RETURN(std::string flag, Scalar(v, kat), "");
        if (IsFalse(flag)) continue;
        if (!IsTrue(flag)) return Error(v, kat, "want true or false");
      }
      s.source = ComposeSecret::Source::kExternal;
      ++sources;
    } else if (k == "name") {
      ASSIGN_OR_RETURN(s.name, Scalar(v, kat), "");
      RETURN_IF_ERROR(ValidateSecretName(s.name), Where(v) + ": " + kat);
    } else if (k == "labels") {
      RETURN_IF_ERROR(ReadLabels(kat, v, &s.labels), "");
    } else {
      return Error(it->first, kat, UnsupportedSecretKey(k));
    }
  }
  if (sources != 1) {
    return Error(node, at, "want exactly one of file, environment or external: true");
  }
  return s;
}

Status FileReader::ReadLabels(const std::string& key, const YAML::Node& node, Labels* out) const {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      ASSIGN_OR_RETURN(std::string k, Scalar(it->first, key), "");
      ASSIGN_OR_RETURN(std::string v, Scalar(it->second, key + "." + k), "");
      (*out)[k] = v;
    }
    return Status::Ok();
  }
  if (!node.IsSequence()) return Error(node, key, "want a mapping or a list of KEY=VALUE");
  for (const YAML::Node& item : node) {
    ASSIGN_OR_RETURN(std::string text, Scalar(item, key), "");
    auto eq = text.find('=');
    (*out)[text.substr(0, eq)] = eq == std::string::npos ? "" : text.substr(eq + 1);
  }
  return Status::Ok();
}

Status FileReader::ReadSecrets(const YAML::Node& secrets,
                               std::map<std::string, ComposeSecret>* out) const {
  if (!secrets.IsDefined() || secrets.IsNull()) return Status::Ok();
  if (!secrets.IsMap()) return Error(secrets, "secrets", "want a mapping");
  for (auto it = secrets.begin(); it != secrets.end(); ++it) {
    ASSIGN_OR_RETURN(std::string key, Scalar(it->first, "secrets"), "");
    ASSIGN_OR_RETURN(ComposeSecret s, ReadSecret(key, it->second), "");
    (*out)[key] = std::move(s);  // a later file's entry replaces the earlier one
  }
  return Status::Ok();
}

// A uid or gid: Compose's string "1000" (or a number).
Result<std::uint32_t> FileReader::ReadId(const std::string& key, const YAML::Node& node) const {
  ASSIGN_OR_RETURN(std::string text, Scalar(node, key), "");
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Error(node, key, "want a number like \"1000\", not " + QuoteForMessage(text));
  }
  RETURN_IF_ERROR(ValidateUnixId(id, key), Where(node));
  return static_cast<std::uint32_t>(id);
}

// A mode as YAML 1.1 (Compose's PyYAML) reads a plain number: 0400 and 0o400 are octal,
// 0x100 hex, 256 decimal. A quoted string is refused: Compose would refuse it too.
Result<std::uint32_t> FileReader::ReadMode(const std::string& key, const YAML::Node& node) const {
  ASSIGN_OR_RETURN(std::string text, Scalar(node, key), "");
  if (node.Tag() != "?") {
    return Error(node, key, "want an octal number like 0400 (without quotes)");
  }
  int base = 10;
  std::string_view digits = text;
  if (digits.starts_with("0o") || digits.starts_with("0O")) {
    base = 8;
    digits.remove_prefix(2);
  } else if (digits.starts_with("0x") || digits.starts_with("0X")) {
    base = 16;
    digits.remove_prefix(2);
  } else if (digits.size() > 1 && digits.front() == '0') {
    base = 8;
    digits.remove_prefix(1);
  }
  std::uint64_t mode = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), mode, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      mode > 07777) {
    return Error(node, key, "want an octal number like 0400, not " + QuoteForMessage(text));
  }
  RETURN_IF_ERROR(ValidateMode(static_cast<std::uint32_t>(mode)), Where(node) + ": " + key);
  return static_cast<std::uint32_t>(mode);
}

Result<ComposeGrant> FileReader::ReadGrant(const std::string& key, const YAML::Node& node) const {
  ComposeGrant g;
  g.where = Where(node);
  std::string target;
  if (node.IsScalar()) {
    g.source = node.Scalar();
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      ASSIGN_OR_RETURN(std::string k, Scalar(it->first, key), "");
      const std::string kat = key + "." + k;
      if (k == "source") {
        ASSIGN_OR_RETURN(g.source, Scalar(it->second, kat), "");
      } else if (k == "target") {
        ASSIGN_OR_RETURN(target, Scalar(it->second, kat), "");
      } else if (k == "uid") {
        ASSIGN_OR_RETURN(g.file.uid, ReadId(kat, it->second), "");
      } else if (k == "gid") {
        ASSIGN_OR_RETURN(g.file.gid, ReadId(kat, it->second), "");
      } else if (k == "mode") {
        ASSIGN_OR_RETURN(g.file.mode, ReadMode(kat, it->second), "");
      } else {
        return Error(it->first, kat, "want source, target, uid, gid or mode");
      }
    }
  } else {
    return Error(node, key, "want a secret's name or a mapping with source");
  }
  if (g.source.empty()) return Error(node, key + ".source", "is missing");
  const std::string dir = std::string(kComposeSecretsDir) + "/";
  if (target.empty()) {
    target = g.source;
  } else if (target.starts_with(dir)) {
    target = target.substr(dir.size());
  } else if (target.starts_with("/")) {
    return Error(node, key + ".target",
                 QuoteForMessage(target) + " is outside " + kComposeSecretsDir +
                     ": oci-secrets mounts one tmpfs there (use a relative target)");
  }
  RETURN_IF_ERROR(ValidateSecretTarget(target), g.where + ": " + key + ".target");
  g.file.name = target;
  return g;
}

Status FileReader::ReadServices(const YAML::Node& services,
                                std::map<std::string, ComposeService>* out) const {
  if (!services.IsDefined() || services.IsNull()) return Status::Ok();
  if (!services.IsMap()) return Error(services, "services", "want a mapping");
  for (auto it = services.begin(); it != services.end(); ++it) {
    ASSIGN_OR_RETURN(std::string name, Scalar(it->first, "services"), "");
    const YAML::Node body = it->second;  // a copy: the iterator's pair is a temporary
    if (!body.IsMap()) continue;  // Compose's own business
    for (auto k = body.begin(); k != body.end(); ++k) {
      if (!k->first.IsScalar() || k->first.Scalar() != "secrets") continue;
      const std::string at = "services." + name + ".secrets";
      const YAML::Node list = k->second;  // a copy: a range-for over k->second would dangle
      if (!list.IsSequence()) return Error(list, at, "want a list");
      ComposeService& service = (*out)[name];
      service.name = name;
      service.where = Where(k->first);
      std::size_t index = 0;
      for (const YAML::Node& item : list) {
        ASSIGN_OR_RETURN(ComposeGrant g,
                         ReadGrant(at + "[" + std::to_string(index++) + "]", item), "");
        // By source: a later file's entry replaces the earlier one.
        auto same = std::find_if(service.grants.begin(), service.grants.end(),
                                 [&](const ComposeGrant& o) { return o.source == g.source; });
        if (same != service.grants.end()) {
          *same = std::move(g);
        } else {
          service.grants.push_back(std::move(g));
        }
      }
    }
  }
  return Status::Ok();
}

// Counts the nodes under node (every alias use counted again), refusing a deep or huge one,
// and a mapping that has a key twice (which value Compose would take is not ours to guess).
Status CountNodes(const YAML::Node& node, int depth, std::size_t* count) {
  if (++*count > kMaxComposeNodes) {
    return Status::InvalidArgument("more than " + std::to_string(kMaxComposeNodes) +
                                   " YAML nodes (aliases counted at each use)");
  }
  if (depth > kMaxDepth) {
    return Status::InvalidArgument("nested deeper than " + std::to_string(kMaxDepth));
  }
  if (node.IsMap()) {
    std::set<std::string> keys;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.IsScalar() && !keys.insert(it->first.Scalar()).second) {
        const YAML::Mark mark = it->first.Mark();
        return Status::InvalidArgument(
            (mark.is_null() ? std::string() : "line " + std::to_string(mark.line + 1) + ": ") + "key " +
            QuoteForMessage(it->first.Scalar()) + " given twice in one mapping");
      }
      RETURN_IF_ERROR(CountNodes(it->first, depth + 1, count), "");
      RETURN_IF_ERROR(CountNodes(it->second, depth + 1, count), "");
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node) RETURN_IF_ERROR(CountNodes(item, depth + 1, count), "");
  }
  return Status::Ok();
}

// YAML 1.1's merge keys, as Compose's PyYAML applies them and yaml-cpp does not: in every
// mapping, `<<: *anchor` (or a list of them) adds the anchored mapping's keys the mapping
// does not have itself. Returns node itself where nothing under it merges (keeping its
// marks for messages), else a copy with every merge applied.
YAML::Node ResolveMergeKeys(const YAML::Node& node, int depth) {
  if (depth > kMaxDepth || !(node.IsMap() || node.IsSequence())) return node;
  bool changed = false;
  std::vector<std::pair<YAML::Node, YAML::Node>> entries;  // (key, value) or (merge, its value)
  std::vector<YAML::Node> merges;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      YAML::Node r = ResolveMergeKeys(item, depth + 1);
      changed = changed || !r.is(item);
      entries.emplace_back(YAML::Node(), r);
    }
    if (!changed) return node;
    YAML::Node out(YAML::NodeType::Sequence);
    for (auto& e : entries) out.push_back(e.second);
    return out;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "<<" && it->first.Tag() == "?") {
      changed = true;
      const YAML::Node value = it->second;  // a copy: a range-for over it->second would dangle
      if (value.IsSequence()) {
        for (const YAML::Node& m : value) merges.push_back(ResolveMergeKeys(m, depth + 1));
      } else {
        merges.push_back(ResolveMergeKeys(value, depth + 1));
      }
      continue;
    }
    YAML::Node r = ResolveMergeKeys(it->second, depth + 1);
    changed = changed || !r.is(it->second);
    entries.emplace_back(it->first, r);
  }
  if (!changed) return node;
  YAML::Node out(YAML::NodeType::Map);
  std::set<std::string> keys;
  for (auto& [k, v] : entries) {
    if (k.IsScalar()) keys.insert(k.Scalar());
    out[k] = v;
  }
  for (const YAML::Node& m : merges) {
    if (!m.IsMap()) continue;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it->first.IsScalar() && !keys.insert(it->first.Scalar()).second) continue;
      out[it->first] = it->second;
    }
  }
  return out;
}

// A map node's value for key, or an undefined node: never adds the key.
YAML::Node Find(const YAML::Node& map, const std::string& key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// An environment (list or map form) as a map node, for a merge.
YAML::Node EnvironmentAsMap(const YAML::Node& env) {
  if (!env.IsSequence()) return env;
  YAML::Node map(YAML::NodeType::Map);
  for (const YAML::Node& item : env) {
    if (!item.IsScalar()) continue;
    const std::string& text = item.Scalar();
    auto eq = text.find('=');
    if (eq == std::string::npos) {
      map[text] = YAML::Node(YAML::NodeType::Null);
    } else {
      map[text.substr(0, eq)] = text.substr(eq + 1);
    }
  }
  return map;
}

// Compose's merge of `over` into `base` (a clone): mappings key by key, a service's
// environment by variable, anything else replaced by the later value.
YAML::Node Merge(const YAML::Node& base, const YAML::Node& over, const std::string& path) {
  if (path.starts_with("services.") && path.ends_with(".environment") &&
      (base.IsSequence() || over.IsSequence())) {
    return Merge(EnvironmentAsMap(base), EnvironmentAsMap(over), path + "+");
  }
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (auto it = over.begin(); it != over.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string key = it->first.Scalar();
    YAML::Node mine = Find(out, key);
    const std::string sub = path.empty() ? key : path + "." + key;
    out[key] = mine.IsDefined() ? Merge(mine, it->second, sub) : YAML::Clone(it->second);
  }
  return out;
}

std::string LastDirName(std::string_view dir) {
  fs::path p = fs::path(dir).lexically_normal();
  std::string base = p.filename().string();
  if (base.empty()) base = p.parent_path().filename().string();
  return base;
}

// Writes node to out, keeping each scalar quoted when it was quoted in the source: "3.8"
// must stay a string for Compose.
void Emit(YAML::Emitter& out, const YAML::Node& node) {
  if (node.IsMap()) {
    out << YAML::BeginMap;
    for (auto it = node.begin(); it != node.end(); ++it) {
      out << YAML::Key;
      Emit(out, it->first);
      out << YAML::Value;
      Emit(out, it->second);
    }
    out << YAML::EndMap;
  } else if (node.IsSequence()) {
    out << YAML::BeginSeq;
    for (const YAML::Node& item : node) Emit(out, item);
    out << YAML::EndSeq;
  } else if (node.IsScalar()) {
    // A line break or another control character in a value (a lone CR is one too) is
    // written escaped: unquoted, the emitter would write it raw and the text read back
    // would be another document.
    const std::string& s = node.Scalar();
    const bool control = std::any_of(s.begin(), s.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    });
    if (node.Tag() == "!" || control) {
      out << YAML::DoubleQuoted << s;
    } else {
      out << s;  // plain in the source, or ours: the emitter quotes when it must
    }
  } else {
    out << YAML::Null;
  }
}

// Adds OCI_SECRETS_SERVICE=value to a service's environment, list or map form.
Status AddOptIn(YAML::Node service, const std::string& name, const std::string& value) {
  const std::string at = "services." + name + ".environment";
  YAML::Node env = Find(service, "environment");
  if (!env.IsDefined() || env.IsNull()) {
    YAML::Node map(YAML::NodeType::Map);
    map[kServiceVariable] = value;
    service["environment"] = map;
    return Status::Ok();
  }
  YAML::Node as_map = EnvironmentAsMap(env);
  if (!as_map.IsMap()) return Status::InvalidArgument(at + ": want a mapping or a list");
  YAML::Node had = Find(as_map, kServiceVariable);
  if (had.IsDefined() && !(had.IsScalar() && had.Scalar() == value)) {
    return Status::InvalidArgument(at + ": " + kServiceVariable +
                                   " already names another service; remove it");
  }
  if (had.IsDefined()) return Status::Ok();
  if (env.IsSequence()) {
    env.push_back(std::string(kServiceVariable) + "=" + value);
  } else {
    env[kServiceVariable] = value;
  }
  return Status::Ok();
}

// The length of the UTF-8 sequence at text[i] (1 to 4), or 0 when it is not one: bad
// lead or continuation bytes, an overlong form, a surrogate, or past U+10FFFF.
std::size_t Utf8Length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  const std::size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                        : c >= 0xE0 && c <= 0xEF ? 3
                        : c >= 0xF0 && c <= 0xF4 ? 4
                                                 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  std::uint32_t cp = c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (byte(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// A YAML stream is UTF-8 text without control characters but tab, LF and CR (YAML 1.2
// 5.1; Compose's own reader refuses the rest too). Names the first offending byte.
Status CheckYamlText(const std::string& name, std::string_view text) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const auto where = [&] { return name + ":" + std::to_string(line) + ":" + std::to_string(column); };
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      return Status::InvalidArgument(where() + ": control character " + hex +
                                     ": a Compose file is YAML text, which allows none");
    }
    const std::size_t n = Utf8Length(text, i);
    if (n == 0) return Status::InvalidArgument(where() + ": not UTF-8: a Compose file is UTF-8 text");
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += n;
  }
  return Status::Ok();
}

}  // namespace

Result<ComposeProject> ParseComposeTexts(const std::vector<ComposeText>& texts,
                                         const std::string& dir) {
  if (texts.empty()) return Status::InvalidArgument("no Compose file");
  ComposeProject project;
  project.dir = dir;
  for (const ComposeText& text : texts) {
    if (text.text.size() > kMaxComposeFileBytes) {
      return Status::InvalidArgument(text.name + ": larger than " +
                                     std::to_string(kMaxComposeFileBytes) + " bytes");
    }
    RETURN_IF_ERROR(CheckYamlText(text.name, text.text), "");
    YAML::Node doc;
    try {
      doc = YAML::Load(text.text);
    } catch (const YAML::Exception& e) {
      std::string where = text.name;
      if (!e.mark.is_null()) {
        where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
      }
      return Status::InvalidArgument(where + ": " + e.msg);
    }
    std::size_t count = 0;
    RETURN_IF_ERROR(CountNodes(doc, 0, &count), text.name);
    if (doc.IsNull()) continue;
    try {
      doc = ResolveMergeKeys(doc, 0);
      count = 0;
      RETURN_IF_ERROR(CountNodes(doc, 0, &count), text.name + ": after its merge keys (<<)");
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(text.name + ": " + e.msg);
    }
    FileReader reader(text.name);
    if (!doc.IsMap()) return reader.Error(doc, "(top level)", "want a mapping");
    try {
      RETURN_IF_ERROR(reader.ReadSecrets(Find(doc, "secrets"), &project.secrets), "");
      RETURN_IF_ERROR(reader.ReadServices(Find(doc, "services"), &project.services), "");
      project.document =
          project.document.IsDefined() && !project.document.IsNull()
              ? Merge(project.document, doc, "")
              : YAML::Clone(doc);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(text.name + ": " + e.msg);
    }
  }
  for (auto& [key, secret] : project.secrets) {
    if (secret.source == ComposeSecret::Source::kFile) {
      fs::path p(secret.file);
      if (p.is_relative()) p = fs::path(dir) / p;
      secret.file = p.lexically_normal().string();
    }
  }
  for (const auto& [name, service] : project.services) {
    std::set<std::string> targets;
    for (const ComposeGrant& g : service.grants) {
      if (!project.secrets.contains(g.source)) {
        return Status::InvalidArgument(g.where + ": services." + name + ".secrets: secret " +
                                       QuoteForMessage(g.source) +
                                       " is not defined under the top-level secrets");
      }
      if (!targets.insert(g.file.name).second) {
        return Status::InvalidArgument(g.where + ": services." + name + ".secrets: target " +
                                       QuoteForMessage(g.file.name) + " given twice");
      }
    }
  }
  if (!project.document.IsDefined() || project.document.IsNull()) {
    project.document = YAML::Node(YAML::NodeType::Map);
  }
  return project;
}

Result<ComposeProject> LoadComposeFiles(const std::vector<std::string>& paths) {
  if (paths.empty()) return Status::InvalidArgument("no Compose file");
  std::vector<ComposeText> texts;
  for (const std::string& path : paths) {
    ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxComposeFileBytes), path);
    texts.push_back({path, std::move(text)});
  }
  std::error_code ec;
  fs::path first = fs::absolute(paths.front(), ec);
  if (ec) return Status::IOError(paths.front() + ": " + ec.message());
  return ParseComposeTexts(texts, first.lexically_normal().parent_path().string());
}

Result<std::string> DefaultProjectName(std::string_view dir) {
  std::string name;
  for (char c : LastDirName(dir)) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      if (name.empty() && (c == '_' || c == '-')) continue;
      name += c;
    }
  }
  if (name.empty()) {
    return Status::InvalidArgument("no project name from the directory " + QuoteForMessage(dir) +
                                   ": give one with -p");
  }
  return name;
}

std::string SecretName(const std::string& project, const ComposeSecret& secret) {
  if (!secret.name.empty()) return secret.name;
  return project + "_" + secret.key;
}

std::string ServiceName(const std::string& project, const std::string& service) {
  return project + "_" + service;
}

Result<std::string> RenderRuntimeFile(const ComposeProject& project, const std::string& project_name,
                                      const std::string& source) {
  YAML::Node doc = YAML::Clone(project.document);
  try {
    YAML::Node services = Find(doc, "services");
    for (const auto& [name, service] : project.services) {
      YAML::Node body = Find(services, name);
      body.remove("secrets");
      YAML::Node runtime = Find(body, "runtime");
      if (runtime.IsDefined() && !(runtime.IsScalar() && runtime.Scalar() == kRuntimeName)) {
        return Status::InvalidArgument(service.where + ": services." + name +
                                       ".runtime: already set; oci-secrets needs runtime " +
                                       kRuntimeName + " (remove the key)");
      }
      body["runtime"] = kRuntimeName;
      RETURN_IF_ERROR(AddOptIn(body, name, ServiceName(project_name, name)), service.where);
    }
    doc.remove("secrets");
    YAML::Emitter out;
    Emit(out, doc);
    if (!out.good()) return Status::Internal("writing YAML: " + out.GetLastError());
    return std::string(kGeneratedComment) + source + "; edit " + source + " and re-run\n" +
           std::string(out.c_str(), out.size()) + "\n";
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ": " + e.msg);
  }
}

}  // namespace ocisecrets::compose
