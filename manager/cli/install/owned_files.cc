#include "manager/cli/install/owned_files.h"

#include <openssl/evp.h>

#include <algorithm>
#include <optional>

namespace ocisecrets::install_internal {
namespace {

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

}  // namespace

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
      s.Say("left alone: " + host +
            " (already there, not written by install: uninstall leaves it)");
      return Status::Ok();
    }
    if (recorded) return Status::Ok();  // a second install says nothing
    // Written for another engine: record it for this one too, so it stays until both go.
    s.Say("unchanged: " + host + " (installed for another engine; recorded for this one too)");
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

}  // namespace ocisecrets::install_internal
