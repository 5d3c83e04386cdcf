#include "manager/cli/install/json_edits.h"

#include <algorithm>
#include <optional>

namespace ocisecrets::install_internal {
namespace {

using Pointer = Json::json_pointer;

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

// "runtimes.oci-secrets", "default-runtime", "an entry in hooks.prestart".
std::string Dotted(const std::string& pointer, const std::string& name) {
  std::string out = pointer.empty() ? "" : pointer.substr(1);
  std::replace(out.begin(), out.end(), '/', '.');
  if (name.empty()) return "an entry in " + out;
  return out.empty() ? name : out + "." + name;
}

}  // namespace

Status InstallJsonAdds(Session& s, const std::string& path, const std::vector<JsonAdd>& adds) {
  std::string host = s.Host(path);
  ASSIGN_OR_RETURN(std::optional<std::string> text, s.ReadOptional(path), "read " + host);
  Json doc = Json::object();
  if (text) {
    ASSIGN_OR_RETURN(doc, ParseUserJson(host, *text), "");
  }
  std::vector<std::string> created;
  std::vector<JsonAdd> done;
  std::vector<Json> previous;  // per done: the value it replaced, else null
  std::string what;
  for (const JsonAdd& add : adds) {
    RETURN_IF_ERROR(EnsureContainer(doc, add.pointer, add.name.empty(), created), host);
    Json& container = doc[Pointer(add.pointer)];
    Json replaced = nullptr;
    if (add.name.empty()) {
      if (std::find(container.begin(), container.end(), add.value) != container.end()) continue;
      container.push_back(add.value);
    } else {
      if (container.contains(add.name)) {
        const Json& current = container[add.name];
        if (current == add.value) continue;
        if (add.replaces.is_null() || current != add.replaces) {
          std::string message = host + ": " + Dotted(add.pointer, add.name) +
                                " is already defined differently (" + current.dump() +
                                "); not changing it";
          if (!add.if_different.empty()) message += ": " + add.if_different;
          return Status::FailedPrecondition(message);
        }
        replaced = current;
      }
      container[add.name] = add.value;
    }
    what += (what.empty() ? "" : ", ") + Dotted(add.pointer, add.name);
    if (!replaced.is_null()) what += " (was " + replaced.dump() + ")";
    done.push_back(add);
    previous.push_back(std::move(replaced));
  }
  if (done.empty()) return Status::Ok();  // all there: a second install says nothing
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
  std::string line = s.Verb("updated ", "would update ") + host + ": added " + what;
  if (!backup.empty()) line += "; backup " + s.Host(backup);
  s.Say(line);
  s.Changed();

  if (edit == nullptr) {
    edits.push_back(Json{{"path", path}, {"created_file", !text}, {"backup", backup},
                         {"created", Json::array()}, {"adds", Json::array()}});
    edit = &edits.back();
  }
  for (const std::string& c : created) (*edit)["created"].push_back(c);
  for (std::size_t i = 0; i < done.size(); ++i) {
    const JsonAdd& a = done[i];
    Json rec{{"pointer", a.pointer}, {"name", a.name}, {"value", a.value}};
    if (!previous[i].is_null()) rec["previous"] = previous[i];
    (*edit)["adds"].push_back(std::move(rec));
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
          if (it->contains("previous")) {
            container[name] = (*it)["previous"];
          } else {
            container.erase(name);
          }
          removed = true;
        }
      }
      if (!removed) kept.push_back(Dotted(pointer, name));
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

}  // namespace ocisecrets::install_internal
