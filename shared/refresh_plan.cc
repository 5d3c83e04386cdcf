#include "shared/refresh_plan.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <nlohmann/json.hpp>

#include "shared/json_fields.h"

namespace ocisecrets {
namespace {

using nlohmann::json;
using namespace json_fields;  // NOLINT: the field readers every parser here uses

constexpr char kNoAnswer[] = "no answer from oci-secrets-hook refresh";

Status PlanError(const std::string& field, const char* want) {
  return Status::InvalidArgument("refresh plan: " + field + ": " + want);
}

// A required unsigned integer within [min, max]; the value is never echoed.
Status GetRequiredUint(const json& j, const char* field, std::uint64_t min, std::uint64_t max,
                       const char* want, std::uint64_t* out) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number_unsigned()) return PlanError(field, want);
  std::uint64_t v = it->get<std::uint64_t>();
  if (v < min || v > max) return PlanError(field, want);
  *out = v;
  return Status::Ok();
}

// Wipes the "Data" string of every file in a parsed plan document.
void WipePlanData(json& j) {
  if (!j.is_object()) return;
  auto files = j.find("Files");
  if (files == j.end() || !files->is_array()) return;
  for (auto& f : *files) {
    if (!f.is_object()) continue;
    auto data = f.find("Data");
    if (data != f.end() && data->is_string()) WipeString(data->get_ref<std::string&>());
  }
}

Result<LeasedFile> FileFrom(const json& e, const std::string& where) {
  if (!e.is_object()) return PlanError(where, "must be an object");
  LeasedFile f;
  auto name = e.find("Name");
  if (name == e.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    return PlanError(where + ": Name", "must be a non-empty string");
  }
  f.name = name->get<std::string>();
  const std::string ctx = "refresh plan: " + where;
  RETURN_IF_ERROR(GetId(e, "UID", &f.uid), ctx);
  RETURN_IF_ERROR(GetId(e, "GID", &f.gid), ctx);
  std::uint64_t mode = 0444;
  RETURN_IF_ERROR(GetUint(e, "Mode", 07777, &mode), ctx);
  f.mode = static_cast<std::uint32_t>(mode);
  RETURN_IF_ERROR(GetString(e, "SecretID", &f.secret_id), ctx);
  RETURN_IF_ERROR(GetUint(e, "Version", UINT64_MAX, &f.version), ctx);
  RETURN_IF_ERROR(GetBool(e, "Previous", &f.previous), ctx);
  auto data = e.find("Data");
  if (data == e.end() || !data->is_string()) return PlanError(where + ": Data", "must be base64");
  if (!Base64DecodeInto(data->get_ref<const std::string&>(), &f.data)) {
    return PlanError(where + ": Data", "must be base64");
  }
  return f;
}

Result<RefreshPlan> PlanFrom(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("refresh plan: must be an object");
  RefreshPlan plan;
  auto id = j.find("ContainerID");
  if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    return PlanError("ContainerID", "must be a non-empty string");
  }
  plan.container_id = id->get<std::string>();
  std::uint64_t v = 0;
  RETURN_IF_ERROR(GetRequiredUint(j, "Pid", 1, 0x7fffffff, "must be a positive integer", &v), "");
  plan.pid = static_cast<int>(v);
  RETURN_IF_ERROR(GetRequiredUint(j, "StartTime", 1, UINT64_MAX, "must be a positive integer",
                                  &plan.start_time),
                  "");
  RETURN_IF_ERROR(GetRequiredUint(j, "TmpfsSize", 1, UINT64_MAX, "must be a positive integer",
                                  &plan.tmpfs_size),
                  "");
  auto sig = j.find("Signal");
  if (sig != j.end() && !sig->is_null()) {
    RETURN_IF_ERROR(GetRequiredUint(j, "Signal", 0, 64, "must be a signal number 0 to 64", &v), "");
    plan.signal = static_cast<int>(v);
  }
  auto dir = j.find("SecretsDir");
  if (dir == j.end() || !dir->is_string() || !dir->get_ref<const std::string&>().starts_with('/')) {
    return PlanError("SecretsDir", "must be an absolute path");
  }
  plan.secrets_dir = dir->get<std::string>();
  auto files = j.find("Files");
  if (files == j.end() || !files->is_array()) return PlanError("Files", "must be an array");
  plan.files.reserve(files->size());
  for (std::size_t i = 0; i < files->size(); ++i) {
    ASSIGN_OR_RETURN(LeasedFile f, FileFrom((*files)[i], "Files[" + std::to_string(i) + "]"), "");
    plan.files.push_back(std::move(f));
  }
  return plan;
}

}  // namespace

std::string ToJson(const RefreshPlan& plan) {
  // Written by hand into one buffer sized up front (escaping writes at most 6 bytes per
  // byte), so that no copy of a payload's base64 is freed unwiped while the text grows.
  std::size_t size = 200 + 6 * (plan.container_id.size() + plan.secrets_dir.size());
  size += LeasedFilesJsonSize(plan.files);
  std::string out;
  out.reserve(size);
  out += "{\"ContainerID\":";
  AppendJsonString(out, plan.container_id);
  out += ",\"Files\":";
  AppendLeasedFilesJson(out, plan.files);
  out += ",\"Pid\":";
  AppendJsonUint(out, static_cast<std::uint64_t>(plan.pid < 0 ? 0 : plan.pid));
  out += ",\"SecretsDir\":";
  AppendJsonString(out, plan.secrets_dir);
  if (plan.signal != 0) {
    out += ",\"Signal\":";
    AppendJsonUint(out, static_cast<std::uint64_t>(plan.signal < 0 ? 0 : plan.signal));
  }
  out += ",\"StartTime\":";
  AppendJsonUint(out, plan.start_time);
  out += ",\"TmpfsSize\":";
  AppendJsonUint(out, plan.tmpfs_size);
  out += '}';
  return out;
}

Result<RefreshPlan> ParseRefreshPlan(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseDocument(text, "refresh plan"), "");
  Result<RefreshPlan> plan = PlanFrom(j);
  WipePlanData(j);
  return plan;
}

RefreshOutcome ParseRefreshOutcome(std::string_view out) {
  // The last non-empty line (a trailing '\r' or blank is not part of it).
  std::string_view line;
  while (!out.empty()) {
    std::size_t eol = out.rfind('\n');
    std::string_view last = eol == std::string_view::npos ? out : out.substr(eol + 1);
    while (!last.empty() && (last.back() == '\r' || last.back() == ' ')) last.remove_suffix(1);
    if (!last.empty()) {
      line = last;
      break;
    }
    if (eol == std::string_view::npos) break;
    out = out.substr(0, eol);
  }
  RefreshOutcome outcome;
  outcome.detail = std::string(line);
  if (line.starts_with("refreshed files=")) {
    outcome.kind = RefreshOutcome::Kind::kRefreshed;
  } else if (line.starts_with("skipped: ")) {
    outcome.kind = RefreshOutcome::Kind::kSkipped;
  } else if (line.starts_with("oci-secrets-hook: refresh: ")) {
    outcome.kind = RefreshOutcome::Kind::kFailed;
  } else {
    outcome.kind = RefreshOutcome::Kind::kFailed;
    outcome.detail = kNoAnswer;
  }
  return outcome;
}

Result<std::uint64_t> ParseStatStartTime(std::string_view stat) {
  std::size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos) {
    return Status::InvalidArgument("/proc stat: no command name in parentheses");
  }
  std::string_view rest = stat.substr(paren + 1);
  // Fields 3 ("state") onwards, one space before each: starttime is the 20th of them.
  for (int field = 3; field <= 22; ++field) {
    if (rest.empty() || rest.front() != ' ') {
      return Status::InvalidArgument("/proc stat: fewer than 22 fields");
    }
    rest.remove_prefix(1);
    std::size_t end = rest.find_first_of(" \n");
    if (end == std::string_view::npos) end = rest.size();
    if (field == 22) {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(rest.data(), rest.data() + end, v);
      if (end == 0 || ec != std::errc() || p != rest.data() + end) {
        return Status::InvalidArgument("/proc stat: field 22 (starttime) is not a number");
      }
      return v;
    }
    rest.remove_prefix(end);
  }
  return Status::InvalidArgument("/proc stat: fewer than 22 fields");  // not reached
}

Result<std::uint64_t> ProcessStartTime(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ESRCH) {
      return Status::NotFound("process " + std::to_string(pid) + " not found");
    }
    return PosixError("open " + path, err);
  }
  // The command name is at most 64 bytes and the 50-odd numbers after it fit easily.
  char buf[4096];
  std::size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      close(fd);
      if (err == ESRCH) return Status::NotFound("process " + std::to_string(pid) + " not found");
      return PosixError("read " + path, err);
    }
    if (r == 0 || n + static_cast<std::size_t>(r) == sizeof buf) {
      n += static_cast<std::size_t>(r);
      break;
    }
    n += static_cast<std::size_t>(r);
  }
  close(fd);
  ASSIGN_OR_RETURN(std::uint64_t start, ParseStatStartTime(std::string_view(buf, n)), path);
  return start;
}

}  // namespace ocisecrets
