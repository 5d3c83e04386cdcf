#include "manager/registry/lease_table.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>
#include <unordered_set>
#include <utility>

namespace ocisecrets {
namespace {

constexpr std::string_view kPrefix = "leases/";

// "<nodeID>/<containerID>", the in-memory key.
std::string LeaseKeyOf(std::string_view node_id, std::string_view container_id) {
  std::string key;
  key.reserve(node_id.size() + 1 + container_id.size());
  key.append(node_id).append(1, '/').append(container_id);
  return key;
}

// leases/<serviceID>/<nodeID>/<containerID>, the stored key.
std::string StoreKeyOf(std::string_view service_id, std::string_view lease_key) {
  std::string key;
  key.reserve(kPrefix.size() + service_id.size() + 1 + lease_key.size());
  key.append(kPrefix).append(service_id).append(1, '/').append(lease_key);
  return key;
}

// A stored key split: service, node, container. Empty when the key has another shape.
struct StoredKey {
  std::string service_id;
  std::string lease_key;  // "<nodeID>/<containerID>"
  bool legacy = false;    // leases/<serviceID>/<containerID>: the local node's
};
std::optional<StoredKey> SplitStoredKey(std::string_view key, std::string_view local_node_id) {
  if (key.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = key.substr(kPrefix.size());
  auto first = rest.find('/');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  StoredKey out;
  out.service_id = std::string(rest.substr(0, first));
  std::string_view tail = rest.substr(first + 1);
  auto second = tail.find('/');
  if (second == std::string_view::npos) {
    if (tail.empty()) return std::nullopt;
    out.legacy = true;
    out.lease_key = LeaseKeyOf(local_node_id, tail);
  } else {
    if (second == 0 || second + 1 == tail.size() ||
        tail.find('/', second + 1) != std::string_view::npos) {
      return std::nullopt;
    }
    out.lease_key = std::string(tail);
  }
  return out;
}

// A stored lease value's times and versions.
struct StoredLease {
  TimePoint created_at{};
  TimePoint expires_at{};
  std::map<std::string, std::uint64_t> versions;
};

// Empty when the value does not parse (a bad "Versions" included).
std::optional<StoredLease> ParseStoredLease(const std::string& value) {
  auto j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto created = ParseTime(j.value("CreatedAt", ""));
  auto expires = ParseTime(j.value("ExpiresAt", ""));
  if (!created.ok() || !expires.ok()) return std::nullopt;
  StoredLease out{*created, *expires, {}};
  auto versions = j.find("Versions");
  if (versions != j.end()) {
    if (!versions->is_object()) return std::nullopt;
    for (auto v = versions->begin(); v != versions->end(); ++v) {
      if (!v->is_number_unsigned()) return std::nullopt;
      out.versions[v.key()] = v->get<std::uint64_t>();
    }
  }
  return out;
}

// {"ContainerID":..,"CreatedAt":..,"ExpiresAt":..[,"Versions":{..}]}, written by hand
// (one per lease), keys sorted as nlohmann writes them.
std::string LeaseJson(std::string_view container_id, TimePoint created, TimePoint expires,
                      const std::map<std::string, std::uint64_t>& versions) {
  std::string out;
  out.reserve(96 + container_id.size() + versions.size() * 40);
  out += "{\"ContainerID\":";
  AppendJsonString(out, container_id);
  out += ",\"CreatedAt\":\"";
  AppendTime(out, created);
  out += "\",\"ExpiresAt\":\"";
  AppendTime(out, expires);
  out += '"';
  if (!versions.empty()) {
    out += ",\"Versions\":{";
    bool first = true;
    for (const auto& [id, version] : versions) {
      if (!first) out += ',';
      first = false;
      AppendJsonString(out, id);
      out += ':';
      AppendJsonUint(out, version);
    }
    out += '}';
  }
  out += '}';
  return out;
}

LeaseInfo InfoOf(std::string_view lease_key, TimePoint created, TimePoint expires,
                 std::map<std::string, std::uint64_t> versions) {
  auto slash = lease_key.find('/');
  LeaseInfo info;
  info.node_id = std::string(lease_key.substr(0, slash));
  info.container_id = std::string(lease_key.substr(slash + 1));
  info.created_at = created;
  info.expires_at = expires;
  info.versions = std::move(versions);
  return info;
}

}  // namespace

Status ValidateNodeId(std::string_view node_id) {
  bool ok = !node_id.empty() && node_id.size() <= 64 &&
            std::all_of(node_id.begin(), node_id.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || c == '.' || c == '-';
            });
  if (ok) return Status::Ok();
  return Status::InvalidArgument("invalid node ID '" + std::string(node_id.substr(0, 64)) +
                                 "': want 1 to 64 characters of a-z A-Z 0-9 _ . -");
}

LeaseTable::LeaseTable(KvStore* store, std::string local_node_id)
    : store_(store), local_node_id_(std::move(local_node_id)) {}

void LeaseTable::PendRemoveLocked(const std::string& service_id, const std::string& lease_key) {
  pending_.insert_or_assign(StoreKeyOf(service_id, lease_key), Pending{true, {}, {}, {}});
}

Status LeaseTable::Load(TimePoint now) {
  ASSIGN_OR_RETURN(auto kvs, store_->Range(std::string(kPrefix)), "load leases");
  std::lock_guard<std::mutex> lock(mu_);
  for (const KeyValue& kv : kvs) {
    auto key = SplitStoredKey(kv.key, local_node_id_);
    if (!key) continue;
    auto stored = ParseStoredLease(kv.value);
    if (!stored || stored->expires_at <= now || key->legacy) {
      pending_.insert_or_assign(kv.key, Pending{true, {}, {}, {}});
    }
    if (!stored || stored->expires_at <= now) continue;
    if (key->legacy) {
      pending_.insert_or_assign(
          StoreKeyOf(key->service_id, key->lease_key),
          Pending{false, stored->created_at, stored->expires_at, stored->versions});
    }
    earliest_expiry_ = std::min(earliest_expiry_, stored->expires_at);
    leases_.insert_or_assign(key->lease_key,
                             Record{key->service_id, stored->created_at, stored->expires_at,
                                    std::move(stored->versions)});
  }
  return Status::Ok();
}

void LeaseTable::Put(std::string_view node_id, std::string_view container_id,
                     const std::string& service_id, TimePoint now, TimePoint expires_at,
                     std::map<std::string, std::uint64_t> versions) {
  std::string key = LeaseKeyOf(node_id, container_id);
  std::lock_guard<std::mutex> lock(mu_);
  Record rec{service_id, now, expires_at, std::move(versions)};
  auto it = leases_.find(key);
  if (it != leases_.end()) {
    if (it->second.service_id == service_id) {
      rec.created_at = it->second.created_at;  // a renewal keeps its start
    } else {
      PendRemoveLocked(it->second.service_id, key);
    }
  }
  pending_.insert_or_assign(StoreKeyOf(service_id, key),
                            Pending{false, rec.created_at, rec.expires_at, rec.versions});
  earliest_expiry_ = std::min(earliest_expiry_, expires_at);
  leases_.insert_or_assign(std::move(key), std::move(rec));
}

std::optional<LeaseInfo> LeaseTable::Find(std::string_view node_id, std::string_view container_id,
                                          const std::string& service_id, TimePoint now) {
  const std::string key = LeaseKeyOf(node_id, container_id);
  const std::string stored_key = StoreKeyOf(service_id, key);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = leases_.find(key);
    if (it != leases_.end() && it->second.service_id == service_id &&
        it->second.expires_at > now) {
      return InfoOf(key, it->second.created_at, it->second.expires_at, it->second.versions);
    }
    if (auto p = pending_.find(stored_key); p != pending_.end() && p->second.remove) {
      return std::nullopt;  // ended here, not flushed yet
    }
  }
  auto kv = store_->Get(stored_key);
  if (!kv.ok()) return std::nullopt;
  auto stored = ParseStoredLease(kv->value);
  if (!stored || stored->expires_at <= now) return std::nullopt;
  return InfoOf(key, stored->created_at, stored->expires_at, std::move(stored->versions));
}

bool LeaseTable::SetVersions(std::string_view node_id, std::string_view container_id,
                             std::map<std::string, std::uint64_t> versions, TimePoint now) {
  const std::string key = LeaseKeyOf(node_id, container_id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leases_.find(key);
  if (it == leases_.end() || it->second.expires_at <= now) return false;
  it->second.versions = std::move(versions);
  pending_.insert_or_assign(StoreKeyOf(it->second.service_id, key),
                            Pending{false, it->second.created_at, it->second.expires_at,
                                    it->second.versions});
  return true;
}

bool LeaseTable::End(std::string_view node_id, std::string_view container_id) {
  std::string key = LeaseKeyOf(node_id, container_id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leases_.find(key);
  if (it == leases_.end()) return false;
  PendRemoveLocked(it->second.service_id, key);
  leases_.erase(it);
  return true;
}

void LeaseTable::ForgetService(const std::string& service_id) {
  std::string prefix = StoreKeyOf(service_id, "");
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = leases_.begin(); it != leases_.end();) {
    it = it->second.service_id == service_id ? leases_.erase(it) : std::next(it);
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->first.compare(0, prefix.size(), prefix) == 0 ? pending_.erase(it) : std::next(it);
  }
}

Status LeaseTable::Flush(TimePoint now) {
  std::unordered_map<std::string, Pending> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (earliest_expiry_ <= now) {
      earliest_expiry_ = TimePoint::max();
      for (auto it = leases_.begin(); it != leases_.end();) {
        if (it->second.expires_at <= now) {
          PendRemoveLocked(it->second.service_id, it->first);
          it = leases_.erase(it);
        } else {
          earliest_expiry_ = std::min(earliest_expiry_, it->second.expires_at);
          ++it;
        }
      }
    }
    pending.swap(pending_);
  }
  if (pending.empty()) return Status::Ok();
  std::vector<Op> ops;
  ops.reserve(pending.size());
  for (const auto& [key, p] : pending) {
    if (p.remove) {
      ops.push_back(Op{Op::Kind::kDelete, key, {}});
    } else {
      std::string_view container_id(key);
      container_id.remove_prefix(container_id.rfind('/') + 1);
      ops.push_back(Op{Op::Kind::kPut, key,
                       LeaseJson(container_id, p.created_at, p.expires_at, p.versions)});
    }
  }
  // In key order: the store's B-tree takes a batch of inserts faster that way.
  std::sort(ops.begin(), ops.end(), [](const Op& a, const Op& b) { return a.key < b.key; });
  Status first_error = Status::Ok();
  for (std::size_t begin = 0; begin < ops.size(); begin += kMaxTxnOps) {
    std::size_t end = std::min(ops.size(), begin + kMaxTxnOps);
    Txn txn;
    txn.ops.assign(std::make_move_iterator(ops.begin() + static_cast<std::ptrdiff_t>(begin)),
                   std::make_move_iterator(ops.begin() + static_cast<std::ptrdiff_t>(end)));
    auto r = store_->Commit(txn);
    if (r.ok() && r->succeeded) continue;
    // Keep this txn's writes for the next round; changes made meanwhile win.
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const Op& op : txn.ops) pending_.emplace(op.key, pending[op.key]);
    }
    if (first_error.ok()) {
      first_error = r.ok() ? Status::Internal("lease flush: unconditional txn failed")
                           : r.status().WithContext("lease flush");
    }
  }
  return first_error;
}

std::size_t LeaseTable::LiveCount(TimePoint now) {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<std::size_t>(std::count_if(
      leases_.begin(), leases_.end(), [&](const auto& e) { return e.second.expires_at > now; }));
}

std::map<std::string, std::vector<LeaseInfo>> LeaseTable::Live(const std::string& service_id,
                                                               TimePoint now) {
  std::map<std::string, std::vector<LeaseInfo>> out;
  std::unordered_set<std::string> seen;  // stored keys of the leases in memory
  auto stored = store_->Range(service_id.empty() ? std::string(kPrefix)
                                                 : StoreKeyOf(service_id, ""));
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, rec] : leases_) {
    if (rec.expires_at <= now || (!service_id.empty() && rec.service_id != service_id)) continue;
    out[rec.service_id].push_back(InfoOf(key, rec.created_at, rec.expires_at, rec.versions));
    seen.insert(StoreKeyOf(rec.service_id, key));
  }
  // Leases another manager sharing the store recorded. Those ended here but not yet
  // flushed are skipped.
  if (stored.ok()) {
    for (const KeyValue& kv : *stored) {
      auto key = SplitStoredKey(kv.key, local_node_id_);
      if (!key) continue;
      if (seen.count(StoreKeyOf(key->service_id, key->lease_key))) continue;
      if (auto p = pending_.find(kv.key); p != pending_.end() && p->second.remove) continue;
      auto lease = ParseStoredLease(kv.value);
      if (!lease || lease->expires_at <= now) continue;
      out[key->service_id].push_back(InfoOf(key->lease_key, lease->created_at, lease->expires_at,
                                            std::move(lease->versions)));
    }
  }
  for (auto& [sid, leases] : out) {
    std::sort(leases.begin(), leases.end(), [](const LeaseInfo& a, const LeaseInfo& b) {
      return std::tie(a.container_id, a.node_id) < std::tie(b.container_id, b.node_id);
    });
  }
  return out;
}

}  // namespace ocisecrets
