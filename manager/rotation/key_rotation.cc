#include "manager/rotation/key_rotation.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "manager/cluster/cluster_manager.h"
#include "manager/registry/registry.h"
#include "shared/base64.h"

namespace ocisecrets {
namespace {

using nlohmann::json;

// Cursor values past the payload walk (payload keys all start with "payloads/").
constexpr std::string_view kCursorCluster = "cluster/";  // next: the cluster's records
constexpr std::string_view kCursorCheck = "check";       // next: the final scan
// Room left in a batch txn for the rotation record itself and the compares' keys.
constexpr std::size_t kRecordRoom = 4096;

void Log(const std::string& line) {
  std::fprintf(stderr, "oci-secretsd: key rotation: %s\n", line.c_str());
}

std::string SealedText(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

std::string Base64Of(const std::string& s) {
  return Base64Encode(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// The ClusterID the cluster's records are sealed for; nullopt without a cluster.
Result<std::optional<std::string>> ClusterIdOf(KvStore& kv) {
  auto info = kv.Get(std::string(kClusterInfoKey));
  if (!info.ok() && info.status().code() == StatusCode::kNotFound) {
    return std::optional<std::string>();
  }
  if (!info.ok()) return info.status().WithContext("read cluster/info");
  json j = json::parse(info->value, nullptr, false);
  auto id = j.is_object() ? j.find("ClusterID") : j.end();
  if (!j.is_object() || id == j.end() || !id->is_string()) {
    return Status::DataLoss("store record cluster/info: malformed");
  }
  return std::optional<std::string>(id->get<std::string>());
}

// One sealed record of the cluster: where it lives and its sealed bytes (the CA's
// SealedKey is base64 inside a JSON record; a token's record is the sealed bytes).
struct ClusterSealed {
  KeyValue kv;
  std::string sealed;
  json ca_json;  // cluster/ca only
};

Result<std::vector<ClusterSealed>> ReadClusterSealed(KvStore& kv) {
  std::vector<ClusterSealed> out;
  auto ca = kv.Get(std::string(kClusterCaKey));
  if (!ca.ok() && ca.status().code() != StatusCode::kNotFound) {
    return ca.status().WithContext("read cluster/ca");
  }
  if (ca.ok()) {
    ClusterSealed c;
    c.ca_json = json::parse(ca->value, nullptr, false);
    auto field = c.ca_json.is_object() ? c.ca_json.find("SealedKey") : c.ca_json.end();
    if (!c.ca_json.is_object() || field == c.ca_json.end() || !field->is_string()) {
      return Status::DataLoss("store record cluster/ca: malformed");
    }
    ASSIGN_OR_RETURN(SecretBytes sealed, Base64Decode(field->get<std::string>()),
                     "cluster/ca: SealedKey");
    c.sealed = SealedText(sealed);
    c.kv = std::move(*ca);
    out.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN(std::vector<KeyValue> tokens, kv.Range(std::string(kClusterTokenPrefix)),
                   "read cluster/tokens");
  for (KeyValue& t : tokens) {
    ClusterSealed c;
    c.sealed = t.value;
    c.kv = std::move(t);
    out.push_back(std::move(c));
  }
  return out;
}

// How many records hold a sealed value under a term older than current: the final scan.
Result<std::int64_t> CountStale(KvStore& kv, std::uint32_t current) {
  std::int64_t stale = 0;
  auto check = [&](const std::string& key, std::string_view sealed) -> Status {
    ASSIGN_OR_RETURN(std::uint32_t term, Keyring::TermOf(sealed), key);
    if (term < current) ++stale;
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(std::vector<KeyValue> payloads, kv.Range(std::string(kPayloadPrefix)),
                   "read payloads");
  for (const KeyValue& p : payloads) RETURN_IF_ERROR(check(p.key, p.value), "final scan");
  ASSIGN_OR_RETURN(std::vector<ClusterSealed> cluster, ReadClusterSealed(kv), "final scan");
  for (const ClusterSealed& c : cluster) RETURN_IF_ERROR(check(c.kv.key, c.sealed), "final scan");
  return stale;
}

}  // namespace

struct KeyRotation::Record {
  std::uint32_t term = 0;
  std::string cursor;
  std::int64_t done = 0;
  std::int64_t total = 0;
  std::string owner;
  TimePoint lease_until{};
  TimePoint started_at{};
  std::optional<TimePoint> finished_at;
  std::int64_t mod_revision = 0;  // of the record as read (0: absent)

  std::string ToJson() const {
    return json{{"Term", term},
                {"Cursor", cursor},
                {"Done", done},
                {"Total", total},
                {"Owner", owner},
                {"LeaseUntil", FormatTime(lease_until)},
                {"StartedAt", FormatTime(started_at)},
                {"FinishedAt", finished_at ? FormatTime(*finished_at) : std::string()}}
        .dump();
  }

  static Result<Record> Parse(const KeyValue& kv) {
    const Status malformed = Status::DataLoss("store record keyring/rotation: malformed");
    json j = json::parse(kv.value, nullptr, false);
    if (!j.is_object()) return malformed;
    Record r;
    try {
      r.term = j.at("Term").get<std::uint32_t>();
      r.cursor = j.at("Cursor").get<std::string>();
      r.done = j.at("Done").get<std::int64_t>();
      r.total = j.at("Total").get<std::int64_t>();
      r.owner = j.at("Owner").get<std::string>();
      ASSIGN_OR_RETURN(r.lease_until, ParseTime(j.at("LeaseUntil").get<std::string>()),
                       "keyring/rotation: LeaseUntil");
      ASSIGN_OR_RETURN(r.started_at, ParseTime(j.at("StartedAt").get<std::string>()),
                       "keyring/rotation: StartedAt");
      std::string finished = j.at("FinishedAt").get<std::string>();
      if (!finished.empty()) {
        ASSIGN_OR_RETURN(TimePoint t, ParseTime(finished), "keyring/rotation: FinishedAt");
        r.finished_at = t;
      }
    } catch (const json::exception&) {
      return malformed;
    }
    r.mod_revision = kv.mod_revision;
    return r;
  }
};

KeyRotation::KeyRotation(KvStore* kv, Keyring* keyring, KeyRotationOptions options)
    : kv_(kv), keyring_(keyring), options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return TimePoint(Clock::now()); };
  if (!(options_.rate > 0)) options_.rate = kDefaultReencryptRate;
}

KeyRotation::~KeyRotation() { Stop(); }

Result<std::optional<KeyRotation::Record>> KeyRotation::ReadRecord() {
  auto kv = kv_->Get(std::string(kRotationKey));
  if (!kv.ok() && kv.status().code() == StatusCode::kNotFound) return std::optional<Record>();
  if (!kv.ok()) return kv.status().WithContext("read keyring/rotation");
  ASSIGN_OR_RETURN(Record r, Record::Parse(*kv), "");
  return std::optional<Record>(std::move(r));
}

Result<bool> KeyRotation::CommitWithRecord(Txn txn, Record& record) {
  record.owner = options_.owner;
  record.lease_until = Now() + kRotationLease;
  txn.compares.push_back({std::string(kRotationKey), record.mod_revision});
  txn.ops.push_back({Op::Kind::kPut, std::string(kRotationKey), record.ToJson()});
  ASSIGN_OR_RETURN(TxnResult r, kv_->Commit(txn), "store keyring/rotation");
  if (r.succeeded) record.mod_revision = r.revision;
  return r.succeeded;
}

Result<std::uint32_t> KeyRotation::Start() {
  std::lock_guard<std::mutex> lock(step_mu_);
  ASSIGN_OR_RETURN(std::optional<Record> existing, ReadRecord(), "key rotation");
  if (existing && !existing->finished_at) {
    return Status::FailedPrecondition("a key rotation is already running (" +
                                      std::to_string(existing->done) + " of " +
                                      std::to_string(existing->total) + " records)");
  }
  ASSIGN_OR_RETURN(std::uint32_t term, keyring_->Rotate(), "");
  ASSIGN_OR_RETURN(std::vector<KeyValue> payloads,
                   kv_->Range(std::string(kPayloadPrefix), /*keys_only=*/true),
                   "key rotation: count payloads");
  ASSIGN_OR_RETURN(std::vector<ClusterSealed> cluster, ReadClusterSealed(*kv_),
                   "key rotation: count cluster records");
  Record record;
  record.term = term;
  record.total = static_cast<std::int64_t>(payloads.size() + cluster.size());
  record.started_at = Now();
  record.mod_revision = existing ? existing->mod_revision : 0;
  ASSIGN_OR_RETURN(bool stored, CommitWithRecord(Txn{}, record), "key rotation");
  if (!stored) {
    return Status::FailedPrecondition(
        "a key rotation is already running (another manager started one just now)");
  }
  walk_for_.clear();
  Log("term " + std::to_string(term) + " is current; re-encrypting " +
      std::to_string(record.total) + " records");
  cv_.notify_all();
  return term;
}

Result<std::optional<KeyRotation::Record>> KeyRotation::Acquire() {
  ASSIGN_OR_RETURN(std::optional<Record> record, ReadRecord(), "");
  if (!record || record->finished_at) return std::optional<Record>();
  if (record->owner == options_.owner) return record;
  if (record->lease_until > Now()) return std::optional<Record>();
  // The owner stopped renewing: take the pass over from its cursor.
  std::string previous = record->owner;
  ASSIGN_OR_RETURN(bool taken, CommitWithRecord(Txn{}, *record), "take over");
  if (!taken) return std::optional<Record>();  // another manager was quicker
  walk_for_.clear();
  RETURN_IF_ERROR(keyring_->Refresh(), "");
  Log("took over the pass to term " + std::to_string(record->term) + " from " + previous +
      " at " + std::to_string(record->done) + " of " + std::to_string(record->total) +
      " records");
  return record;
}

Result<std::size_t> KeyRotation::Step(std::size_t max_records) {
  std::lock_guard<std::mutex> lock(step_mu_);
  if (keyring_->locked()) return std::size_t{0};
  ASSIGN_OR_RETURN(std::optional<Record> record, Acquire(), "key rotation");
  if (!record) return std::size_t{0};
  if (record->cursor == kCursorCheck) return Finish(*record);
  if (record->cursor == kCursorCluster) return ClusterRecords(*record);
  return PayloadBatch(*record, max_records);
}

Result<std::size_t> KeyRotation::PayloadBatch(Record& record, std::size_t max_records) {
  const std::string pass = FormatTime(record.started_at);
  if (walk_for_ != pass || record.cursor.empty()) {
    ASSIGN_OR_RETURN(std::vector<KeyValue> keys,
                     kv_->Range(std::string(kPayloadPrefix), /*keys_only=*/true),
                     "key rotation: list payloads");
    walk_keys_.clear();
    for (KeyValue& k : keys) walk_keys_.push_back(std::move(k.key));
    walk_for_ = pass;
  }
  auto next = std::upper_bound(walk_keys_.begin(), walk_keys_.end(), record.cursor);
  const std::size_t limit = std::clamp<std::size_t>(max_records, 1, kMaxTxnOps - 1);
  Txn txn;
  std::size_t bytes = 0;
  std::size_t handled = 0;
  std::string cursor = record.cursor;
  for (; next != walk_keys_.end() && handled < limit; ++next) {
    const std::string& key = *next;
    auto kv = kv_->Get(key);
    if (!kv.ok() && kv.status().code() != StatusCode::kNotFound) {
      return kv.status().WithContext("key rotation: read " + key);
    }
    if (kv.ok()) {  // a record deleted since the walk began is simply skipped
      const std::string id = key.substr(kPayloadPrefix.size());
      ASSIGN_OR_RETURN(std::optional<std::string> resealed,
                       keyring_->Reseal(key, id, kPayloadVersion, kv->value),
                       "key rotation: " + key);
      if (resealed) {
        std::size_t size = 2 * key.size() + resealed->size();
        if (!txn.ops.empty() && bytes + size + kRecordRoom > kMaxTxnBytes) break;
        bytes += size;
        txn.compares.push_back({key, kv->mod_revision});
        txn.ops.push_back({Op::Kind::kPut, key, std::move(*resealed)});
      }
    }
    ++handled;
    cursor = key;
  }
  if (next == walk_keys_.end()) cursor = std::string(kCursorCluster);
  record.cursor = cursor;
  record.done += static_cast<std::int64_t>(handled);
  ASSIGN_OR_RETURN(bool stored, CommitWithRecord(std::move(txn), record), "key rotation");
  // Not stored: a record changed meanwhile (or the pass was taken): the next Step reads
  // the record again and retries from the same cursor.
  return stored ? std::max<std::size_t>(handled, 1) : 0;
}

Result<std::size_t> KeyRotation::ClusterRecords(Record& record) {
  ASSIGN_OR_RETURN(std::optional<std::string> cluster_id, ClusterIdOf(*kv_), "key rotation");
  Txn txn;
  std::size_t handled = 0;
  if (cluster_id) {
    ASSIGN_OR_RETURN(std::vector<ClusterSealed> sealed, ReadClusterSealed(*kv_), "key rotation");
    for (ClusterSealed& c : sealed) {
      ++handled;
      ASSIGN_OR_RETURN(std::optional<std::string> resealed,
                       keyring_->Reseal(c.kv.key, *cluster_id, 1, c.sealed),
                       "key rotation: " + c.kv.key);
      if (!resealed) continue;
      std::string value = std::move(*resealed);
      if (c.kv.key == kClusterCaKey) {
        c.ca_json["SealedKey"] = Base64Of(value);
        value = c.ca_json.dump();
      }
      txn.compares.push_back({c.kv.key, c.kv.mod_revision});
      txn.ops.push_back({Op::Kind::kPut, c.kv.key, std::move(value)});
    }
  }
  const bool changed = !txn.ops.empty();
  record.cursor = std::string(kCursorCheck);
  record.done += static_cast<std::int64_t>(handled);
  ASSIGN_OR_RETURN(bool stored, CommitWithRecord(std::move(txn), record), "key rotation");
  if (!stored) return std::size_t{0};
  if (changed && options_.on_cluster_resealed) options_.on_cluster_resealed();
  return std::max<std::size_t>(handled, 1);
}

Result<std::size_t> KeyRotation::Finish(Record& record) {
  if (Now() < record.started_at + options_.retire_grace) {
    // Too early to trust the final scan (see the header): keep the pass, scan later.
    if (record.lease_until - Now() < kRotationLease / 2) {
      ASSIGN_OR_RETURN(bool renewed, CommitWithRecord(Txn{}, record), "key rotation");
      (void)renewed;  // not renewed: the pass was taken; the next Step reads it again
    }
    return std::size_t{0};
  }
  RETURN_IF_ERROR(keyring_->Refresh(), "key rotation");
  const std::uint32_t current = keyring_->current_term();
  ASSIGN_OR_RETURN(std::int64_t stale, CountStale(*kv_, current), "key rotation");
  if (stale > 0) {
    // Sealed under an older term after the walk passed their keys (or by a manager that
    // had not seen the new term yet): walk again.
    Log(std::to_string(stale) + " records still use an older term: walking again");
    record.cursor.clear();
    record.total += stale;
    ASSIGN_OR_RETURN(bool stored, CommitWithRecord(Txn{}, record), "key rotation");
    return stored ? std::size_t{1} : std::size_t{0};
  }
  std::string retired;
  for (std::uint32_t term : keyring_->terms()) {
    if (term >= current) continue;
    RETURN_IF_ERROR(keyring_->Retire(term), "key rotation");
    retired += (retired.empty() ? "" : ", ") + std::to_string(term);
  }
  record.finished_at = Now();
  record.cursor.clear();
  ASSIGN_OR_RETURN(bool stored, CommitWithRecord(Txn{}, record), "key rotation");
  if (!stored) return std::size_t{0};
  Log("done: every record uses term " + std::to_string(current) +
      (retired.empty() ? std::string() : "; retired term " + retired));
  return std::size_t{1};
}

Result<KeyStatus> KeyRotation::GetKeyStatus() {
  // A done pass has retired every older term, so a done record beside an older term
  // means this keyring's terms predate the retire: read again rather than wait for the
  // watch. That happens on another manager, whose keyring learns of the retire later, and
  // here when terms are read before a Finish that ends between the two reads; reading the
  // record first (Finish retires before it stores FinishedAt) spares this manager the reread.
  ASSIGN_OR_RETURN(std::optional<Record> record, ReadRecord(), "key rotation");
  KeyStatus status;
  status.key_terms = keyring_->terms();
  if (record && record->finished_at && !status.key_terms.empty() &&
      status.key_terms.front() < record->term) {
    RETURN_IF_ERROR(keyring_->Refresh(), "key rotation");
    status.key_terms = keyring_->terms();
  }
  status.current_term = keyring_->current_term();
  if (record) {
    status.rotation = KeyRotationProgress{record->term, record->done, record->total,
                                          record->finished_at ? "done" : "running"};
  }
  return status;
}

void KeyRotation::StartBackground() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Loop(); });
}

void KeyRotation::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    if (watcher_) watcher_->Cancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void KeyRotation::Loop() {
  using Steady = std::chrono::steady_clock;
  const std::size_t batch =
      std::clamp<std::size_t>(static_cast<std::size_t>(options_.rate / 10), 1, kMaxTxnOps - 1);
  std::string last_error;
  auto report = [&](const Status& s) {
    if (s.ok() || s.message() == last_error) return;
    last_error = s.message();
    Log(last_error);
  };
  Steady::time_point next_refresh = Steady::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // Follow keyring/: a term another manager made or retired is known here at once.
    if (!watcher_) {
      lock.unlock();
      Result<std::int64_t> revision = kv_->Revision();
      Result<std::unique_ptr<Watcher>> watcher =
          revision.ok() ? kv_->Watch(std::string(kKeyringPrefix), *revision + 1)
                        : Result<std::unique_ptr<Watcher>>(revision.status());
      report(watcher.status().WithContext("watch keyring/"));
      lock.lock();
      if (stop_) break;
      if (watcher.ok()) watcher_ = std::move(*watcher);
      next_refresh = Steady::now();  // what changed before the watch began
    }
    lock.unlock();
    if (Steady::now() >= next_refresh) {
      report(keyring_->Refresh());
      next_refresh = Steady::now() + kKeyringRefreshInterval;
    }
    Result<std::size_t> done = Step(batch);
    report(done.status());
    // Idle: look again in a second (a takeover waits for the lease anyway). Working: as
    // many records per second as the rate allows.
    auto pause = std::chrono::duration<double>(1.0);
    if (done.ok() && *done > 0) {
      pause = std::chrono::duration<double>(static_cast<double>(*done) / options_.rate);
    }
    const Steady::time_point until =
        Steady::now() + std::chrono::duration_cast<Steady::duration>(pause);
    lock.lock();
    while (!stop_ && Steady::now() < until) {
      if (!watcher_) {
        cv_.wait_until(lock, until);
        continue;
      }
      Watcher* watcher = watcher_.get();
      lock.unlock();
      Result<std::vector<WatchEvent>> events = watcher->Next(until);
      bool terms_changed = false;
      if (events.ok()) {
        for (const WatchEvent& e : *events) {
          if (e.key != kRotationKey) terms_changed = true;
        }
      }
      if (terms_changed) report(keyring_->Refresh());
      lock.lock();
      if (!events.ok()) {
        watcher_.reset();  // broken or compacted: watch again and read the keyring anew
        break;
      }
      // A new pass (the record changed) is taken up at once when idle.
      if (!events->empty() && !terms_changed && pause >= std::chrono::seconds(1)) break;
    }
  }
}

}  // namespace ocisecrets
