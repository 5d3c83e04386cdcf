#include "manager/registry/registry.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "shared/crypto.h"
#include "shared/fault_point.h"
#include "shared/signal_name.h"
#include "shared/validation.h"

namespace ocisecrets {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string SecretKey(const std::string& id) { return "secrets/" + id; }
// The ID a data version's payload is sealed for: the ID itself for version 1 (what every
// payload was before versions), "ID.N" for N >= 2; its record key is payloads/ + that.
std::string PayloadSealId(const std::string& id, std::uint64_t version) {
  return version <= 1 ? id : id + "." + std::to_string(version);
}
std::string PayloadKey(const std::string& id, std::uint64_t version = 1) {
  return std::string(kPayloadPrefix) + PayloadSealId(id, version);
}
std::string SecretNameKey(std::string_view name) { return "names/secret/" + Lower(name); }
std::string ServiceKey(const std::string& id) { return "services/" + id; }
std::string ServiceNameKey(std::string_view name) { return "names/service/" + Lower(name); }
std::string RefKey(const std::string& secret_id, const std::string& service_id) {
  return "refs/" + secret_id + "/" + service_id;
}
std::string InUseKey(const std::string& secret_id) { return "inuse/" + secret_id; }
bool IsIdPrefix(std::string_view s) {
  if (s.empty() || s.size() > 25) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

Op Put(std::string key, std::string value) {
  return Op{Op::Kind::kPut, std::move(key), std::move(value)};
}
Op Delete(std::string key) { return Op{Op::Kind::kDelete, std::move(key), {}}; }

// Current mod_revision of key, 0 when absent.
Result<std::int64_t> RevisionOf(KvStore* store, const std::string& key) {
  auto kv = store->Get(key);
  if (kv.ok()) return kv->mod_revision;
  if (kv.status().code() == StatusCode::kNotFound) return std::int64_t{0};
  return kv.status();
}

Status TooManyConflicts(std::string_view what) {
  return Status::Unavailable(std::string(what) + ": too many concurrent changes, try again");
}

Status OutOfSequence(std::string_view kind, std::string_view name, std::uint64_t have,
                     std::uint64_t want) {
  return Status::FailedPrecondition("update out of sequence: " + std::string(kind) + " " +
                                    std::string(name) + " is at version " + std::to_string(have) +
                                    ", not " + std::to_string(want));
}

// The IDs of the secrets and services whose records (secrets/ID, services/ID) key names.
void CollectChangedId(std::string_view key, std::set<std::string>* ids) {
  for (std::string_view prefix : {std::string_view("secrets/"), std::string_view("services/")}) {
    if (key.starts_with(prefix) && key.size() > prefix.size()) {
      ids->emplace(key.substr(prefix.size()));
    }
  }
}

Status Revoked(std::string_view name) {
  return Status::FailedPrecondition("secret " + std::string(name) +
                                    " is revoked: rotate it to restore");
}

// The service's UpdateSignal in its stored form: the canonical name, or empty.
Status CanonicalUpdateSignal(ServiceSpec* spec) {
  if (spec->update_signal.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(int number, SignalNumber(spec->update_signal), "UpdateSignal");
  spec->update_signal = SignalName(number);
  return Status::Ok();
}

bool MatchesLabel(const Labels& labels, const std::string& filter) {
  auto eq = filter.find('=');
  if (eq == std::string::npos) return labels.count(filter) > 0;
  auto it = labels.find(filter.substr(0, eq));
  return it != labels.end() && it->second == filter.substr(eq + 1);
}

}  // namespace

Registry::Registry(KvStore* store, PayloadSealer* sealer, RegistryOptions options)
    : store_(store),
      sealer_(sealer),
      options_(std::move(options)),
      leases_(store, options_.local_node_id) {
  // Opened here rather than on the thread, so that once the constructor returns the
  // fast path no longer asks the store (when the store is serving).
  (void)StartWatch();
  watch_thread_ = std::thread([this] { WatchLoop(); });
}

Registry::~Registry() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stopping_ = true;
    if (watcher_ != nullptr) watcher_->Cancel();
  }
  watch_cv_.notify_all();
  watch_thread_.join();
}

TimePoint Registry::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(Clock::now());
}

Status Registry::Load() { return leases_.Load(Now()); }

Result<std::string> Registry::ResolveId(std::string_view kind, std::string_view name_or_id) {
  std::string k(kind);
  if (name_or_id.empty()) return Status::InvalidArgument(k + " name or ID must be provided");
  std::string q(name_or_id);
  if (IsIdPrefix(q) && q.size() == 25) {
    auto kv = store_->Get(k + "s/" + q);
    if (kv.ok()) return q;
    if (kv.status().code() != StatusCode::kNotFound) return kv.status();
  }
  auto by_name = store_->Get("names/" + k + "/" + Lower(q));
  if (by_name.ok()) return by_name->value;
  if (by_name.status().code() != StatusCode::kNotFound) return by_name.status();
  if (IsIdPrefix(q)) {
    ASSIGN_OR_RETURN(auto matches, store_->Range(k + "s/" + q, /*keys_only=*/true), "");
    if (matches.size() == 1) return matches[0].key.substr(k.size() + 2);
    if (matches.size() > 1) {
      return Status::NotFound(k + " " + q + " is ambiguous: " + std::to_string(matches.size()) +
                              " " + k + "s have an ID starting with it");
    }
  }
  return Status::NotFound(k + " " + q + " not found");
}

Result<Secret> Registry::LoadSecret(const std::string& id, KeyValue* kv_out) {
  ASSIGN_OR_RETURN(KeyValue kv, store_->Get(SecretKey(id)), "");
  auto secret = ParseSecret(kv.value);
  if (!secret.ok()) return Status::DataLoss("stored secret " + id + ": " + secret.status().message());
  secret->version = static_cast<std::uint64_t>(kv.mod_revision);
  if (kv_out != nullptr) *kv_out = std::move(kv);
  return secret;
}

Result<Service> Registry::LoadService(const std::string& id, KeyValue* kv_out) {
  ASSIGN_OR_RETURN(KeyValue kv, store_->Get(ServiceKey(id)), "");
  auto service = ParseService(kv.value);
  if (!service.ok()) {
    return Status::DataLoss("stored service " + id + ": " + service.status().message());
  }
  service->version = static_cast<std::uint64_t>(kv.mod_revision);
  if (kv_out != nullptr) *kv_out = std::move(kv);
  return service;
}

Result<Service> Registry::ResolveService(std::string_view name_or_id, KeyValue* kv) {
  ASSIGN_OR_RETURN(std::string id, ResolveId("service", name_or_id), "");
  auto service = LoadService(id, kv);
  if (!service.ok() && service.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("service " + std::string(name_or_id) + " not found");
  }
  return service;
}

// ---- secrets --------------------------------------------------------------------------

Result<Secret> Registry::CreateSecret(const SecretSpec& spec, const SecretBytes& data) {
  RETURN_IF_ERROR(ValidateSecretName(spec.name), "");
  RETURN_IF_ERROR(ValidatePayloadSize(data.size()), "");
  for (int attempt = 0; attempt < options_.max_retries; ++attempt) {
    Secret secret;
    secret.id = options_.new_id();
    secret.created_at = secret.updated_at = Now();
    secret.data.updated_at = secret.created_at;
    secret.spec = spec;
    ASSIGN_OR_RETURN(std::string sealed,
                     sealer_->Seal(PayloadKey(secret.id), secret.id, kPayloadVersion, data),
                     "seal payload");
    // Test-only fault points (shared/fault_point.h): a leak, and an acknowledgement of
    // nothing.
    if (OCI_FAULT_POINT("payload-to-log")) {
      std::fprintf(stderr, "fault point payload-to-log: %.*s\n", static_cast<int>(data.size()),
                   reinterpret_cast<const char*>(data.data()));
    }
    if (OCI_FAULT_POINT("ack-create-before-durable")) {
      secret.version = 1;  // acknowledged, never written
      return secret;
    }
    Txn txn;
    txn.compares = {{SecretNameKey(spec.name), 0}, {SecretKey(secret.id), 0}};
    txn.ops = {Put(SecretKey(secret.id), ToJson(secret)), Put(PayloadKey(secret.id), sealed),
               Put(SecretNameKey(spec.name), secret.id)};
    ASSIGN_OR_RETURN(TxnResult r, CommitChange(txn), "store");
    if (r.succeeded) {
      secret.version = static_cast<std::uint64_t>(r.revision);
      return secret;
    }
    ASSIGN_OR_RETURN(std::int64_t name_rev, RevisionOf(store_, SecretNameKey(spec.name)), "store");
    if (name_rev != 0) return Status::AlreadyExists("secret " + spec.name + " already exists");
  }
  return TooManyConflicts("secret create");
}

Result<std::vector<Secret>> Registry::ListSecrets(const SecretFilters& filters) {
  ASSIGN_OR_RETURN(auto kvs, store_->Range("secrets/"), "store");
  std::vector<Secret> kept;
  kept.reserve(kvs.size());
  for (KeyValue& kv : kvs) {
    auto secret = ParseSecret(kv.value);
    if (!secret.ok()) return Status::DataLoss("stored " + kv.key + ": " + secret.status().message());
    std::string().swap(kv.value);  // parsed: the listing's peak memory is one copy, not two
    secret->version = static_cast<std::uint64_t>(kv.mod_revision);
    if (!filters.names.empty()) {
      const std::string lower = Lower(secret->spec.name);
      if (!std::all_of(filters.names.begin(), filters.names.end(),
                       [&](const std::string& n) { return lower.starts_with(Lower(n)); })) {
        continue;
      }
    }
    bool keep = std::all_of(filters.id_prefixes.begin(), filters.id_prefixes.end(),
                            [&](const std::string& p) { return secret->id.starts_with(p); });
    keep = keep && std::all_of(filters.labels.begin(), filters.labels.end(),
                               [&](const std::string& l) { return MatchesLabel(secret->spec.labels, l); });
    if (keep) kept.push_back(std::move(*secret));
  }
  // Sort positions, not Secrets: 100,000 of them move about a lot less that way.
  std::vector<std::pair<std::string_view, std::size_t>> order;
  order.reserve(kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) order.emplace_back(kept[i].spec.name, i);
  std::sort(order.begin(), order.end());
  std::vector<Secret> out;
  out.reserve(kept.size());
  for (const auto& [name, i] : order) out.push_back(std::move(kept[i]));
  return out;
}

Result<Secret> Registry::InspectSecret(std::string_view name_or_id) {
  ASSIGN_OR_RETURN(std::string id, ResolveId("secret", name_or_id), "");
  auto secret = LoadSecret(id, nullptr);
  if (!secret.ok() && secret.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("secret " + std::string(name_or_id) + " not found");
  }
  return secret;
}

Result<Secret> Registry::UpdateSecret(std::string_view name_or_id, std::uint64_t version,
                                      const SecretSpec& spec) {
  ASSIGN_OR_RETURN(std::string id, ResolveId("secret", name_or_id), "");
  KeyValue kv;
  ASSIGN_OR_RETURN(Secret secret, LoadSecret(id, &kv), "secret " + std::string(name_or_id));
  if (!spec.name.empty() && spec.name != secret.spec.name) {
    return Status::InvalidArgument("only updates to Labels are allowed");
  }
  if (version != secret.version) return OutOfSequence("secret", secret.spec.name, secret.version, version);
  secret.spec.labels = spec.labels;
  secret.updated_at = Now();
  Txn txn;
  txn.compares = {{SecretKey(id), static_cast<std::int64_t>(version)}};
  txn.ops = {Put(SecretKey(id), ToJson(secret))};
  ASSIGN_OR_RETURN(TxnResult r, CommitChange(txn), "store");
  if (!r.succeeded) {
    return Status::FailedPrecondition("update out of sequence: secret " + secret.spec.name +
                                      " changed meanwhile");
  }
  secret.version = static_cast<std::uint64_t>(r.revision);
  return secret;
}

Result<Secret> Registry::RemoveSecret(std::string_view name_or_id) {
  for (int attempt = 0; attempt < options_.max_retries; ++attempt) {
    ASSIGN_OR_RETURN(std::string id, ResolveId("secret", name_or_id), "");
    KeyValue kv;
    auto secret = LoadSecret(id, &kv);
    if (!secret.ok() && secret.status().code() == StatusCode::kNotFound) continue;  // raced
    if (!secret.ok()) return secret.status();
    // Read the in-use generation before the references: a reference added after this
    // read bumps it and fails the compare below.
    ASSIGN_OR_RETURN(std::int64_t inuse_rev, RevisionOf(store_, InUseKey(id)), "store");
    ASSIGN_OR_RETURN(auto refs, store_->Range("refs/" + id + "/", /*keys_only=*/true), "store");
    if (!refs.empty()) {
      std::vector<std::string> names;
      for (const KeyValue& ref : refs) {
        std::string service_id = ref.key.substr(ref.key.rfind('/') + 1);
        auto service = LoadService(service_id, nullptr);
        names.push_back(service.ok() ? service->spec.name : service_id);
      }
      std::sort(names.begin(), names.end());
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      return Status::FailedPrecondition("secret '" + secret->spec.name +
                                        "' is in use by the following service" +
                                        (names.size() > 1 ? "s" : "") + ": " + list);
    }
    Txn txn;
    txn.compares = {{SecretKey(id), kv.mod_revision}, {InUseKey(id), inuse_rev}};
    // Every data version's payload: payloads/ID and payloads/ID.N (IDs have one length,
    // so the prefix matches no other secret's).
    txn.ops = {Delete(SecretKey(id)), Op{Op::Kind::kDeletePrefix, PayloadKey(id), {}},
               Delete(SecretNameKey(secret->spec.name)), Delete(InUseKey(id))};
    ASSIGN_OR_RETURN(TxnResult r, CommitChange(txn), "store");
    if (r.succeeded) return *secret;
  }
  return TooManyConflicts("secret rm");
}

// ---- services -------------------------------------------------------------------------

Status Registry::ResolveReferences(ServiceSpec* spec, Txn* txn) {
  for (SecretReference& ref : spec->secrets) {
    std::string id = ref.secret_id;
    if (id.empty()) {
      RETURN_IF_ERROR(ValidateSecretName(ref.secret_name), "");
      auto by_name = store_->Get(SecretNameKey(ref.secret_name));
      if (!by_name.ok() && by_name.status().code() == StatusCode::kNotFound) {
        return Status::NotFound("secret " + ref.secret_name + " not found");
      }
      if (!by_name.ok()) return by_name.status();
      id = by_name->value;
    } else if (!IsIdPrefix(id) || id.size() != 25) {
      return Status::InvalidArgument("invalid secret ID " + id + ": want 25 base36 characters");
    }
    KeyValue kv;
    auto secret = LoadSecret(id, &kv);
    if (!secret.ok() && secret.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("secret " + (ref.secret_name.empty() ? id : ref.secret_name) +
                              " not found");
    }
    if (!secret.ok()) return secret.status();
    if (!ref.secret_name.empty() && Lower(ref.secret_name) != Lower(secret->spec.name)) {
      return Status::InvalidArgument("secret ID " + id + " is named " + secret->spec.name +
                                     ", not " + ref.secret_name);
    }
    ref.secret_id = id;
    ref.secret_name = secret->spec.name;
    if (ref.file.name.empty()) ref.file.name = secret->spec.name;
    txn->compares.push_back({SecretKey(id), kv.mod_revision});
  }
  return ValidateServiceSpec(*spec);
}

Result<Service> Registry::CreateService(ServiceSpec spec) {
  RETURN_IF_ERROR(ValidateServiceName(spec.name), "");
  RETURN_IF_ERROR(ValidateSecretsDir(spec.secrets_dir), "");
  ASSIGN_OR_RETURN(spec.constraints, CanonicalConstraints(spec.constraints, spec.name), "");
  RETURN_IF_ERROR(CanonicalUpdateSignal(&spec), "");
  for (int attempt = 0; attempt < options_.max_retries; ++attempt) {
    Service service;
    service.id = options_.new_id();
    service.created_at = service.updated_at = Now();
    service.spec = spec;
    Txn txn;
    txn.compares = {{ServiceNameKey(spec.name), 0}, {ServiceKey(service.id), 0}};
    RETURN_IF_ERROR(ResolveReferences(&service.spec, &txn), "");
    txn.ops = {Put(ServiceKey(service.id), ToJson(service)),
               Put(ServiceNameKey(spec.name), service.id)};
    std::set<std::string> secret_ids;
    for (const auto& ref : service.spec.secrets) secret_ids.insert(ref.secret_id);
    for (const auto& sid : secret_ids) {
      txn.ops.push_back(Put(RefKey(sid, service.id), ""));
      txn.ops.push_back(Put(InUseKey(sid), service.id));
    }
    ASSIGN_OR_RETURN(TxnResult r, CommitChange(txn), "store");
    if (r.succeeded) {
      service.version = static_cast<std::uint64_t>(r.revision);
      return service;
    }
    ASSIGN_OR_RETURN(std::int64_t name_rev, RevisionOf(store_, ServiceNameKey(spec.name)), "store");
    if (name_rev != 0) return Status::AlreadyExists("service " + spec.name + " already exists");
  }
  return TooManyConflicts("service create");
}

std::map<std::string, std::vector<LeaseInfo>> Registry::LiveLeases(const std::string& service_id) {
  return leases_.Live(service_id, Now());
}

std::vector<LeaseInfo> Registry::LeasesOf(const std::string& service_id) {
  auto all = LiveLeases(service_id);
  auto it = all.find(service_id);
  return it == all.end() ? std::vector<LeaseInfo>{} : std::move(it->second);
}

Result<std::vector<Service>> Registry::ListServices() {
  ASSIGN_OR_RETURN(auto kvs, store_->Range("services/"), "store");
  std::vector<Service> out;
  auto leases = LiveLeases("");
  for (const KeyValue& kv : kvs) {
    auto service = ParseService(kv.value);
    if (!service.ok()) {
      return Status::DataLoss("stored " + kv.key + ": " + service.status().message());
    }
    service->version = static_cast<std::uint64_t>(kv.mod_revision);
    if (auto it = leases.find(service->id); it != leases.end()) service->leases = std::move(it->second);
    out.push_back(std::move(*service));
  }
  std::sort(out.begin(), out.end(),
            [](const Service& a, const Service& b) { return a.spec.name < b.spec.name; });
  return out;
}

Result<Service> Registry::InspectService(std::string_view name_or_id) {
  ASSIGN_OR_RETURN(Service service, ResolveService(name_or_id, nullptr), "");
  service.leases = LeasesOf(service.id);
  return service;
}

Result<Service> Registry::UpdateService(std::string_view name_or_id, std::uint64_t version,
                                        ServiceSpec spec) {
  for (int attempt = 0; attempt < options_.max_retries; ++attempt) {
    KeyValue kv;
    ASSIGN_OR_RETURN(Service service, ResolveService(name_or_id, &kv), "");
    if (spec.name.empty()) spec.name = service.spec.name;
    if (spec.name != service.spec.name) {
      return Status::InvalidArgument("service name cannot be changed (" + service.spec.name +
                                     " -> " + spec.name + ")");
    }
    RETURN_IF_ERROR(ValidateSecretsDir(spec.secrets_dir), "");
    ASSIGN_OR_RETURN(spec.constraints, CanonicalConstraints(spec.constraints, spec.name), "");
    RETURN_IF_ERROR(CanonicalUpdateSignal(&spec), "");
    if (version != service.version) {
      return OutOfSequence("service", service.spec.name, service.version, version);
    }
    Txn txn;
    txn.compares = {{ServiceKey(service.id), kv.mod_revision}};
    ServiceSpec resolved = spec;
    RETURN_IF_ERROR(ResolveReferences(&resolved, &txn), "");
    std::set<std::string> old_ids, new_ids;
    for (const auto& ref : service.spec.secrets) old_ids.insert(ref.secret_id);
    for (const auto& ref : resolved.secrets) new_ids.insert(ref.secret_id);
    service.spec = std::move(resolved);
    service.updated_at = Now();
    service.leases.clear();
    txn.ops = {Put(ServiceKey(service.id), ToJson(service))};
    for (const auto& sid : old_ids) {
      if (!new_ids.count(sid)) txn.ops.push_back(Delete(RefKey(sid, service.id)));
    }
    for (const auto& sid : new_ids) {
      if (old_ids.count(sid)) continue;
      txn.ops.push_back(Put(RefKey(sid, service.id), ""));
      txn.ops.push_back(Put(InUseKey(sid), service.id));
    }
    ASSIGN_OR_RETURN(TxnResult r, CommitChange(txn), "store");
    if (r.succeeded) {
      service.version = static_cast<std::uint64_t>(r.revision);
      service.leases = LeasesOf(service.id);
      return service;
    }
    // Either the service changed (stale version next round) or a secret did (retry).
  }
  return TooManyConflicts("service update");
}

Result<Service> Registry::RemoveService(std::string_view name_or_id) {
  for (int attempt = 0; attempt < options_.max_retries; ++attempt) {
    KeyValue kv;
    auto service = ResolveService(name_or_id, &kv);
    if (!service.ok()) return service.status();
    Txn txn;
    txn.compares = {{ServiceKey(service->id), kv.mod_revision}};
    txn.ops = {Delete(ServiceKey(service->id)), Delete(ServiceNameKey(service->spec.name)),
               Op{Op::Kind::kDeletePrefix, "leases/" + service->id + "/", {}}};
    std::set<std::string> secret_ids;
    for (const auto& ref : service->spec.secrets) secret_ids.insert(ref.secret_id);
    for (const auto& sid : secret_ids) txn.ops.push_back(Delete(RefKey(sid, service->id)));
    ASSIGN_OR_RETURN(TxnResult r, CommitChange(txn), "store");
    if (r.succeeded) {
      leases_.ForgetService(service->id);
      return *service;
    }
  }
  return TooManyConflicts("service rm");
}

// ---- the plan cache and its watch ------------------------------------------------------

Result<TxnResult> Registry::CommitChange(const Txn& txn) {
  Result<TxnResult> r = store_->Commit(txn);
  // Unavailable may have applied the txn (kv_store.h): invalidate then too.
  if ((r.ok() && r->succeeded) || (!r.ok() && r.status().code() == StatusCode::kUnavailable)) {
    InvalidatePlans();
    // Every plan built from now on reads the store at this revision or later, so the
    // watch's report of this change, and of any change before it, needs no second
    // invalidation (that would cost the next lease a rebuild for nothing).
    if (r.ok()) NoteInvalidatedThrough(r->revision);
    std::set<std::string> ids;
    for (const Op& op : txn.ops) CollectChangedId(op.key, &ids);
    if (!ids.empty() && options_.on_change) {
      // The watch skips its own report of this revision: told once.
      if (r.ok()) NoteOwnRevision(r->revision);
      options_.on_change(std::vector<std::string>(ids.begin(), ids.end()));
    }
  }
  return r;
}

void Registry::NoteOwnRevision(std::int64_t revision) {
  std::lock_guard<std::mutex> lock(own_mu_);
  if (own_revisions_.size() >= kMaxOwnRevisions) own_revisions_.erase(own_revisions_.begin());
  own_revisions_.insert(revision);
}

void Registry::TellWatchedChanges(const std::vector<WatchEvent>& batch) {
  if (!options_.on_change) return;
  std::set<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(own_mu_);
    for (const WatchEvent& e : batch) {
      if (own_revisions_.count(e.mod_revision) > 0) continue;  // told at the commit
      CollectChangedId(e.key, &ids);
    }
    // The watch reports in revision order: what it passed is done with.
    if (!batch.empty()) {
      own_revisions_.erase(own_revisions_.begin(),
                           own_revisions_.upper_bound(batch.back().mod_revision));
    }
  }
  if (!ids.empty()) options_.on_change(std::vector<std::string>(ids.begin(), ids.end()));
  // Another manager's rotate, rollback or revoke: the services using the secret too.
  for (const WatchEvent& e : batch) {
    if (e.key.starts_with("secrets/") && e.key.size() > 8 && ids.count(e.key.substr(8)) > 0) {
      TellServicesOf(e.key.substr(8));
    }
  }
}

Status Registry::StartWatch() {
  ASSIGN_OR_RETURN(std::int64_t revision, store_->Revision(), "watch");
  // Everything up to `revision` is in the store already; the watch reports what follows.
  ASSIGN_OR_RETURN(std::unique_ptr<Watcher> watcher, store_->Watch("", revision + 1), "watch");
  std::lock_guard<std::mutex> lock(watch_mu_);
  if (stopping_) return Status::Unavailable("watch: registry stopping");
  watcher_ = std::move(watcher);
  // Plans built before the watch ran were checked by revision; start afresh.
  InvalidatePlans();
  watching_.store(true, std::memory_order_release);
  return Status::Ok();
}

void Registry::WatchLoop() {
  for (;;) {
    Watcher* watcher = nullptr;
    {
      std::unique_lock<std::mutex> lock(watch_mu_);
      if (stopping_) return;
      if (watcher_ == nullptr) {
        lock.unlock();
        if (!StartWatch().ok()) {
          // The store is not serving: leases check the revision meanwhile. Retry soon.
          lock.lock();
          watch_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
          continue;
        }
        lock.lock();
        if (stopping_) return;
      }
      watcher = watcher_.get();  // stays alive until this thread resets it below
    }
    for (;;) {
      auto batch = watcher->Next(std::chrono::steady_clock::now() + std::chrono::minutes(1));
      if (!batch.ok()) break;  // cancelled, compacted or unavailable: reopen (or stop)
      // Lease records are written behind by Maintain and never read by a plan.
      const std::int64_t covered = invalidated_through_.load(std::memory_order_acquire);
      std::int64_t newest = 0;
      for (const WatchEvent& e : *batch) {
        if (!e.key.starts_with("leases/") && e.mod_revision > covered) {
          newest = std::max(newest, e.mod_revision);
        }
      }
      if (newest > 0) {
        InvalidatePlans();
        NoteInvalidatedThrough(newest);
      }
      TellWatchedChanges(*batch);
    }
    // Changes may have been missed: back to checking the revision per lease.
    watching_.store(false, std::memory_order_release);
    InvalidatePlans();
    std::lock_guard<std::mutex> lock(watch_mu_);
    watcher_.reset();
  }
}

// ---- leases ---------------------------------------------------------------------------

Result<std::shared_ptr<const Registry::LeasePlan>> Registry::PlanFor(
    const std::string& service_query) {
  // Generation first: a change invalidating after this load makes this plan stale.
  const bool watched = watching_.load(std::memory_order_acquire);
  const std::uint64_t generation = plans_generation_.load(std::memory_order_acquire);
  std::int64_t revision = 0;
  if (!watched) {
    ASSIGN_OR_RETURN(revision, store_->Revision(), "store");
  }
  {
    std::lock_guard<std::mutex> lock(plans_mu_);
    auto it = plans_.find(service_query);
    if (it != plans_.end() && it->second->generation == generation &&
        (it->second->watched || it->second->revision == revision)) {
      return it->second;
    }
  }
  // Read after taking the generation and revision: if anything changes meanwhile, they
  // move and the next lease rebuilds the plan.
  auto plan = std::make_shared<LeasePlan>();
  plan->generation = generation;
  plan->watched = watched;
  plan->revision = revision;
  ASSIGN_OR_RETURN(plan->service, ResolveService(service_query, nullptr), "");
  for (const SecretReference& ref : plan->service.spec.secrets) {
    const std::string context = "service " + plan->service.spec.name + ": secret " + ref.secret_name;
    ASSIGN_OR_RETURN(Secret secret, LoadSecret(ref.secret_id, nullptr), context);
    LeasePlan::SecretPayloads& payloads = plan->secrets.emplace_back();
    payloads.data = secret.data;
    if (secret.data.revoked_at != TimePoint{}) continue;  // no payload is granted
    auto sealed = store_->Get(PayloadKey(ref.secret_id, secret.data.index));
    if (!sealed.ok()) return sealed.status().WithContext(context + ": payload");
    payloads.sealed = std::move(sealed->value);
    if (secret.data.overlap_until != TimePoint{} && secret.data.previous != 0) {
      auto previous = store_->Get(PayloadKey(ref.secret_id, secret.data.previous));
      if (!previous.ok()) return previous.status().WithContext(context + ": previous payload");
      payloads.sealed_previous = std::move(previous->value);
    }
  }
  auto constraints = ParseConstraints(plan->service.spec.constraints, plan->service.spec.name);
  if (!constraints.ok()) {
    return Status::DataLoss("stored service " + plan->service.spec.name + ": " +
                            constraints.status().message());
  }
  plan->constraints = std::move(*constraints);
  std::lock_guard<std::mutex> lock(plans_mu_);
  if (plans_.size() >= kMaxPlans) plans_.clear();
  plans_[service_query] = plan;
  return std::shared_ptr<const LeasePlan>(plan);
}

Result<LeaseOutcome> Registry::Lease(const LeaseRequest& request) {
  RETURN_IF_ERROR(ValidateContainerId(request.container_id), "");
  if (request.service.empty()) return Status::InvalidArgument("lease request: Service is required");
  ASSIGN_OR_RETURN(std::string_view node, LeaseNode(request.node_id), "");
  ASSIGN_OR_RETURN(std::shared_ptr<const LeasePlan> plan, PlanFor(request.service), "");
  const Service& service = plan->service;
  RETURN_IF_ERROR(CheckPlacement(*plan, node), "");
  const TimePoint now = Now();
  // A renewal of a running container's lease: its held versions stay as recorded, and a
  // revoked secret is left out instead of refusing the lease.
  std::optional<LeaseInfo> renewed;
  if (request.renewal) renewed = leases_.Find(node, request.container_id, service.id, now);
  LeaseOutcome out;
  out.service_id = service.id;
  out.grant.container_id = request.container_id;
  out.grant.service = service.spec.name;
  out.grant.secrets_dir = service.spec.secrets_dir;
  out.grant.update_signal = service.spec.update_signal;
  out.grant.service_id = service.id;
  out.grant.files.reserve(service.spec.secrets.size());
  std::map<std::string, std::uint64_t> versions;
  for (std::size_t i = 0; i < service.spec.secrets.size(); ++i) {
    const SecretReference& ref = service.spec.secrets[i];
    const LeasePlan::SecretPayloads& payloads = plan->secrets[i];
    const SecretData& data = payloads.data;
    if (data.revoked_at != TimePoint{}) {
      if (!renewed) return Revoked(ref.secret_name);
      if (std::find(out.grant.revoked.begin(), out.grant.revoked.end(), ref.secret_name) ==
          out.grant.revoked.end()) {
        out.grant.revoked.push_back(ref.secret_name);
      }
      continue;
    }
    // The file of one data version of the secret, its payload opened.
    auto leased = [&](std::uint64_t version, const std::string& sealed,
                      bool previous) -> Result<LeasedFile> {
      LeasedFile file;
      file.name = previous ? ref.file.name + ".previous" : ref.file.name;
      file.uid = ref.file.uid;
      file.gid = ref.file.gid;
      file.mode = ref.file.mode;
      file.secret_id = ref.secret_id;
      file.version = version;
      file.previous = previous;
      ASSIGN_OR_RETURN(file.data,
                       sealer_->Open(PayloadKey(ref.secret_id, version),
                                     PayloadSealId(ref.secret_id, version), kPayloadVersion,
                                     sealed),
                       "");
      return file;
    };
    ASSIGN_OR_RETURN(LeasedFile file, leased(data.index, payloads.sealed, false),
                     "service " + service.spec.name + ": secret " + ref.secret_name);
    out.grant.files.push_back(std::move(file));
    versions[ref.secret_id] = data.index;
    out.secret_ids.push_back(ref.secret_id);
    if (!payloads.sealed_previous.empty() && now < data.overlap_until) {
      ASSIGN_OR_RETURN(LeasedFile previous, leased(data.previous, payloads.sealed_previous, true),
                       "service " + service.spec.name + ": secret " + ref.secret_name +
                           ": previous version");
      out.grant.files.push_back(std::move(previous));
      if (out.grant.refresh_at == TimePoint{} || data.overlap_until < out.grant.refresh_at) {
        out.grant.refresh_at = data.overlap_until;
      }
    }
  }
  out.grant.expires_at = now + options_.lease_ttl;
  leases_.Put(node, request.container_id, service.id, now, out.grant.expires_at,
              renewed ? std::move(renewed->versions) : std::move(versions));
  return out;
}

Result<std::string_view> Registry::LeaseNode(std::string_view node_id) const {
  if (node_id.empty()) return std::string_view(options_.local_node_id);
  RETURN_IF_ERROR(ValidateNodeId(node_id), "");
  return node_id;
}

Status Registry::CheckPlacement(const LeasePlan& plan, std::string_view node) const {
  // The lease hot path: a service without constraints asks nothing about the node.
  if (plan.constraints.empty()) return Status::Ok();
  const std::string& name = plan.service.spec.name;
  ASSIGN_OR_RETURN(NodeAttributes attributes, NodeAttributesOf(node),
                   "service " + name + ": placement");
  std::optional<std::string> unmet = FirstUnmet(plan.constraints, attributes);
  if (!unmet) return Status::Ok();
  return Status::PermissionDenied("node " + std::string(node) + " (" + attributes.hostname +
                                  ") does not satisfy constraint " + *unmet + " of service " +
                                  name);
}

Result<NodeAttributes> Registry::NodeAttributesOf(std::string_view node) const {
  if (options_.node_attributes) return options_.node_attributes(node);
  if (node != options_.local_node_id) {
    return Status::NotFound("node " + std::string(node) + " not found");
  }
  NodeAttributes local;
  local.id = options_.local_node_id;
  local.role = "manager";
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return PosixError("gethostname", errno);
  local.hostname = host;
  return local;
}

Result<bool> Registry::EndLease(std::string_view container_id, std::string_view node_id) {
  RETURN_IF_ERROR(ValidateContainerId(container_id), "");
  ASSIGN_OR_RETURN(std::string_view node, LeaseNode(node_id), "");
  return leases_.End(node, container_id);
}

Status Registry::Maintain() { return leases_.Flush(Now()); }

// ---- live secrets ----------------------------------------------------------------------

Result<Secret> Registry::ChangeSecretData(std::string_view name_or_id, std::string_view what,
                                          const std::function<Status(Secret*, Txn*)>& change) {
  for (int attempt = 0; attempt < options_.max_retries; ++attempt) {
    ASSIGN_OR_RETURN(std::string id, ResolveId("secret", name_or_id), "");
    KeyValue kv;
    auto secret = LoadSecret(id, &kv);
    if (!secret.ok() && secret.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("secret " + std::string(name_or_id) + " not found");
    }
    if (!secret.ok()) return secret.status();
    Txn txn;
    txn.compares = {{SecretKey(id), kv.mod_revision}};
    RETURN_IF_ERROR(change(&*secret, &txn), "");
    secret->updated_at = Now();
    txn.ops.push_back(Put(SecretKey(id), ToJson(*secret)));
    ASSIGN_OR_RETURN(TxnResult r, CommitChange(txn), "store");
    if (r.succeeded) {
      secret->version = static_cast<std::uint64_t>(r.revision);
      TellServicesOf(id);
      return *secret;
    }
  }
  return TooManyConflicts(what);
}

void Registry::TellServicesOf(const std::string& secret_id) {
  if (!options_.on_change) return;
  // A container that lost the secret (revoked) no longer names it: its service does.
  Result<std::vector<KeyValue>> refs = store_->Range("refs/" + secret_id + "/", /*keys_only=*/true);
  if (!refs.ok()) return;  // the secret's own ID was told at the commit
  std::vector<std::string> services;
  for (const KeyValue& kv : *refs) services.push_back(kv.key.substr(kv.key.rfind('/') + 1));
  if (!services.empty()) options_.on_change(services);
}

Result<Secret> Registry::RotateSecret(std::string_view name_or_id, const SecretBytes& data,
                                      std::chrono::seconds overlap) {
  RETURN_IF_ERROR(ValidatePayloadSize(data.size()), "");
  if (overlap.count() < 0 || static_cast<std::uint64_t>(overlap.count()) > kMaxOverlapSeconds) {
    return Status::InvalidArgument("overlap: want 0 to " + std::to_string(kMaxOverlapSeconds) +
                                   " seconds");
  }
  return ChangeSecretData(name_or_id, "secret rotate", [&](Secret* s, Txn* txn) -> Status {
    const TimePoint now = Now();
    SecretData next;
    next.index = std::max(s->data.index, s->data.previous) + 1;
    next.updated_at = now;
    next.previous = s->data.index;
    if (overlap.count() > 0) next.overlap_until = now + overlap;
    ASSIGN_OR_RETURN(std::string sealed,
                     sealer_->Seal(PayloadKey(s->id, next.index), PayloadSealId(s->id, next.index),
                                   kPayloadVersion, data),
                     "seal payload");
    txn->ops.push_back(Put(PayloadKey(s->id, next.index), std::move(sealed)));
    // At most two payloads: current and previous. The one before goes.
    if (s->data.previous != 0) txn->ops.push_back(Delete(PayloadKey(s->id, s->data.previous)));
    s->data = next;
    return Status::Ok();
  });
}

Result<SecretRotateResult> Registry::RotateSecretIfChanged(std::string_view name_or_id,
                                                           const SecretBytes& data,
                                                           std::chrono::seconds overlap) {
  ASSIGN_OR_RETURN(std::string id, ResolveId("secret", name_or_id), "");
  auto secret = LoadSecret(id, nullptr);
  if (!secret.ok() && secret.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("secret " + std::string(name_or_id) + " not found");
  }
  if (!secret.ok()) return secret.status();
  if (secret->data.revoked_at == TimePoint{}) {
    const std::uint64_t index = secret->data.index;
    ASSIGN_OR_RETURN(KeyValue sealed, store_->Get(PayloadKey(id, index)), "secret rotate: payload");
    ASSIGN_OR_RETURN(SecretBytes current,
                     sealer_->Open(PayloadKey(id, index), PayloadSealId(id, index),
                                   kPayloadVersion, sealed.value),
                     "secret rotate: payload");
    if (ConstantTimeEquals(current, data)) return SecretRotateResult{*std::move(secret), false};
  }
  ASSIGN_OR_RETURN(Secret rotated, RotateSecret(id, data, overlap), "");
  return SecretRotateResult{std::move(rotated), true};
}

Result<Secret> Registry::RollbackSecret(std::string_view name_or_id) {
  return ChangeSecretData(name_or_id, "secret rollback", [&](Secret* s, Txn*) -> Status {
    if (s->data.revoked_at != TimePoint{}) return Revoked(s->spec.name);
    if (s->data.previous == 0) {
      return Status::FailedPrecondition("secret " + s->spec.name + " has no previous version");
    }
    std::swap(s->data.index, s->data.previous);
    s->data.updated_at = Now();
    s->data.overlap_until = {};
    return Status::Ok();
  });
}

Result<Secret> Registry::RevokeSecret(std::string_view name_or_id) {
  return ChangeSecretData(name_or_id, "secret revoke", [&](Secret* s, Txn*) -> Status {
    if (s->data.revoked_at == TimePoint{}) s->data.revoked_at = Now();
    s->data.overlap_until = {};
    return Status::Ok();
  });
}

namespace {

// One row per (lease, secret of the lease's service) that the lease holds, in `rows`.
void AppendHolders(const Service& service, const std::vector<LeaseInfo>& leases,
                   std::string_view only_secret_id, std::vector<SecretHolder>* rows) {
  for (const LeaseInfo& lease : leases) {
    std::set<std::string> done;
    for (const SecretReference& ref : service.spec.secrets) {
      if (!only_secret_id.empty() && ref.secret_id != only_secret_id) continue;
      auto held = lease.versions.find(ref.secret_id);
      if (held == lease.versions.end() || !done.insert(ref.secret_id).second) continue;
      SecretHolder h;
      h.node_id = lease.node_id;
      h.container_id = lease.container_id;
      h.service_id = service.id;
      h.service_name = service.spec.name;
      h.secret_id = ref.secret_id;
      h.secret_name = ref.secret_name;
      h.version = held->second;
      h.since = lease.created_at;
      rows->push_back(std::move(h));
    }
  }
}

void SortHolders(std::vector<SecretHolder>* rows) {
  std::sort(rows->begin(), rows->end(), [](const SecretHolder& a, const SecretHolder& b) {
    return std::tie(a.node_id, a.container_id, a.secret_name) <
           std::tie(b.node_id, b.container_id, b.secret_name);
  });
}

}  // namespace

Result<std::vector<SecretHolder>> Registry::SecretHolders(std::string_view name_or_id) {
  ASSIGN_OR_RETURN(Secret secret, InspectSecret(name_or_id), "");
  ASSIGN_OR_RETURN(auto refs, store_->Range("refs/" + secret.id + "/", /*keys_only=*/true),
                   "store");
  std::vector<SecretHolder> rows;
  if (refs.empty()) return rows;
  auto leases = LiveLeases("");
  for (const KeyValue& ref : refs) {
    const std::string service_id = ref.key.substr(ref.key.rfind('/') + 1);
    auto it = leases.find(service_id);
    if (it == leases.end()) continue;
    auto service = LoadService(service_id, nullptr);
    if (!service.ok() && service.status().code() == StatusCode::kNotFound) continue;  // raced
    if (!service.ok()) return service.status();
    AppendHolders(*service, it->second, secret.id, &rows);
  }
  SortHolders(&rows);
  return rows;
}

Result<std::vector<SecretHolder>> Registry::ServiceHolders(std::string_view name_or_id) {
  ASSIGN_OR_RETURN(Service service, InspectService(name_or_id), "");
  std::vector<SecretHolder> rows;
  AppendHolders(service, service.leases, "", &rows);
  SortHolders(&rows);
  return rows;
}

Status Registry::RecordHeld(std::string_view node_id, const HeldReport& report) {
  ASSIGN_OR_RETURN(std::string_view node, LeaseNode(node_id), "held report");
  for (const HeldReport::Container& c : report.containers) {
    RETURN_IF_ERROR(ValidateContainerId(c.container_id), "held report");
  }
  const TimePoint now = Now();
  for (const HeldReport::Container& c : report.containers) {
    (void)leases_.SetVersions(node, c.container_id, c.versions, now);
  }
  return Status::Ok();
}

std::size_t Registry::LeaseCount() { return leases_.LiveCount(Now()); }

}  // namespace ocisecrets
