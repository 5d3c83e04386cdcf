#include "manager/cluster/cluster_manager.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "shared/base64.h"
#include "shared/crypto.h"
#include "shared/fault_point.h"
#include "shared/join_token.h"

namespace ocisecrets {
namespace {

using nlohmann::json;

constexpr std::string_view kInfoKey = kClusterInfoKey;
constexpr std::string_view kCaKey = kClusterCaKey;
constexpr std::string_view kTokenPrefix = kClusterTokenPrefix;
constexpr std::string_view kNodePrefix = "nodes/";
constexpr std::string_view kRevokedPrefix = "revoked/";
constexpr std::string_view kRoleNode = "node";
constexpr std::string_view kRoleManager = "manager";
std::string NodeKey(std::string_view id) { return std::string(kNodePrefix) + std::string(id); }
std::string TokenKey(std::string_view role) { return std::string(kTokenPrefix) + std::string(role); }
std::string RevokedKey(std::string_view id) {
  return std::string(kRevokedPrefix) + std::string(id);
}

std::span<const std::uint8_t> BytesOf(const SecretBytes& b) { return {b.data(), b.size()}; }

SecretBytes ToSecretBytes(std::string_view s) { return SecretBytes(s.begin(), s.end()); }

std::string DefaultHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

Status ValidateHostname(std::string_view h) {
  if (h.empty() || h.size() > 253) {
    return Status::InvalidArgument("invalid hostname: want 1 to 253 characters");
  }
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("invalid hostname '" + std::string(h.substr(0, 64)) +
                                     "': only letters, digits, '.' and '-' are allowed");
    }
  }
  return Status::Ok();
}

Status ValidateLabels(const Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (k.empty()) return Status::InvalidArgument("invalid label: empty key");
    if (k.size() > 128 || v.size() > 4096) {
      return Status::InvalidArgument("invalid label " + k.substr(0, 64) + ": too long");
    }
  }
  return Status::Ok();
}

Result<std::chrono::seconds> CertExpiryOf(std::string_view text) {
  if (text.empty()) return kDefaultCertExpiry;
  ASSIGN_OR_RETURN(std::chrono::seconds d, ParseDuration(text), "cert expiry");
  return d;
}

Result<json> ParseRecord(const KeyValue& kv) {
  json j = json::parse(kv.value, nullptr, false);
  if (!j.is_object()) return Status::DataLoss("store record " + kv.key + ": malformed JSON");
  return j;
}

std::string StringField(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

TimePoint TimeField(const json& j, const char* field) {
  auto t = ParseTime(StringField(j, field));
  return t.ok() ? *t : TimePoint{};
}

// The first non-loopback IPv4 address of this machine, if any.
std::optional<std::string> FirstNonLoopbackIpv4() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (ifaddrs* a = list; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_LOOPBACK) != 0 || (a->ifa_flags & IFF_UP) == 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) != nullptr) found = text;
  }
  freeifaddrs(list);
  return found;
}

// "ADDR:PORT" or "[v6]:PORT" as a peer's address is recorded: the host, ADDR (its ports
// change). A bare IPv4 address or hostname stays as it is.
std::string PeerHost(std::string_view addr) {
  if (addr.size() >= 2 && addr.front() == '[') {
    auto close = addr.find(']');
    return std::string(addr.substr(1, close == std::string_view::npos ? addr.size() - 1 : close - 1));
  }
  if (std::count(addr.begin(), addr.end(), ':') == 1) addr = addr.substr(0, addr.rfind(':'));
  return std::string(addr);
}

}  // namespace

Result<std::string> NormalizeListenAddr(std::string_view addr) {
  auto bad = [&](std::string_view what) {
    return Status::InvalidArgument("invalid listen address '" + std::string(addr.substr(0, 300)) +
                                   "': " + std::string(what));
  };
  if (addr.empty()) return std::string(kDefaultListenAddr);
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (addr.front() == '[') {
    auto close = addr.find(']');
    if (close == std::string_view::npos) return bad("missing ']' after the IPv6 address");
    host = addr.substr(1, close - 1);
    std::string_view rest = addr.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("want [IPV6]:PORT");
      port = rest.substr(1);
      has_port = true;
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return bad("not an IPv6 address between the brackets");
    }
  } else {
    auto colon = addr.rfind(':');
    if (colon != std::string_view::npos && addr.find(':') != colon) {
      return bad("an IPv6 address needs brackets: [ADDR]:PORT");
    }
    host = addr.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = addr.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return bad("want ADDR:PORT (e.g. 0.0.0.0:7443)");
    if (!ValidateHostname(host).ok()) {
      return bad("want an IPv4 address, [IPv6] address or hostname before the port");
    }
  }
  if (has_port) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value < 1 ||
        value > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
  }
  std::string out(addr.substr(0, addr.size() - (has_port ? port.size() + 1 : 0)));
  out += ':';
  out += has_port ? std::string(port) : std::string(kDefaultListenPort);
  return out;
}

std::string AdvertisedAddr(std::string_view listen_addr) {
  auto colon = listen_addr.rfind(':');
  std::string_view host = listen_addr.substr(0, colon);
  std::string_view port = colon == std::string_view::npos ? kDefaultListenPort
                                                          : listen_addr.substr(colon + 1);
  if (host == "0.0.0.0" || host == "[::]") {
    return FirstNonLoopbackIpv4().value_or("127.0.0.1") + ":" + std::string(port);
  }
  return std::string(listen_addr);
}

ClusterManager::ClusterManager(KvStore* kv, Keyring* keyring, ClusterManagerOptions options)
    : kv_(kv), keyring_(keyring), options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return TimePoint(Clock::now()); };
  if (!options_.new_id) options_.new_id = [] { return NewObjectId(); };
  if (options_.hostname.empty()) options_.hostname = DefaultHostname();
}

TimePoint ClusterManager::Now() const { return options_.clock(); }

bool ClusterManager::initialized() const {
  std::shared_lock lock(mu_);
  return initialized_;
}

Status ClusterManager::RequireInitializedLocked() const {
  if (!initialized_) return Status::FailedPrecondition(std::string(kNotInCluster));
  return Status::Ok();
}

ClusterManager::~ClusterManager() { StopFollowing(); }

Status ClusterManager::Load() {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(LoadLocked(), "cluster");
  if (!initialized_) return Status::Ok();
  std::string addr = listen_addr_;
  lock.unlock();
  // Once per process: a join's Load after the unlock callbacks' Load is a re-read only.
  if (!listener_started_.exchange(true)) {
    if (Status s = options_.start_listener(addr); !s.ok()) {
      listener_started_.store(false);
      return s.WithContext("cluster: TLS listener on " + addr);
    }
  }
  StartFollowing();
  return Status::Ok();
}

struct ClusterManager::Snapshot {
  std::int64_t revision = 0;  // the store's revision before the reads
  bool exists = false;        // cluster/info is there
  std::string cluster_id;
  TimePoint created_at{};
  std::string info_listen_addr;
  std::chrono::seconds cert_expiry{kDefaultCertExpiry};
  std::int64_t info_revision = 0;
  std::optional<CertificateAuthority> ca;
  std::map<std::string, SecretBytes> token_secrets;
  std::map<std::string, std::int64_t> token_revisions;
  std::map<std::string, NodeEntry> nodes;
  std::unordered_set<std::string> revoked;
  std::vector<std::string> expired_revoked;  // store keys of entries that guard nothing
};

Result<ClusterManager::Snapshot> ClusterManager::ReadSnapshotLocked() const {
  Snapshot snap;
  ASSIGN_OR_RETURN(snap.revision, kv_->Revision(), "store revision");
  auto info = kv_->Get(std::string(kInfoKey));
  if (!info.ok() && info.status().code() == StatusCode::kNotFound) return snap;
  if (!info.ok()) return info.status().WithContext("read cluster/info");
  snap.exists = true;
  ASSIGN_OR_RETURN(json j, ParseRecord(*info), "");
  snap.cluster_id = StringField(j, "ClusterID");
  snap.created_at = TimeField(j, "CreatedAt");
  snap.info_listen_addr = StringField(j, "ListenAddr");
  auto expiry = j.find("CertExpiry");
  if (snap.cluster_id.empty() || snap.info_listen_addr.empty() || expiry == j.end() ||
      !expiry->is_number_integer() || expiry->get<std::int64_t>() < 1) {
    return Status::DataLoss("store record cluster/info: missing or malformed fields");
  }
  snap.cert_expiry = std::chrono::seconds(expiry->get<std::int64_t>());
  snap.info_revision = info->mod_revision;

  ASSIGN_OR_RETURN(KeyValue ca_kv, kv_->Get(std::string(kCaKey)), "read cluster/ca");
  ASSIGN_OR_RETURN(json ca_json, ParseRecord(ca_kv), "");
  ASSIGN_OR_RETURN(SecretBytes sealed, Base64Decode(StringField(ca_json, "SealedKey")),
                   "cluster/ca: SealedKey");
  std::string sealed_text(sealed.begin(), sealed.end());
  ASSIGN_OR_RETURN(SecretBytes key, keyring_->OpenPayload(kCaKey, snap.cluster_id, 1, sealed_text),
                   "open the CA key");
  ASSIGN_OR_RETURN(CertificateAuthority ca,
                   CertificateAuthority::Load(StringField(ca_json, "Certificate"), key),
                   "cluster/ca");
  snap.ca.emplace(std::move(ca));

  for (std::string_view role : {kRoleNode, kRoleManager}) {
    std::string key_name = TokenKey(role);
    ASSIGN_OR_RETURN(KeyValue t, kv_->Get(key_name), "read " + key_name);
    ASSIGN_OR_RETURN(SecretBytes secret,
                     keyring_->OpenPayload(key_name, snap.cluster_id, 1, t.value),
                     "open " + key_name);
    snap.token_secrets[std::string(role)] = std::move(secret);
    snap.token_revisions[std::string(role)] = t.mod_revision;
  }

  ASSIGN_OR_RETURN(auto nodes, kv_->Range(std::string(kNodePrefix)), "read nodes");
  for (const KeyValue& kv : nodes) {
    ASSIGN_OR_RETURN(Node n, ParseNode(kv.value), "store record " + kv.key);
    std::string id = n.id;
    snap.nodes[id] = NodeEntry{std::move(n), kv.mod_revision};
  }

  // A revoked entry whose node's certificates have all expired guards nothing any more.
  ASSIGN_OR_RETURN(auto revoked, kv_->Range(std::string(kRevokedPrefix)), "read revoked");
  TimePoint now = Now();
  for (const KeyValue& kv : revoked) {
    ASSIGN_OR_RETURN(json r, ParseRecord(kv), "");
    if (TimeField(r, "Until") < now) {
      snap.expired_revoked.push_back(kv.key);
    } else {
      snap.revoked.insert(kv.key.substr(kRevokedPrefix.size()));
    }
  }
  return snap;
}

void ClusterManager::AdoptLocked(Snapshot snap) {
  cluster_id_ = std::move(snap.cluster_id);
  created_at_ = snap.created_at;
  cert_expiry_ = snap.cert_expiry;
  info_revision_ = snap.info_revision;
  ca_ = std::move(snap.ca);
  token_secrets_ = std::move(snap.token_secrets);
  token_revisions_ = std::move(snap.token_revisions);
  nodes_ = std::move(snap.nodes);
  // This manager's address: its own record's (a manager that joined), else the one the
  // cluster was made with.
  auto self = nodes_.find(options_.local_node_id);
  listen_addr_ = self != nodes_.end() && !self->second.node.listen_addr.empty()
                     ? self->second.node.listen_addr
                     : snap.info_listen_addr;
  std::unique_lock rl(revoked_mu_);
  revoked_ = std::move(snap.revoked);
}

Status ClusterManager::LoadLocked() {
  ASSIGN_OR_RETURN(Snapshot snap, ReadSnapshotLocked(), "");
  if (!snap.exists) return Status::Ok();
  Txn expired;
  for (const std::string& key : snap.expired_revoked) {
    if (expired.ops.size() < kMaxTxnOps) expired.ops.push_back({Op::Kind::kDelete, key, ""});
  }
  if (!expired.ops.empty()) RETURN_IF_ERROR(kv_->Commit(expired).status(), "drop expired revoked nodes");
  follow_from_ = snap.revision + 1;
  AdoptLocked(std::move(snap));
  ASSIGN_OR_RETURN(credentials_, MakeServerCredentialsLocked(Now()), "server certificate");
  initialized_ = true;
  return Status::Ok();
}

Status ClusterManager::Resync() {
  std::unique_lock lock(mu_);
  if (!initialized_) return Status::Ok();
  ASSIGN_OR_RETURN(Snapshot snap, ReadSnapshotLocked(), "cluster resync");
  if (!snap.exists) return Status::Ok();  // an undone init elsewhere: keep what we know
  AdoptLocked(std::move(snap));
  return Status::Ok();
}

void ClusterManager::ApplyLocked(const WatchEvent& e) {
  const bool put = e.kind == WatchEvent::Kind::kPut;
  if (e.key.starts_with(kNodePrefix)) {
    std::string id = e.key.substr(kNodePrefix.size());
    auto it = nodes_.find(id);
    if (!put) {
      if (it != nodes_.end() && it->second.mod_revision <= e.mod_revision) nodes_.erase(it);
      std::lock_guard seen_lock(seen_mu_);
      seen_.erase(id);
      return;
    }
    if (it != nodes_.end() && it->second.mod_revision >= e.mod_revision) return;  // ours, or old
    auto node = ParseNode(e.value);
    if (!node.ok() || node->id != id) return;  // the next resync reports it
    nodes_[id] = NodeEntry{std::move(*node), e.mod_revision};
    if (id == options_.local_node_id && !nodes_[id].node.listen_addr.empty()) {
      listen_addr_ = nodes_[id].node.listen_addr;
    }
    return;
  }
  if (e.key.starts_with(kRevokedPrefix)) {
    std::string id = e.key.substr(kRevokedPrefix.size());
    std::unique_lock rl(revoked_mu_);
    if (put) {
      revoked_.insert(id);
    } else {
      revoked_.erase(id);
    }
    return;
  }
  if (!put) return;
  if (e.key.starts_with(kTokenPrefix)) {
    std::string role = e.key.substr(kTokenPrefix.size());
    if (role != kRoleNode && role != kRoleManager) return;
    if (token_revisions_[role] >= e.mod_revision) return;
    auto secret = keyring_->OpenPayload(e.key, cluster_id_, 1, e.value);
    if (!secret.ok()) return;  // the next resync reports it
    token_secrets_[role] = std::move(*secret);
    token_revisions_[role] = e.mod_revision;
    return;
  }
  if (e.key == kInfoKey && e.mod_revision > info_revision_) {
    json j = json::parse(e.value, nullptr, false);
    auto expiry = j.is_object() ? j.find("CertExpiry") : j.end();
    if (!j.is_object() || expiry == j.end() || !expiry->is_number_integer() ||
        expiry->get<std::int64_t>() < 1) {
      return;
    }
    cert_expiry_ = std::chrono::seconds(expiry->get<std::int64_t>());
    info_revision_ = e.mod_revision;
    return;
  }
  if (e.key == kCaKey) {
    // A CA key resealed under a new term (rotation): the same CA, read again.
    json ca_json = json::parse(e.value, nullptr, false);
    if (!ca_json.is_object()) return;
    auto sealed = Base64Decode(StringField(ca_json, "SealedKey"));
    if (!sealed.ok()) return;
    auto key = keyring_->OpenPayload(kCaKey, cluster_id_, 1, std::string(sealed->begin(), sealed->end()));
    if (!key.ok()) return;
    auto ca = CertificateAuthority::Load(StringField(ca_json, "Certificate"), *key);
    if (ca.ok()) ca_.emplace(std::move(*ca));
  }
}

void ClusterManager::StartFollowing() {
  std::lock_guard lock(follow_mu_);
  if (follow_thread_.joinable() || follow_stop_) return;
  std::int64_t from;
  {
    std::shared_lock l(mu_);
    from = follow_from_;
  }
  follow_thread_ = std::thread([this, from] { FollowLoop(from); });
}

void ClusterManager::StopFollowing() {
  {
    std::lock_guard lock(follow_mu_);
    follow_stop_ = true;
    if (watcher_) watcher_->Cancel();
  }
  follow_cv_.notify_all();
  if (follow_thread_.joinable()) follow_thread_.join();
}

void ClusterManager::FollowLoop(std::int64_t from_revision) {
  using SteadyClock = std::chrono::steady_clock;
  std::int64_t next = from_revision;  // the first revision the watch has to deliver
  bool need_resync = false;
  auto last_resync = SteadyClock::now();
  Watcher* watcher = nullptr;
  auto wait_retry = [this] {
    std::unique_lock lock(follow_mu_);
    follow_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return follow_stop_; });
  };
  auto drop_watcher = [this, &watcher] {
    std::lock_guard lock(follow_mu_);
    watcher_.reset();
    watcher = nullptr;
  };
  for (;;) {
    {
      std::lock_guard lock(follow_mu_);
      if (follow_stop_) return;
    }
    if (watcher == nullptr) {
      if (need_resync) {
        // By revision: what the reads below miss, the watch from revision + 1 brings.
        auto revision = kv_->Revision();
        if (!revision.ok() || !Resync().ok()) {
          wait_retry();
          continue;
        }
        next = *revision + 1;
        need_resync = false;
        last_resync = SteadyClock::now();
      }
      auto opened = kv_->Watch("", next);
      if (!opened.ok()) {
        need_resync = true;  // compacted, or the store is not serving: read it all again
        wait_retry();
        continue;
      }
      std::lock_guard lock(follow_mu_);
      if (follow_stop_) return;
      watcher_ = std::move(*opened);
      watcher = watcher_.get();
    }
    auto batch = watcher->Next(last_resync + options_.resync_interval);
    if (!batch.ok()) {
      drop_watcher();
      need_resync = true;  // events may have been lost: never trust the watch alone
      continue;
    }
    if (!batch->empty()) {
      std::unique_lock lock(mu_);
      for (const WatchEvent& e : *batch) {
        ApplyLocked(e);
        next = std::max(next, e.mod_revision + 1);
      }
    }
    if (SteadyClock::now() - last_resync >= options_.resync_interval) {
      (void)Resync();  // an error is retried at the next interval
      last_resync = SteadyClock::now();
    }
  }
}

Status ClusterManager::RereadTokens() {
  // The tokens and everything else, read again: a resync is cheap and keeps one reader.
  return Resync();
}

Result<std::string> ClusterManager::IssueLocked(std::string_view csr, const CertSubject& subject,
                                                std::chrono::seconds lifetime,
                                                TimePoint now) const {
  return ca_->Issue(csr, subject, lifetime, now);
}

std::vector<std::string> ClusterManager::ServerAltNames() const {
  std::vector<std::string> names = {"127.0.0.1", "::1", "localhost"};
  auto add = [&names](std::string name) {
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
    if (name.empty() || name == "0.0.0.0" || name == "::") return;
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  };
  auto host_of = [](const std::string& addr) { return addr.substr(0, addr.rfind(':')); };
  if (!listen_addr_.empty()) {
    add(host_of(listen_addr_));
    add(host_of(AdvertisedAddr(listen_addr_)));
  }
  add(options_.hostname);
  return names;
}

Result<std::shared_ptr<const ServerCredentials>> ClusterManager::MakeServerCredentialsLocked(
    TimePoint now) const {
  auto creds = std::make_shared<ServerCredentials>();
  ASSIGN_OR_RETURN(creds->key_pem, GenerateKeyPem(), "key");
  ASSIGN_OR_RETURN(std::string csr, MakeCsr(creds->key_pem, options_.local_node_id), "CSR");
  CertSubject subject{options_.local_node_id, std::string(kRoleManager), cluster_id_};
  subject.alt_names = ServerAltNames();
  ASSIGN_OR_RETURN(creds->cert_pem,
                   IssueLocked(csr, subject, std::max(cert_expiry_, kMinServerCertLifetime), now),
                   "issue");
  ASSIGN_OR_RETURN(CertInfo info, ParseCertificate(creds->cert_pem), "");
  creds->ca_pem = ca_->cert_pem();
  creds->issued_at = now;
  creds->not_after = info.not_after;
  return std::shared_ptr<const ServerCredentials>(std::move(creds));
}

Result<ClusterInfo> ClusterManager::Init(const ClusterInitRequest& request) {
  ASSIGN_OR_RETURN(std::string addr, NormalizeListenAddr(request.listen_addr), "");
  ASSIGN_OR_RETURN(std::chrono::seconds expiry, CertExpiryOf(request.cert_expiry), "");
  std::unique_lock lock(mu_);
  if (initialized_) return Status::FailedPrecondition("this node is already part of a cluster");
  TimePoint now = Now();
  std::string cluster_id = options_.new_id();
  ASSIGN_OR_RETURN(CertificateAuthority ca, CertificateAuthority::Create(cluster_id, kCaLifetime, now),
                   "cluster CA");

  Txn txn;
  for (std::string_view key : {kInfoKey, kCaKey}) txn.compares.push_back({std::string(key), 0});
  json info{{"ClusterID", cluster_id},
            {"CreatedAt", FormatTime(now)},
            {"ListenAddr", addr},
            {"CertExpiry", expiry.count()},
            {"ManagerNodeID", options_.local_node_id}};
  txn.ops.push_back({Op::Kind::kPut, std::string(kInfoKey), info.dump()});
  ASSIGN_OR_RETURN(std::string sealed_key,
                   keyring_->SealPayload(kCaKey, cluster_id, 1, BytesOf(ca.key_pem())), "seal CA key");
  json ca_json{{"Certificate", ca.cert_pem()},
               {"SealedKey", Base64Encode(reinterpret_cast<const std::uint8_t*>(sealed_key.data()),
                                          sealed_key.size())}};
  txn.ops.push_back({Op::Kind::kPut, std::string(kCaKey), ca_json.dump()});
  std::map<std::string, SecretBytes> secrets;
  for (std::string_view role : {kRoleNode, kRoleManager}) {
    SecretBytes secret = ToSecretBytes(NewObjectId());
    ASSIGN_OR_RETURN(std::string sealed,
                     keyring_->SealPayload(TokenKey(role), cluster_id, 1, BytesOf(secret)),
                     "seal join token");
    txn.ops.push_back({Op::Kind::kPut, TokenKey(role), std::move(sealed)});
    secrets[std::string(role)] = std::move(secret);
  }
  Node self;
  self.id = options_.local_node_id;
  self.version = 1;
  self.created_at = self.updated_at = self.last_seen = now;
  self.hostname = options_.hostname;
  self.role = std::string(kRoleManager);
  self.listen_addr = addr;
  txn.ops.push_back({Op::Kind::kPut, NodeKey(self.id), ToJson(self)});
  ASSIGN_OR_RETURN(TxnResult result, kv_->Commit(txn), "cluster init: store");
  if (!result.succeeded) {
    return Status::FailedPrecondition("this node is already part of a cluster");
  }

  // Now in memory; the store already holds it.
  cluster_id_ = cluster_id;
  created_at_ = now;
  listen_addr_ = addr;
  cert_expiry_ = expiry;
  ca_.emplace(std::move(ca));
  Status loaded = LoadLocked();  // revisions, nodes and credentials, as a restart would
  if (loaded.ok()) {
    lock.unlock();
    loaded = options_.start_listener(addr).WithContext("TLS listener on " + addr);
    if (loaded.ok()) listener_started_.store(true);
    lock.lock();
  }
  if (!loaded.ok()) {
    // Undo: a cluster without its listener would only confuse the next init.
    Txn undo;
    for (const Op& op : txn.ops) undo.ops.push_back({Op::Kind::kDelete, op.key, ""});
    (void)kv_->Commit(undo);
    initialized_ = false;
    ca_.reset();
    credentials_.reset();
    nodes_.clear();
    return loaded.WithContext("cluster init");
  }
  ClusterInfo out = InfoLocked();
  lock.unlock();
  StartFollowing();
  return out;
}

std::string ClusterManager::ManagerAddrLocked(const Node& node) const {
  if (node.id == options_.local_node_id) return AdvertisedAddr(listen_addr_);
  std::string addr = node.listen_addr;
  auto colon = addr.rfind(':');
  std::string host = addr.substr(0, colon == std::string::npos ? 0 : colon);
  if ((host == "0.0.0.0" || host == "[::]") && !node.addr.empty()) {
    std::string seen = PeerHost(node.addr);
    if (seen.find(':') != std::string::npos) seen = "[" + seen + "]";
    return seen + addr.substr(colon);
  }
  return addr;
}

std::vector<std::string> ClusterManager::ManagerAddrsLocked() const {
  std::vector<std::string> out{AdvertisedAddr(listen_addr_)};
  for (const auto& [id, entry] : nodes_) {
    if (entry.node.role != kRoleManager || id == options_.local_node_id) continue;
    std::string addr = ManagerAddrLocked(entry.node);
    if (!addr.empty() && std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  }
  return out;
}

TimePoint ClusterManager::LastSeenLocked(const Node& node) const {
  std::lock_guard seen_lock(seen_mu_);
  auto it = seen_.find(node.id);
  return it != seen_.end() && it->second.last_seen > node.last_seen ? it->second.last_seen : node.last_seen;
}

ClusterInfo ClusterManager::InfoLocked() const {
  ClusterInfo info;
  info.cluster_id = cluster_id_;
  info.created_at = created_at_;
  info.node_id = options_.local_node_id;
  info.role = std::string(kRoleManager);
  info.managers = ManagerAddrsLocked();
  TimePoint now = Now();
  for (const auto& [id, entry] : nodes_) {
    if (entry.node.role != kRoleManager) continue;
    ManagerStatus m{id, ManagerAddrLocked(entry.node),
                    id == options_.local_node_id || now - LastSeenLocked(entry.node) <= kReadyWindow};
    if (id == options_.local_node_id) {
      info.manager_status.insert(info.manager_status.begin(), std::move(m));
    } else {
      info.manager_status.push_back(std::move(m));
    }
  }
  info.ca_digest = ca_->digest();
  info.ca_expires_at = ca_->expires_at();
  info.cert_expiry_seconds = cert_expiry_.count();
  if (credentials_) info.cert_expires_at = credentials_->not_after;
  return info;
}

Result<ClusterInfo> ClusterManager::Inspect() {
  std::shared_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  return InfoLocked();
}

Result<ClusterInfo> ClusterManager::Update(const ClusterInitRequest& request) {
  if (!request.listen_addr.empty()) {
    return Status::InvalidArgument("the listen address cannot change (yet): leave ListenAddr out");
  }
  if (request.cert_expiry.empty()) {
    return Status::InvalidArgument("nothing to update: give CertExpiry (e.g. 24h)");
  }
  ASSIGN_OR_RETURN(std::chrono::seconds expiry, CertExpiryOf(request.cert_expiry), "");
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  ASSIGN_OR_RETURN(KeyValue kv, kv_->Get(std::string(kInfoKey)), "read cluster/info");
  ASSIGN_OR_RETURN(json j, ParseRecord(kv), "");
  j["CertExpiry"] = expiry.count();
  Txn txn;
  txn.compares.push_back({kv.key, kv.mod_revision});
  txn.ops.push_back({Op::Kind::kPut, kv.key, j.dump()});
  ASSIGN_OR_RETURN(TxnResult r, kv_->Commit(txn), "cluster update: store");
  if (!r.succeeded) return Status::FailedPrecondition("cluster info changed meanwhile: try again");
  cert_expiry_ = expiry;
  info_revision_ = r.revision;
  return InfoLocked();
}

Result<JoinTokenInfo> ClusterManager::JoinToken(std::string_view role, bool rotate) {
  if (role != kRoleNode && role != kRoleManager) {
    return Status::InvalidArgument("unknown role '" + std::string(role.substr(0, 32)) +
                                   "': want node or manager");
  }
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  std::string role_name(role);
  if (rotate) {
    SecretBytes secret = ToSecretBytes(NewObjectId());
    ASSIGN_OR_RETURN(std::string sealed,
                     keyring_->SealPayload(TokenKey(role), cluster_id_, 1, BytesOf(secret)),
                     "seal join token");
    Txn txn;
    txn.compares.push_back({TokenKey(role), token_revisions_[role_name]});
    txn.ops.push_back({Op::Kind::kPut, TokenKey(role), std::move(sealed)});
    ASSIGN_OR_RETURN(TxnResult r, kv_->Commit(txn), "rotate join token: store");
    if (!r.succeeded) return Status::FailedPrecondition("the join token changed meanwhile: try again");
    token_secrets_[role_name] = std::move(secret);
    token_revisions_[role_name] = r.revision;
  }
  const SecretBytes& secret = token_secrets_[role_name];
  JoinTokenInfo out;
  out.role = role_name;
  out.token = FormatJoinToken({ca_->digest(), std::string(secret.begin(), secret.end())});
  // A manager listens too: the command says where (the new manager's own address).
  out.command = "oci-secrets cluster join --token " + out.token +
                (role_name == kRoleManager ? " --listen-addr ADDR:7443" : "") + " " +
                AdvertisedAddr(listen_addr_);
  return out;
}

Result<JoinResponse> ClusterManager::CertificateResponseLocked(std::string cert) const {
  JoinResponse r;
  r.certificate = std::move(cert);
  r.ca = ca_->cert_pem();
  r.cluster_id = cluster_id_;
  r.managers = ManagerAddrsLocked();
  r.cert_expiry_seconds = cert_expiry_.count();
  return r;
}

Result<JoinResponse> ClusterManager::Join(const JoinRequest& request, std::string_view peer_addr) {
  ASSIGN_OR_RETURN(::ocisecrets::JoinToken token, ParseJoinToken(request.token), "");
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  // Both secrets are always compared, and the digest is checked with them: the answer
  // and its timing say only "valid" or "not".
  auto given = AsBytes(token.secret);
  bool node_ok = ConstantTimeEquals(given, BytesOf(token_secrets_[std::string(kRoleNode)]));
  bool manager_ok = ConstantTimeEquals(given, BytesOf(token_secrets_[std::string(kRoleManager)]));
  bool digest_ok = ConstantTimeEquals(AsBytes(token.ca_digest), AsBytes(ca_->digest()));
  WipeString(token.secret);
  if (!digest_ok || (!node_ok && !manager_ok)) {
    return Status::PermissionDenied("invalid join token");
  }
  const bool as_manager = manager_ok && !node_ok;
  std::string listen_addr;
  if (as_manager) {
    if (request.store_cluster_id != cluster_id_) {
      return Status::FailedPrecondition(std::string(kManagerNeedsSharedStore));
    }
    ASSIGN_OR_RETURN(listen_addr,
                     NormalizeListenAddr(request.listen_addr.empty() ? kDefaultListenAddr
                                                                     : std::string_view(request.listen_addr)),
                     "join");
  }
  ASSIGN_OR_RETURN(std::string csr_cn, CheckCsr(request.csr), "");
  RETURN_IF_ERROR(ValidateHostname(request.hostname), "join");
  TimePoint now = Now();
  Node node;
  if (as_manager) {
    // A manager keeps the node ID its daemon already serves as (its leases are keyed by
    // it), and names it in the CSR.
    bool id_ok = csr_cn.size() == kObjectIdLength &&
                 std::all_of(csr_cn.begin(), csr_cn.end(), [](char c) {
                   return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                 });
    if (!id_ok) {
      return Status::InvalidArgument("join: a manager's certificate request names its node ID as CN");
    }
    if (nodes_.count(csr_cn) != 0 || csr_cn == options_.local_node_id) {
      return Status::FailedPrecondition("join: node " + csr_cn + " is already part of the cluster");
    }
    node.id = csr_cn;
  } else {
    node.id = options_.new_id();
  }
  node.version = 1;
  node.created_at = node.updated_at = node.last_seen = now;
  node.hostname = request.hostname;
  node.role = std::string(as_manager ? kRoleManager : kRoleNode);
  node.addr = std::string(peer_addr.substr(0, 64));
  node.listen_addr = listen_addr;
  std::string wrapped_root_key;
  if (as_manager) {
    ASSIGN_OR_RETURN(KeyBytes root, keyring_->RootKey(), "join");
    ASSIGN_OR_RETURN(std::string wrapped, WrapForPeer(request.csr, {root.data(), root.size()}),
                     "join: wrap the root key");
    wrapped_root_key = Base64Encode(reinterpret_cast<const std::uint8_t*>(wrapped.data()), wrapped.size());
  }
  ASSIGN_OR_RETURN(std::string cert,
                   IssueLocked(request.csr, {node.id, node.role, cluster_id_}, cert_expiry_, now),
                   "");
  ASSIGN_OR_RETURN(CertInfo info, ParseCertificate(cert), "");
  node.cert_expires_at = info.not_after;
  NodeEntry entry{node, 0};
  RETURN_IF_ERROR(PutNodeLocked(entry), "join: record the node");
  std::string id = node.id;
  nodes_[id] = std::move(entry);
  {
    std::lock_guard seen_lock(seen_mu_);
    seen_[id] = SeenEntry{now, now};
  }
  ASSIGN_OR_RETURN(JoinResponse r, CertificateResponseLocked(std::move(cert)), "");
  r.node_id = id;
  r.role = node.role;
  r.wrapped_root_key = std::move(wrapped_root_key);
  return r;
}

void ClusterManager::AwaitJoin() { awaiting_join_.store(true); }

bool ClusterManager::awaiting_join() const { return awaiting_join_.load(); }

Result<ClusterInfo> ClusterManager::JoinAsManager(const JoinRequest& request) {
  std::lock_guard join_lock(join_mu_);
  if (!awaiting_join()) {
    return Status::FailedPrecondition("this manager is not waiting to join a cluster");
  }
  ASSIGN_OR_RETURN(::ocisecrets::JoinToken token, ParseJoinToken(request.token), "");
  if (request.managers.empty()) {
    return Status::InvalidArgument("no manager given: name at least one MANAGER:PORT");
  }
  ASSIGN_OR_RETURN(std::string listen_addr,
                   NormalizeListenAddr(request.listen_addr.empty() ? kDefaultListenAddr
                                                                   : std::string_view(request.listen_addr)),
                   "");
  auto info = kv_->Get(std::string(kInfoKey));
  if (!info.ok() && info.status().code() == StatusCode::kNotFound) {
    return Status::FailedPrecondition("the store holds no cluster: run oci-secrets cluster init");
  }
  if (!info.ok()) return info.status().WithContext("read cluster/info");
  ASSIGN_OR_RETURN(json info_json, ParseRecord(*info), "");
  ASSIGN_OR_RETURN(SecretBytes key, GenerateKeyPem(), "manager key");
  JoinRequest wire;
  wire.token = request.token;
  wire.hostname = options_.hostname;
  wire.listen_addr = listen_addr;
  wire.store_cluster_id = StringField(info_json, "ClusterID");
  ASSIGN_OR_RETURN(wire.csr, MakeCsr(key, options_.local_node_id), "certificate request");
  HttpRequest http{"POST", "/v1/cluster/join", ToJson(wire)};
  WipeString(wire.token);
  if (!options_.join_dialer) return Status::Internal("join: no dialer");

  using SteadyClock = std::chrono::steady_clock;
  const auto deadline = SteadyClock::now() + options_.join_budget;
  std::string tried;
  std::optional<HttpResponse> answer;
  std::string addr;
  for (std::size_t i = 0; i < request.managers.size() && !answer; ++i) {
    addr = request.managers[i];
    auto remaining = deadline - SteadyClock::now();
    if (remaining <= SteadyClock::duration::zero()) break;
    auto transport = options_.join_dialer(addr, token.ca_digest);
    auto r = transport ? transport->RoundTrip(http, SteadyClock::now() + remaining /
                                                                          static_cast<long>(request.managers.size() - i))
                       : Result<HttpResponse>(Status::Unavailable("cannot dial"));
    if (r.ok()) {
      answer = std::move(*r);
    } else {
      tried += (tried.empty() ? "" : ", ") + addr + " (" + r.status().message() + ")";
    }
  }
  WipeString(http.body);
  WipeString(token.secret);
  if (!answer) return Status::Unavailable("cannot join: no manager answered: " + tried);
  RETURN_IF_ERROR(StatusFromHttp(answer->status, answer->body), "manager " + addr);
  ASSIGN_OR_RETURN(JoinResponse joined, ParseJoinResponse(answer->body), "manager " + addr);
  ASSIGN_OR_RETURN(std::string digest, CaDigest(joined.ca), "manager " + addr + ": its CA");
  if (digest != token.ca_digest) {
    return Status::PermissionDenied("manager " + addr + ": the manager's CA does not match the join token");
  }
  RETURN_IF_ERROR(VerifyCertificate(joined.certificate, joined.ca, Now()), "manager " + addr);
  ASSIGN_OR_RETURN(CertInfo cert, ParseCertificate(joined.certificate), "manager " + addr);
  if (cert.subject.role != kRoleManager || cert.subject.node_id != options_.local_node_id ||
      joined.cluster_id != wire.store_cluster_id) {
    return Status::PermissionDenied("manager " + addr +
                                    ": the answer is not a manager certificate for this node of "
                                    "the store's cluster");
  }
  ASSIGN_OR_RETURN(SecretBytes wrapped, Base64Decode(joined.wrapped_root_key),
                   "manager " + addr + ": WrappedRootKey");
  ASSIGN_OR_RETURN(SecretBytes root, UnwrapFromPeer(key, std::string_view(reinterpret_cast<const char*>(wrapped.data()), wrapped.size())),
                   "manager " + addr);
  KeyBytes root_key(root.begin(), root.end());
  if (options_.on_joined) {
    RETURN_IF_ERROR(options_.on_joined(std::move(root_key)), "join: the root key received");
  } else {
    RETURN_IF_ERROR(keyring_->Unlock(std::move(root_key)), "join: the root key received");
  }
  awaiting_join_.store(false);
  RETURN_IF_ERROR(Load(), "join");
  return Inspect();
}

Status ClusterManager::MarkSelfSeen(TimePoint now) {
  std::unique_lock lock(mu_);
  if (!initialized_) return Status::Ok();
  auto it = nodes_.find(options_.local_node_id);
  if (it == nodes_.end() || now - it->second.node.last_seen < kSeenWriteInterval) return Status::Ok();
  NodeEntry updated = it->second;
  updated.node.last_seen = now;
  RETURN_IF_ERROR(PutNodeLocked(updated), "mark this manager seen");
  it->second = std::move(updated);
  return Status::Ok();
}

Status ClusterManager::PutNodeLocked(NodeEntry& entry) {
  Txn txn;
  std::string key = NodeKey(entry.node.id);
  txn.compares.push_back({key, entry.mod_revision});
  Node stored = entry.node;
  stored.state.clear();  // computed on every read
  txn.ops.push_back({Op::Kind::kPut, key, ToJson(stored)});
  ASSIGN_OR_RETURN(TxnResult r, kv_->Commit(txn), "store");
  if (!r.succeeded) {
    return Status::FailedPrecondition("node " + entry.node.id + " changed meanwhile: try again");
  }
  entry.mod_revision = r.revision;
  return Status::Ok();
}

Result<JoinResponse> ClusterManager::Renew(const Identity& caller, const CsrRequest& request) {
  if (caller.kind != Identity::Kind::kCertificate || caller.anonymous || !caller.role ||
      (*caller.role != Role::kNode && *caller.role != Role::kManager)) {
    return Status::PermissionDenied(
        "permission denied: renewal is for a node's or manager's own certificate");
  }
  RETURN_IF_ERROR(StillValid(caller), "");
  RETURN_IF_ERROR(CheckCsr(request.csr).status(), "");
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  auto it = nodes_.find(caller.node_id);
  if (it == nodes_.end()) {
    return Status::PermissionDenied("permission denied: node " + caller.node_id +
                                    " is not in the cluster");
  }
  TimePoint now = Now();
  std::string role(RoleName(*caller.role));
  ASSIGN_OR_RETURN(std::string cert,
                   IssueLocked(request.csr, {caller.node_id, role, cluster_id_}, cert_expiry_, now),
                   "");
  ASSIGN_OR_RETURN(CertInfo info, ParseCertificate(cert), "");
  NodeEntry updated = it->second;
  updated.node.cert_expires_at = info.not_after;
  RETURN_IF_ERROR(PutNodeLocked(updated), "renew: record the node");
  it->second = std::move(updated);
  ASSIGN_OR_RETURN(JoinResponse r, CertificateResponseLocked(std::move(cert)), "");
  r.node_id = caller.node_id;
  r.role = role;
  return r;
}

void ClusterManager::Seen(const Identity& caller, std::string_view hostname) {
  if (caller.kind != Identity::Kind::kCertificate || caller.role != Role::kNode) return;
  TimePoint now = Now();
  bool write = false;
  {
    std::lock_guard seen_lock(seen_mu_);
    SeenEntry& e = seen_[caller.node_id];
    e.last_seen = now;
    write = now - e.written_at >= kSeenWriteInterval;
    if (write) e.written_at = now;
  }
  bool rename = !hostname.empty() && ValidateHostname(hostname).ok();
  if (!write && !rename) return;
  std::unique_lock lock(mu_);
  auto it = nodes_.find(caller.node_id);
  if (it == nodes_.end()) return;
  rename = rename && it->second.node.hostname != hostname;
  if (!write && !rename) return;
  NodeEntry updated = it->second;
  updated.node.last_seen = now;
  if (!caller.peer_addr.empty()) updated.node.addr = PeerHost(caller.peer_addr);
  if (rename) updated.node.hostname = std::string(hostname);
  if (PutNodeLocked(updated).ok()) {
    it->second = std::move(updated);
  } else {
    std::lock_guard seen_lock(seen_mu_);
    seen_[caller.node_id].written_at = TimePoint{};  // try again at the next call
  }
}

Result<JoinResponse> ClusterManager::AdminCert(const CsrRequest& request) {
  RETURN_IF_ERROR(CheckCsr(request.csr).status(), "");
  std::shared_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  std::string id = "admin-" + options_.new_id();
  ASSIGN_OR_RETURN(std::string cert,
                   IssueLocked(request.csr, {id, "admin", cluster_id_}, kAdminCertLifetime, Now()),
                   "");
  ASSIGN_OR_RETURN(JoinResponse r, CertificateResponseLocked(std::move(cert)), "");
  r.node_id = id;
  r.role = "admin";
  return r;
}

Node ClusterManager::WithStateLocked(Node node, TimePoint now) {
  node.last_seen = LastSeenLocked(node);
  bool self = node.id == options_.local_node_id;
  if (self) {
    node.last_seen = now;
    if (credentials_) node.cert_expires_at = credentials_->not_after;
  }
  node.state = self || now - node.last_seen <= kReadyWindow ? "ready" : "down";
  return node;
}

Result<std::vector<Node>> ClusterManager::ListNodes() {
  std::shared_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  TimePoint now = Now();
  std::vector<Node> out;
  out.reserve(nodes_.size());
  for (const auto& [id, entry] : nodes_) out.push_back(WithStateLocked(entry.node, now));
  std::sort(out.begin(), out.end(), [](const Node& a, const Node& b) {
    return std::tie(a.hostname, a.id) < std::tie(b.hostname, b.id);
  });
  return out;
}

Result<std::map<std::string, ClusterManager::NodeEntry>::iterator> ClusterManager::FindLocked(
    std::string_view id_or_name) {
  auto exact = nodes_.find(std::string(id_or_name));
  if (exact != nodes_.end()) return exact;
  std::vector<std::map<std::string, NodeEntry>::iterator> by_name;
  std::vector<std::map<std::string, NodeEntry>::iterator> by_prefix;
  for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
    if (it->second.node.hostname == id_or_name) by_name.push_back(it);
    if (!id_or_name.empty() && it->first.starts_with(id_or_name)) by_prefix.push_back(it);
  }
  std::string shown(id_or_name.substr(0, 253));
  for (const auto* matches : {&by_name, &by_prefix}) {
    if (matches->size() == 1) return matches->front();
    if (matches->size() > 1) {
      return Status::FailedPrecondition("node " + shown + " is ambiguous (" +
                                        std::to_string(matches->size()) +
                                        " nodes match): use the full ID");
    }
  }
  return Status::NotFound("node not found: " + shown);
}

Result<Node> ClusterManager::InspectNode(std::string_view id_or_name) {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  ASSIGN_OR_RETURN(auto it, FindLocked(id_or_name), "");
  return WithStateLocked(it->second.node, Now());
}

Result<Node> ClusterManager::NodeById(std::string_view id) {
  std::shared_lock lock(mu_);
  auto it = nodes_.find(std::string(id));
  if (it == nodes_.end()) return Status::NotFound("node not found: " + std::string(id.substr(0, 64)));
  return WithStateLocked(it->second.node, Now());
}

Result<Node> ClusterManager::UpdateNode(std::string_view id_or_name, std::uint64_t version,
                                        const NodeSpec& spec) {
  RETURN_IF_ERROR(ValidateLabels(spec.labels), "");
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  ASSIGN_OR_RETURN(auto it, FindLocked(id_or_name), "");
  if (it->second.node.version != version) {
    return Status::FailedPrecondition(
        "node " + it->first + " was updated since version " + std::to_string(version) +
        " (now " + std::to_string(it->second.node.version) + "): read it again");
  }
  NodeEntry updated = it->second;
  updated.node.spec = spec;
  updated.node.version += 1;
  updated.node.updated_at = Now();
  RETURN_IF_ERROR(PutNodeLocked(updated), "node update");
  it->second = std::move(updated);
  return WithStateLocked(it->second.node, Now());
}

Result<Node> ClusterManager::RemoveNode(std::string_view id_or_name, bool force) {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(RequireInitializedLocked(), "");
  ASSIGN_OR_RETURN(auto it, FindLocked(id_or_name), "");
  TimePoint now = Now();
  Node node = WithStateLocked(it->second.node, now);
  if (node.id == options_.local_node_id) {
    return Status::FailedPrecondition("node " + node.id + " is this manager; it cannot remove itself");
  }
  if (node.state == "ready" && !force) {
    return Status::FailedPrecondition("node " + node.id +
                                      " is ready: stop it first or use --force");
  }
  json revoked{{"RemovedAt", FormatTime(now)},
               {"Until", FormatTime(std::max(node.cert_expires_at, now))}};
  Txn txn;
  txn.compares.push_back({NodeKey(node.id), it->second.mod_revision});
  txn.ops.push_back({Op::Kind::kPut, RevokedKey(node.id), revoked.dump()});
  txn.ops.push_back({Op::Kind::kDelete, NodeKey(node.id), ""});
  ASSIGN_OR_RETURN(TxnResult r, kv_->Commit(txn), "node rm: store");
  if (!r.succeeded) return Status::FailedPrecondition("node " + node.id + " changed meanwhile: try again");
  {
    std::unique_lock rl(revoked_mu_);
    revoked_.insert(node.id);
  }
  nodes_.erase(it);
  {
    std::lock_guard seen_lock(seen_mu_);
    seen_.erase(node.id);
  }
  return node;
}

Status ClusterManager::StillValid(const Identity& caller) {
  if (caller.kind != Identity::Kind::kCertificate || caller.anonymous) return Status::Ok();
  {
    std::shared_lock rl(revoked_mu_);
    // The fault point is test-only (shared/fault_point.h).
    if (revoked_.count(caller.node_id) != 0 && !OCI_FAULT_POINT("skip-revocation-check")) {
      return Status::PermissionDenied("permission denied: node " + caller.node_id +
                                      " was removed from the cluster");
    }
  }
  if (caller.cert_not_after != TimePoint{} && Now() > caller.cert_not_after) {
    return Status::PermissionDenied("permission denied: the certificate of " + caller.Describe() +
                                    " has expired; the node renews it before expiry, or rejoins");
  }
  return Status::Ok();
}

Result<Identity> ClusterManager::IdentifyPeer(X509* cert, std::string_view peer_addr) {
  Identity id;
  id.kind = Identity::Kind::kCertificate;
  id.transport = Identity::Transport::kTls;
  id.peer_addr = std::string(peer_addr);
  if (cert == nullptr) {
    id.anonymous = true;
    return id;
  }
  ASSIGN_OR_RETURN(CertInfo info, InspectCertificate(cert), "peer certificate");
  {
    std::shared_lock lock(mu_);
    if (!initialized_ || info.subject.cluster_id != cluster_id_) {
      return Status::PermissionDenied("certificate is from another cluster");
    }
  }
  const std::string& ou = info.subject.role;
  if (ou == "admin") {
    id.role = Role::kAdmin;
  } else if (ou == kRoleManager) {
    id.role = Role::kManager;
  } else if (ou == kRoleNode) {
    id.role = Role::kNode;
  } else {
    return Status::PermissionDenied("certificate names no role of this cluster");
  }
  id.node_id = info.subject.node_id;
  id.cert_not_after = info.not_after;
  RETURN_IF_ERROR(StillValid(id), "");
  return id;
}

std::shared_ptr<const ServerCredentials> ClusterManager::server_credentials() const {
  std::shared_lock lock(mu_);
  return credentials_;
}

Status ClusterManager::MaintainServerCert(TimePoint now) {
  std::unique_lock lock(mu_);
  if (!initialized_ || !credentials_) return Status::Ok();
  auto life = credentials_->not_after - credentials_->issued_at;
  if (now < credentials_->issued_at + life * 2 / 3) return Status::Ok();
  ASSIGN_OR_RETURN(credentials_, MakeServerCredentialsLocked(now), "renew the server certificate");
  return Status::Ok();
}

}  // namespace ocisecrets
