#include "manager/cli/format.h"

#include <algorithm>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "shared/validation.h"

namespace ocisecrets {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr std::size_t kMinWidth = 10;
constexpr std::size_t kPadding = 3;

// Display width of UTF-8 text: code points, as Go's tabwriter counts them.
std::size_t Width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

ordered_json SecretJson(const Secret& s) {
  ordered_json labels = ordered_json::object();
  for (const auto& [k, v] : s.spec.labels) labels[k] = v;
  ordered_json data{{"Index", s.data.index},
                    {"UpdatedAt", FormatTime(s.data.updated_at == TimePoint{} ? s.created_at
                                                                              : s.data.updated_at)}};
  if (s.data.previous != 0) data["Previous"] = s.data.previous;
  if (s.data.overlap_until != TimePoint{}) data["OverlapUntil"] = FormatTime(s.data.overlap_until);
  if (s.data.revoked_at != TimePoint{}) data["RevokedAt"] = FormatTime(s.data.revoked_at);
  return ordered_json{{"ID", s.id},
                      {"Version", {{"Index", s.version}}},
                      {"CreatedAt", FormatTime(s.created_at)},
                      {"UpdatedAt", FormatTime(s.updated_at)},
                      {"DataVersion", data},
                      {"Spec", {{"Name", s.spec.name}, {"Labels", labels}}}};
}

ordered_json ServiceJson(const Service& s) {
  ordered_json labels = ordered_json::object();
  for (const auto& [k, v] : s.spec.labels) labels[k] = v;
  ordered_json secrets = ordered_json::array();
  for (const auto& r : s.spec.secrets) {
    secrets.push_back({{"File",
                        {{"Name", r.file.name},
                         {"UID", std::to_string(r.file.uid)},
                         {"GID", std::to_string(r.file.gid)},
                         {"Mode", r.file.mode}}},
                       {"SecretID", r.secret_id},
                       {"SecretName", r.secret_name}});
  }
  ordered_json leases = ordered_json::array();
  for (const auto& l : s.leases) {
    leases.push_back({{"ContainerID", l.container_id},
                      {"CreatedAt", FormatTime(l.created_at)},
                      {"ExpiresAt", FormatTime(l.expires_at)}});
  }
  ordered_json spec{{"Name", s.spec.name},
                    {"Labels", labels},
                    {"SecretsDir", s.spec.secrets_dir},
                    {"Secrets", secrets}};
  if (!s.spec.constraints.empty()) spec["Placement"] = {{"Constraints", s.spec.constraints}};
  return ordered_json{{"ID", s.id},
                      {"Version", {{"Index", s.version}}},
                      {"CreatedAt", FormatTime(s.created_at)},
                      {"UpdatedAt", FormatTime(s.updated_at)},
                      {"Spec", std::move(spec)},
                      // The dir the files actually go to: Spec.SecretsDir, or the
                      // hook's default when the service names none.
                      {"EffectiveSecretsDir", s.spec.secrets_dir.empty()
                                                  ? std::string(kDefaultSecretsDir)
                                                  : s.spec.secrets_dir},
                      {"SecretsDirIsDefault", s.spec.secrets_dir.empty()},
                      {"Leases", leases}};
}

// Invalid UTF-8 in a label must not make dump() throw: replace it.
std::string Dump(const ordered_json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

std::string HumanDuration(std::chrono::nanoseconds d) {
  using std::to_string;
  using std::chrono::duration;
  double secs_f = duration<double>(d).count();
  if (secs_f < 0) secs_f = 0;
  auto seconds = static_cast<long long>(secs_f);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return to_string(seconds) + " seconds";
  auto minutes = static_cast<long long>(secs_f / 60);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return to_string(minutes) + " minutes";
  auto hours = static_cast<long long>(secs_f / 3600 + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return to_string(hours / 24 / 30) + " months";
  return to_string(static_cast<long long>(secs_f / 3600) / 24 / 365) + " years";
}

std::string Ago(TimePoint then, TimePoint now) { return HumanDuration(now - then) + " ago"; }

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i + 1 < row.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], Width(row[i]) + kPadding);
    }
  }
  for (auto& w : widths) w = std::max(w, kMinWidth);
  std::size_t line = 1;
  for (std::size_t w : widths) line += w;
  std::string out;
  out.reserve(rows.size() * (line + 32));  // the last column is not padded: a guess
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - Width(row[i]), ' ');
    }
    out += '\n';
  }
  return out;
}

std::string SecretsTable(const std::vector<Secret>& secrets, TimePoint now) {
  std::vector<std::vector<std::string>> rows = {{"ID", "NAME", "DRIVER", "CREATED", "UPDATED"}};
  rows.reserve(secrets.size() + 1);
  for (const auto& s : secrets) {
    rows.push_back({s.id, s.spec.name, "", Ago(s.created_at, now), Ago(s.updated_at, now)});
  }
  return FormatTable(rows);
}

std::string SecretsJsonLines(const std::vector<Secret>& secrets) {
  std::string out;
  for (const auto& s : secrets) {
    ordered_json labels = ordered_json::object();
    for (const auto& [k, v] : s.spec.labels) labels[k] = v;
    out += Dump(ordered_json{{"ID", s.id},
                             {"Name", s.spec.name},
                             {"Driver", ""},
                             {"CreatedAt", FormatTime(s.created_at)},
                             {"UpdatedAt", FormatTime(s.updated_at)},
                             {"Labels", labels}},
                -1);
    out += '\n';
  }
  return out;
}

std::string InspectSecretsJson(const std::vector<Secret>& secrets) {
  ordered_json a = ordered_json::array();
  for (const auto& s : secrets) a.push_back(SecretJson(s));
  return Dump(a, 4) + "\n";
}

std::string SecretHoldersTable(const std::vector<SecretHolder>& holders, TimePoint now) {
  std::vector<std::vector<std::string>> rows = {{"NODE", "CONTAINER", "SERVICE", "VERSION", "SINCE"}};
  for (const auto& h : holders) {
    rows.push_back({h.node_id, h.container_id, h.service_name,
                    h.version == 0 ? "-" : std::to_string(h.version), Ago(h.since, now)});
  }
  return FormatTable(rows);
}

std::string ServiceHoldersTable(const std::vector<SecretHolder>& holders, TimePoint now) {
  struct Row {
    const SecretHolder* first;
    std::map<std::string, std::uint64_t> versions;  // by secret name
  };
  std::map<std::pair<std::string, std::string>, Row> by_container;  // (node, container)
  for (const auto& h : holders) {
    auto [it, added] = by_container.try_emplace({h.node_id, h.container_id}, Row{&h, {}});
    it->second.versions[h.secret_name] = h.version;
  }
  std::vector<std::vector<std::string>> rows = {{"CONTAINER", "NODE", "SINCE", "VERSIONS"}};
  for (const auto& [key, row] : by_container) {
    std::string versions;
    for (const auto& [name, v] : row.versions) {
      versions += (versions.empty() ? "" : " ") + name + ":" + (v == 0 ? "?" : std::to_string(v));
    }
    rows.push_back({row.first->container_id, row.first->node_id, Ago(row.first->since, now), versions});
  }
  return FormatTable(rows);
}

std::string RevokeReport(const std::string& name, const std::vector<SecretHolder>& pulled,
                         const std::vector<SecretHolder>& still) {
  if (still.empty()) {
    std::set<std::string> nodes;
    for (const auto& h : pulled) nodes.insert(h.node_id);
    const auto plural = [](std::size_t n, const char* word) {
      return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
    };
    return "revoked " + name + ": pulled from " + plural(pulled.size(), "container") + " on " +
           plural(nodes.size(), "node") + "\n";
  }
  std::vector<std::vector<std::string>> rows = {{"NODE", "CONTAINER"}};
  for (const auto& h : still) rows.push_back({h.node_id, h.container_id});
  return "revoked " + name + "; still held by:\n" + FormatTable(rows);
}

std::string ServicesTable(const std::vector<Service>& services, TimePoint now) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "SECRETS", "LEASES", "CREATED", "UPDATED"}};
  for (const auto& s : services) {
    rows.push_back({s.id, s.spec.name, std::to_string(s.spec.secrets.size()),
                    std::to_string(s.leases.size()), Ago(s.created_at, now),
                    Ago(s.updated_at, now)});
  }
  return FormatTable(rows);
}

std::string ServicesJsonLines(const std::vector<Service>& services) {
  std::string out;
  for (const auto& s : services) {
    ordered_json names = ordered_json::array();
    for (const auto& r : s.spec.secrets) names.push_back(r.secret_name);
    out += Dump(ordered_json{{"ID", s.id},
                             {"Name", s.spec.name},
                             {"Secrets", names},
                             {"Leases", s.leases.size()},
                             {"CreatedAt", FormatTime(s.created_at)},
                             {"UpdatedAt", FormatTime(s.updated_at)}},
                -1);
    out += '\n';
  }
  return out;
}

std::string InspectServicesJson(const std::vector<Service>& services) {
  ordered_json a = ordered_json::array();
  for (const auto& s : services) a.push_back(ServiceJson(s));
  return Dump(a, 4) + "\n";
}

}  // namespace ocisecrets
