#include "manager/node/container_tracker.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "shared/file_util.h"
#include "shared/json_fields.h"

namespace ocisecrets {

namespace {

constexpr std::size_t kMaxContainersBytes = 64 * 1024 * 1024;

using nlohmann::json;

// What a grant changes in a tracked container.
void ApplyGrant(TrackedContainer& c, const LeaseGrant& grant) {
  c.secrets_dir = grant.secrets_dir.empty() ? c.default_secrets_dir : grant.secrets_dir;
  c.update_signal = grant.update_signal;
  c.files = HeldFilesOf(grant);
  c.refresh_at = grant.refresh_at;
}

json FileJson(const HeldFile& f) {
  json j{{"Name", f.name}, {"UID", f.uid}, {"GID", f.gid}, {"Mode", f.mode}};
  if (!f.secret_id.empty()) j["SecretID"] = f.secret_id;
  if (f.version != 0) j["Version"] = f.version;
  if (f.previous) j["Previous"] = true;
  return j;
}

Status ParseFile(const json& j, HeldFile* f) {
  using namespace json_fields;
  if (!j.is_object()) return WrongType("Files[]", "an object");
  RETURN_IF_ERROR(GetString(j, "Name", &f->name), "");
  RETURN_IF_ERROR(GetString(j, "SecretID", &f->secret_id), "");
  RETURN_IF_ERROR(GetUint(j, "Version", UINT64_MAX, &f->version), "");
  RETURN_IF_ERROR(GetId(j, "UID", &f->uid), "");
  RETURN_IF_ERROR(GetId(j, "GID", &f->gid), "");
  std::uint64_t mode = f->mode;
  RETURN_IF_ERROR(GetUint(j, "Mode", 07777, &mode), "");
  f->mode = static_cast<std::uint32_t>(mode);
  RETURN_IF_ERROR(GetBool(j, "Previous", &f->previous), "");
  if (f->name.empty()) return Status::InvalidArgument("field Name: must not be empty");
  return Status::Ok();
}

Status ParseContainer(const json& j, TrackedContainer* c) {
  using namespace json_fields;
  if (!j.is_object()) return WrongType("[]", "an object");
  RETURN_IF_ERROR(GetString(j, "ContainerID", &c->container_id), "");
  RETURN_IF_ERROR(GetString(j, "Service", &c->service), "");
  RETURN_IF_ERROR(GetString(j, "ServiceID", &c->service_id), "");
  std::int64_t pid = 0;
  RETURN_IF_ERROR(GetInt(j, "Pid", &pid), "");
  if (pid <= 0 || pid > INT32_MAX) return Status::InvalidArgument("field Pid: must be positive");
  c->pid = static_cast<int>(pid);
  RETURN_IF_ERROR(GetUint(j, "StartTime", UINT64_MAX, &c->start_time), "");
  RETURN_IF_ERROR(GetString(j, "DefaultSecretsDir", &c->default_secrets_dir), "");
  RETURN_IF_ERROR(GetString(j, "SecretsDir", &c->secrets_dir), "");
  RETURN_IF_ERROR(GetUint(j, "TmpfsSize", UINT64_MAX, &c->tmpfs_size), "");
  RETURN_IF_ERROR(GetString(j, "UpdateSignal", &c->update_signal), "");
  RETURN_IF_ERROR(GetTime(j, "Since", &c->since), "");
  RETURN_IF_ERROR(GetTime(j, "RefreshAt", &c->refresh_at), "");
  if (c->container_id.empty()) {
    return Status::InvalidArgument("field ContainerID: must not be empty");
  }
  auto files = j.find("Files");
  if (files != j.end() && !files->is_null()) {
    if (!files->is_array()) return WrongType("Files", "an array");
    for (const auto& fj : *files) {
      HeldFile f;
      RETURN_IF_ERROR(ParseFile(fj, &f), "container " + c->container_id);
      c->files.push_back(std::move(f));
    }
  }
  return Status::Ok();
}

}  // namespace

HeldFile HeldFileOf(const LeasedFile& f) {
  return HeldFile{f.name, f.secret_id, f.version, f.uid, f.gid, f.mode, f.previous};
}

std::vector<HeldFile> HeldFilesOf(const LeaseGrant& grant) {
  std::vector<HeldFile> files;
  for (const auto& f : grant.files) files.push_back(HeldFileOf(f));
  std::sort(files.begin(), files.end(),
            [](const HeldFile& a, const HeldFile& b) { return a.name < b.name; });
  return files;
}

std::string ContainersToJson(const std::vector<TrackedContainer>& containers) {
  json out = json::array();
  for (const auto& c : containers) {
    json files = json::array();
    for (const auto& f : c.files) files.push_back(FileJson(f));
    json j{{"ContainerID", c.container_id}, {"Service", c.service},
           {"ServiceID", c.service_id},     {"Pid", c.pid},
           {"StartTime", c.start_time},     {"DefaultSecretsDir", c.default_secrets_dir},
           {"SecretsDir", c.secrets_dir},   {"TmpfsSize", c.tmpfs_size},
           {"Since", FormatTime(c.since)},  {"Files", std::move(files)}};
    if (!c.update_signal.empty()) j["UpdateSignal"] = c.update_signal;
    if (c.refresh_at != TimePoint{}) j["RefreshAt"] = FormatTime(c.refresh_at);
    out.push_back(std::move(j));
  }
  return out.dump();
}

Result<std::vector<TrackedContainer>> ParseContainers(std::string_view text) {
  ASSIGN_OR_RETURN(json j, json_fields::ParseDocument(text, "tracked containers"), "");
  if (!j.is_array()) return Status::InvalidArgument("tracked containers: must be an array");
  std::vector<TrackedContainer> out;
  for (const auto& cj : j) {
    TrackedContainer c;
    RETURN_IF_ERROR(ParseContainer(cj, &c), "tracked containers");
    out.push_back(std::move(c));
  }
  return out;
}

ContainerTracker::ContainerTracker(std::string state_dir)
    : path_(state_dir.empty() ? "" : state_dir + "/containers.json") {}

Status ContainerTracker::Load() {
  if (path_.empty()) return Status::Ok();
  auto text = ReadFileBounded(path_, kMaxContainersBytes);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) return Status::Ok();
  if (!text.ok()) return text.status();
  auto parsed = ParseContainers(*text);
  if (!parsed.ok()) {
    return Status::InvalidArgument(path_ + ": " + parsed.status().message() +
                                   " (damaged; remove it: running containers then keep what "
                                   "they have but get no live update)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  containers_.clear();
  for (auto& c : *parsed) containers_[c.container_id] = std::move(c);
  return Status::Ok();
}

Status ContainerTracker::SaveLocked() const {
  if (path_.empty()) return Status::Ok();
  std::vector<TrackedContainer> all;
  for (const auto& [id, c] : containers_) all.push_back(c);
  return ReplaceFileAtomically(path_, ContainersToJson(all), 0600, geteuid(), getegid(),
                               Durability::kNoSync)
      .WithContext("save " + path_);
}

Status ContainerTracker::Track(const LeaseRequest& request, const LeaseGrant& grant,
                               std::string_view service_id, std::uint64_t start_time,
                               TimePoint now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = containers_.try_emplace(request.container_id);
  TrackedContainer& c = it->second;
  if (fresh || c.pid != request.pid || c.start_time != start_time) c.since = now;
  c.container_id = request.container_id;
  c.service = request.service;
  if (!service_id.empty()) c.service_id = std::string(service_id);
  c.pid = request.pid;
  c.start_time = start_time;
  c.default_secrets_dir = request.default_secrets_dir;
  c.tmpfs_size = request.tmpfs_size;
  ApplyGrant(c, grant);
  return SaveLocked();
}

Status ContainerTracker::Update(std::string_view container_id, const LeaseGrant& grant) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end()) {
    return Status::NotFound("container " + std::string(container_id) + " is not tracked");
  }
  ApplyGrant(it->second, grant);
  return SaveLocked();
}

Result<bool> ContainerTracker::Untrack(std::string_view container_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return false;
  containers_.erase(it);
  RETURN_IF_ERROR(SaveLocked(), "");
  return true;
}

std::vector<TrackedContainer> ContainerTracker::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TrackedContainer> out;
  for (const auto& [id, c] : containers_) out.push_back(c);
  return out;
}

std::optional<TrackedContainer> ContainerTracker::Find(std::string_view container_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ocisecrets
