#include "manager/cli/install/containerd_toml.h"

#include <cstdint>
#include <optional>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "shared/names.h"

namespace ocisecrets::install_internal {
namespace {

constexpr std::string_view kContainerdConfig = "/etc/containerd/config.toml";
constexpr std::string_view kContainerdDropIn = "/etc/containerd/conf.d/oci-secrets.toml";

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

std::string ContainerdBlock(const InstallOptions& o, bool declare_runc) {
  const std::string table = std::string(kCriRuntimes) + "oci-secrets]";
  const std::string annotation = Json(std::string(kServiceAnnotation)).dump();
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
           "  pod_annotations = [" + annotation + "]\n"
           "  container_annotations = [" + annotation + "]\n" +
           table.substr(0, table.size() - 1) + ".options]\n  BinaryName = " +
           Json(o.shim_path).dump() + "\n" + std::string(kBlockEnd) + "\n";
  return block;
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

}  // namespace

Result<ContainerdConfigFacts> ReadContainerdConfig(const std::string& text,
                                                   const std::string& host) {
  toml::table doc;
  try {
    doc = toml::parse(text, host);
  } catch (const toml::parse_error& e) {
    const toml::source_position at = e.source().begin;
    return Status::InvalidArgument(host + ": not valid TOML: line " + std::to_string(at.line) +
                                   ", column " + std::to_string(at.column) + ": " +
                                   std::string(e.description()));
  }
  ContainerdConfigFacts facts;
  facts.version_2 = doc["version"].value<std::int64_t>() == std::int64_t{2};
  facts.imports = doc.contains("imports");
  const toml::table* runtimes =
      doc["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"].as_table();
  if (runtimes != nullptr) {
    facts.declares_cri_runtime = !runtimes->empty();
    facts.declares_oci_secrets = runtimes->contains("oci-secrets");
  }
  return facts;
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
    ASSIGN_OR_RETURN(ContainerdConfigFacts facts, ReadContainerdConfig(*text, host), "");
    // Our block is known by its comment, which only the text shows.
    if (text->find(kBlockBegin) != std::string::npos) {
      std::string recorded =
          s.Record().contains("block_edit") ? s.Record()["block_edit"].value("block", "") : "";
      bool had_runc = recorded.find(std::string(kCriRuntimes) + "runc]") != std::string::npos;
      if (!recorded.empty() && text->find(recorded) != std::string::npos &&
          recorded == ContainerdBlock(s.options(), had_runc)) {
        return Status::Ok();  // already there: a second install says nothing
      }
      return Status::FailedPrecondition(
          host + ": holds an oci-secrets block that differs from this one (another --shim?) "
                 "or was edited; run \"oci-secrets uninstall containerd\" or remove it by hand, "
                 "then install again");
    }
    if (!facts.version_2) {
      return Status::FailedPrecondition(
          host + ": not a version 2 configuration (no \"version = 2\"); add the runtime of "
                 "runtime-config/containerd/oci-secrets.toml by hand");
    }
    if (facts.declares_oci_secrets) {
      return Status::FailedPrecondition(host +
                                        ": already defines a runtime oci-secrets; not changing it");
    }
    block = ContainerdBlock(s.options(), !facts.declares_cri_runtime);
    std::string separator = text->empty() || text->back() == '\n' ? "" : "\n";
    record["separator"] = separator;
    content = *text + separator + block;
    ASSIGN_OR_RETURN(std::string backup, s.Backup(path, *text), "");
    record["backup"] = backup;
    if (facts.imports) {
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

}  // namespace ocisecrets::install_internal
