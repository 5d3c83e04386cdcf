#include "manager/migrate/migration.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manager/store/keyring.h"

namespace ocisecrets {
namespace {

using Clock = std::chrono::steady_clock;

// Runtime state that a manager rebuilds (containers renew their leases): not copied.
constexpr std::string_view kLeasePrefix = "leases/";
constexpr std::string_view kMigratePrefix = "migrate/";
// Present only while autolock is on: the root key wrapped by the unlock key.
constexpr std::string_view kAutolockKey = "keyring/root";
constexpr std::string_view kTermPrefix = "keyring/terms/";
constexpr std::string_view kPayloadPrefix = "payloads/";
// The version bound into every payload's AAD (manager/registry/registry.cc).
constexpr std::uint64_t kPayloadVersion = 1;
constexpr const char* kPadValue = "oci-secretsd migrate: advances the revision";

bool Copied(const KeyValue& kv) {
  return !kv.key.starts_with(kLeasePrefix) && !kv.key.starts_with(kMigratePrefix);
}

// The records of the source to copy, each with the revision it gets at the destination.
struct Planned {
  const KeyValue* source = nullptr;
  std::int64_t target = 0;
};

// A set of records written by one destination txn, at revision `target`.
struct Group {
  std::int64_t target = 0;
  std::vector<const KeyValue*> records;
};

Status Differs(std::string_view key, std::string_view why) {
  return Status::FailedPrecondition(
      "the destination is neither empty nor an earlier migration of this source: " +
      std::string(key) + " " + std::string(why) +
      " (migrate into an empty store, or delete what is there)");
}

// The revision after which the copy starts: the destination's revision when it holds no
// record; else the one just before its oldest record (an earlier run wrote that record
// first, at max(its source revision, start + 1)).
Result<std::int64_t> StartRevision(KvStore& to, const std::vector<KeyValue>& existing) {
  if (existing.empty()) {
    ASSIGN_OR_RETURN(std::int64_t rev, to.Revision(), "destination revision");
    return rev;
  }
  std::int64_t oldest = existing.front().mod_revision;
  for (const KeyValue& kv : existing) oldest = std::min(oldest, kv.mod_revision);
  return oldest - 1;
}

// A record keeps its source revision unless the destination is already past it (a fresh
// etcd starts at revision 1; SQLite's first record is at 1): those few go into the first
// txn. A secret or service may not move: its revision is its Version.Index.
Result<std::vector<Planned>> Plan(const std::vector<KeyValue>& source, std::int64_t start) {
  std::vector<Planned> plan;
  plan.reserve(source.size());
  for (const KeyValue& kv : source) {
    std::int64_t target = std::max(kv.mod_revision, start + 1);
    if (target != kv.mod_revision &&
        (kv.key.starts_with("secrets/") || kv.key.starts_with("services/"))) {
      return Status::FailedPrecondition(
          kv.key + " is at revision " + std::to_string(kv.mod_revision) +
          " but the destination is already at revision " + std::to_string(start) +
          ": its Version.Index would change; migrate into a new etcd cluster or an empty "
          "state dir");
    }
    plan.push_back({&kv, target});
  }
  std::stable_sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) {
    return a.target < b.target;
  });
  return plan;
}

// Checks that `existing` (the destination's records) is exactly the part of the plan
// at revisions up to the newest of them; returns how many planned records that covers.
// A record the source does not have is named first: it tells a foreign store at once.
Result<std::size_t> CheckResumable(const std::vector<Planned>& plan,
                                   const std::vector<KeyValue>& existing) {
  std::map<std::string_view, const Planned*> planned;
  for (const Planned& p : plan) planned.emplace(p.source->key, &p);
  std::int64_t newest = 0;
  for (const KeyValue& kv : existing) {
    auto it = planned.find(kv.key);
    if (it == planned.end()) return Differs(kv.key, "is not in the source");
    if (it->second->source->value != kv.value) return Differs(kv.key, "holds another value");
    if (it->second->target != kv.mod_revision) {
      return Differs(kv.key, "is at revision " + std::to_string(kv.mod_revision) + ", not " +
                                 std::to_string(it->second->target));
    }
    newest = std::max(newest, kv.mod_revision);
  }
  std::set<std::string_view> have;
  for (const KeyValue& kv : existing) have.insert(kv.key);
  std::size_t covered = 0;
  for (const Planned& p : plan) {
    if (p.target > newest) break;  // plan is in target order
    if (!have.contains(p.source->key)) return Differs(p.source->key, "is missing");
    ++covered;
  }
  return covered;
}

std::vector<Group> Groups(const std::vector<Planned>& plan, std::size_t from) {
  std::vector<Group> groups;
  for (std::size_t i = from; i < plan.size(); ++i) {
    if (groups.empty() || groups.back().target != plan[i].target) {
      groups.push_back({plan[i].target, {}});
    }
    groups.back().records.push_back(plan[i].source);
  }
  return groups;
}

// Commits txn and checks it landed at revision `want`: anything else means someone else
// writes to the destination.
Status CommitAt(KvStore& to, const Txn& txn, std::int64_t want, std::string_view what) {
  ASSIGN_OR_RETURN(TxnResult r, to.Commit(txn), what);
  if (!r.succeeded || r.revision != want) {
    return Status::FailedPrecondition(
        std::string(what) + ": landed at revision " + std::to_string(r.revision) + ", not " +
        std::to_string(want) + ": something else writes to the destination; stop it and re-run");
  }
  return Status::Ok();
}

class Throttle {
 public:
  explicit Throttle(const MigrateOptions& options) : options_(options) {}
  // Calls the progress callback when forced or when progress_interval passed.
  Status Report(const MigrationProgress& p, bool force) {
    if (!options_.progress) return Status::Ok();
    Clock::time_point now = Clock::now();
    if (!force && now - last_ < options_.progress_interval) return Status::Ok();
    last_ = now;
    RETURN_IF_ERROR(options_.progress(p), "migrate: interrupted");
    return Status::Ok();
  }

 private:
  const MigrateOptions& options_;
  Clock::time_point last_{};
};

Status WriteGroups(KvStore& to, const std::vector<Group>& groups, MigrationProgress& progress,
                   Throttle& throttle, MigrationReport& report) {
  ASSIGN_OR_RETURN(std::int64_t rev, to.Revision(), "destination revision");
  for (const Group& g : groups) {
    if (rev >= g.target) {
      return Status::FailedPrecondition("the destination is at revision " + std::to_string(rev) +
                                        ", past " + std::to_string(g.target) + " where " +
                                        g.records.front()->key + " goes");
    }
    while (rev + 1 < g.target) {
      Txn pad;
      pad.ops.push_back({Op::Kind::kPut, kMigratePadKey, kPadValue});
      RETURN_IF_ERROR(CommitAt(to, pad, rev + 1, "pad the destination's revision"), "");
      ++rev;
      ++report.padding_txns;
    }
    Txn txn;
    for (const KeyValue* kv : g.records) txn.ops.push_back({Op::Kind::kPut, kv->key, kv->value});
    // One source txn wrote these, so they fit one txn; only the first group gathers
    // records of several (those the destination's start revision moved) and may not.
    RETURN_IF_ERROR(ValidateTxn(txn),
                    "copy the records of revision " + std::to_string(g.target));
    RETURN_IF_ERROR(CommitAt(to, txn, g.target,
                             "copy the records of revision " + std::to_string(g.target)),
                    "");
    rev = g.target;
    progress.done += g.records.size();
    RETURN_IF_ERROR(throttle.Report(progress, false), "");
  }
  return Status::Ok();
}

// The destination's records equal the plan, and every payload opens there.
Status Verify(KvStore& to, const std::vector<Planned>& plan, const KeyBytes& root_key,
              MigrationReport& report) {
  ASSIGN_OR_RETURN(std::vector<KeyValue> all, to.Range(""), "verify: read the destination");
  std::erase_if(all, [](const KeyValue& kv) { return !Copied(kv); });
  ASSIGN_OR_RETURN(std::size_t covered, CheckResumable(plan, all), "verify");
  if (covered != plan.size()) {
    return Status::Internal("verify: " + std::to_string(plan.size() - covered) +
                            " records were not copied");
  }
  bool has_terms = false;
  for (const KeyValue& kv : all) {
    if (kv.key.starts_with("secrets/")) ++report.secrets;
    if (kv.key.starts_with("services/")) ++report.services;
    if (kv.key.starts_with("nodes/")) ++report.nodes;
    if (kv.key.starts_with(kTermPrefix)) {
      ++report.key_terms;
      has_terms = true;
    }
  }
  report.records = all.size();
  if (!has_terms) {
    for (const KeyValue& kv : all) {
      if (kv.key.starts_with(kPayloadPrefix)) {
        return Status::DataLoss("verify: " + kv.key + " has no keyring to open it");
      }
    }
    return Status::Ok();
  }
  // Keyring::Open writes only on a store without terms, and this one has some.
  ASSIGN_OR_RETURN(std::unique_ptr<Keyring> keyring, Keyring::Open(root_key, to),
                   "verify: open the keyring at the destination");
  for (const KeyValue& kv : all) {
    if (!kv.key.starts_with(kPayloadPrefix)) continue;
    std::string_view id = std::string_view(kv.key).substr(kPayloadPrefix.size());
    Result<SecretBytes> plain = keyring->OpenPayload(kv.key, id, kPayloadVersion, kv.value);
    RETURN_IF_ERROR(plain.status(), "verify: " + kv.key);
  }
  return Status::Ok();
}

// Opens the source's keyring with the root key before anything is written, so that a
// wrong key fails at once. Keyring::Open writes only on a store without terms: skipped
// there.
Status CheckRootKey(KvStore& from, const std::vector<KeyValue>& source, const KeyBytes& root_key) {
  bool has_terms = std::any_of(source.begin(), source.end(), [](const KeyValue& kv) {
    return kv.key.starts_with(kTermPrefix);
  });
  if (!has_terms) return Status::Ok();
  ASSIGN_OR_RETURN(std::unique_ptr<Keyring> keyring, Keyring::Open(root_key, from),
                   "open the source's keyring");
  return Status::Ok();
}

}  // namespace

Status CheckNotAutolocked(KvStore& source) {
  Result<KeyValue> wrapped = source.Get(std::string(kAutolockKey));
  if (wrapped.ok()) {
    return Status::FailedPrecondition(
        "the source is autolocked (keyring/root): turn autolock off first: "
        "oci-secrets cluster update --autolock=false");
  }
  if (wrapped.status().code() == StatusCode::kNotFound) return Status::Ok();
  return wrapped.status().WithContext("read keyring/root");
}

Result<MigrationReport> Migrate(const MigrateOptions& options) {
  if (options.from == nullptr || options.to == nullptr) {
    return Status::InvalidArgument("migrate: a source and a destination store are needed");
  }
  KvStore& from = *options.from;
  KvStore& to = *options.to;
  Clock::time_point began = Clock::now();
  MigrationReport report;

  ASSIGN_OR_RETURN(std::int64_t source_revision, from.Revision(), "migrate: source revision");
  ASSIGN_OR_RETURN(std::vector<KeyValue> source, from.Range(""), "migrate: read the source");
  std::erase_if(source, [](const KeyValue& kv) { return !Copied(kv); });
  RETURN_IF_ERROR(CheckNotAutolocked(from), "migrate");
  RETURN_IF_ERROR(CheckRootKey(from, source, options.root_key), "migrate");

  ASSIGN_OR_RETURN(std::vector<KeyValue> existing, to.Range(""), "migrate: read the destination");
  std::erase_if(existing, [](const KeyValue& kv) { return !Copied(kv); });
  ASSIGN_OR_RETURN(std::int64_t start, StartRevision(to, existing), "migrate");
  ASSIGN_OR_RETURN(std::vector<Planned> plan, Plan(source, start), "migrate");
  ASSIGN_OR_RETURN(std::size_t covered, CheckResumable(plan, existing), "migrate");
  report.resumed = covered;

  MigrationProgress progress{covered, plan.size()};
  Throttle throttle(options);
  RETURN_IF_ERROR(throttle.Report(progress, true), "");
  RETURN_IF_ERROR(WriteGroups(to, Groups(plan, covered), progress, throttle, report), "migrate");

  Txn unpad;
  unpad.ops.push_back({Op::Kind::kDelete, kMigratePadKey, {}});
  ASSIGN_OR_RETURN(TxnResult unpadded, to.Commit(unpad), "migrate: delete " + std::string(kMigratePadKey));
  (void)unpadded;

  ASSIGN_OR_RETURN(std::int64_t source_after, from.Revision(), "migrate: source revision");
  if (source_after != source_revision) {
    return Status::FailedPrecondition(
        "migrate: the source changed during the migration (revision " +
        std::to_string(source_revision) + " then " + std::to_string(source_after) +
        "): stop every manager that uses it and re-run");
  }
  RETURN_IF_ERROR(Verify(to, plan, options.root_key, report), "migrate");
  RETURN_IF_ERROR(throttle.Report(progress, true), "");
  report.seconds = std::chrono::duration<double>(Clock::now() - began).count();
  return report;
}

}  // namespace ocisecrets
