#include "manager/registry/registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "shared/validation.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

using std::chrono::hours;
using std::chrono::seconds;

SecretBytes Bytes(std::string_view s) { return SecretBytes(s.begin(), s.end()); }

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : registry_(&store_, &sealer_, Options()) {}

  RegistryOptions Options() {
    RegistryOptions o;
    o.lease_ttl = hours(24);
    o.clock = [this] { return now_; };
    o.new_id = [this] { return NextId(); };
    o.on_change = [this](const std::vector<std::string>& ids) {
      std::lock_guard<std::mutex> lock(changes_mu_);
      changed_.insert(ids.begin(), ids.end());
    };
    return o;
  }

  // The IDs on_change was told of since the last call.
  std::set<std::string> TakeChanged() {
    std::lock_guard<std::mutex> lock(changes_mu_);
    return std::exchange(changed_, {});
  }

  std::string NextId() {
    // 25 base36 characters; the prefix lets tests make ambiguous prefixes on purpose.
    std::string n = std::to_string(++ids_);
    return id_prefix_ + std::string(25 - id_prefix_.size() - n.size(), '0') + n;
  }

  std::string CreateSecret(const std::string& name, const std::string& data, Labels labels = {}) {
    auto s = registry_.CreateSecret({name, std::move(labels)}, Bytes(data));
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? s->id : "";
  }

  Result<Service> CreateService(const std::string& name, std::vector<SecretReference> refs) {
    ServiceSpec spec;
    spec.name = name;
    spec.secrets = std::move(refs);
    return registry_.CreateService(spec);
  }

  MemoryKvStore store_;
  FakeSealer sealer_;
  TimePoint now_ = TimePoint(seconds(1'800'000'000));
  int ids_ = 0;
  std::string id_prefix_ = "a";
  std::mutex changes_mu_;
  std::set<std::string> changed_;
  Registry registry_;
};

TEST_F(RegistryTest, CreatedSecretResolvesByIdNameCaseAndPrefix) {
  std::string id = CreateSecret("redis_password", "hunter2");
  ASSERT_EQ(id.size(), 25u);
  for (std::string q : {id, std::string("redis_password"), std::string("REDIS_Password"),
                        id.substr(0, 20)}) {
    auto s = registry_.InspectSecret(q);
    ASSERT_TRUE(s.ok()) << q << ": " << s.status().message();
    EXPECT_EQ(s->id, id) << q;
    EXPECT_EQ(s->spec.name, "redis_password");
  }
  auto missing = registry_.InspectSecret("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "secret nope not found");
}

TEST_F(RegistryTest, AmbiguousIdPrefixIsNotFoundSayingSo) {
  CreateSecret("one", "x");
  CreateSecret("two", "y");
  auto s = registry_.InspectSecret("a");
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("ambiguous"), std::string::npos) << s.status().message();
}

TEST_F(RegistryTest, NameIsUniqueIgnoringCase) {
  CreateSecret("Redis", "x");
  auto again = registry_.CreateSecret({"rEDIS", {}}, Bytes("y"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "secret rEDIS already exists");
  auto list = registry_.ListSecrets({});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(RegistryTest, BadInputChangesNothing) {
  struct Case {
    const char* description;
    std::string name;
    SecretBytes data;
  };
  const std::vector<Case> cases = {
      {"bad name", "bad name", Bytes("x")},
      {"empty payload", "ok", {}},
      {"payload of 512000 bytes", "ok", SecretBytes(512000, 'x')},
  };
  for (const auto& c : cases) {
    auto r = registry_.CreateSecret({c.name, {}}, c.data);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.description;
  }
  EXPECT_EQ(store_.commits(), 0);
  EXPECT_TRUE(registry_.CreateSecret({"ok", {}}, SecretBytes(511999, 'x')).ok());
}

TEST_F(RegistryTest, StoreNeverHoldsThePlaintext) {
  CreateSecret("pw", "MARKER-6f1d2c");
  for (const auto& [key, kv] : store_.Snapshot()) {
    EXPECT_EQ(kv.value.find("MARKER-6f1d2c"), std::string::npos) << key;
  }
}

TEST_F(RegistryTest, ListIsSortedAndFiltered) {
  std::string b = CreateSecret("beta", "1", {{"env", "prod"}});
  CreateSecret("alpha", "2", {{"env", "dev"}});
  CreateSecret("alpine", "3", {{"tier", "x"}});
  auto all = registry_.ListSecrets({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].spec.name, "alpha");
  EXPECT_EQ((*all)[2].spec.name, "beta");

  struct Case {
    const char* description;
    SecretFilters filters;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"name prefix ignoring case", {{"AL"}, {}, {}}, {"alpha", "alpine"}},
      {"label key", {{}, {}, {"env"}}, {"alpha", "beta"}},
      {"label key=value", {{}, {}, {"env=prod"}}, {"beta"}},
      {"filters AND", {{"al"}, {}, {"env"}}, {"alpha"}},
      {"id prefix", {{}, {b}, {}}, {"beta"}},
      {"nothing matches", {{"zzz"}, {}, {}}, {}},
  };
  for (const auto& c : cases) {
    auto list = registry_.ListSecrets(c.filters);
    ASSERT_TRUE(list.ok());
    std::vector<std::string> names;
    for (const auto& s : *list) names.push_back(s.spec.name);
    EXPECT_EQ(names, c.want) << c.description;
  }
}

TEST_F(RegistryTest, UpdateChangesOnlyLabelsAtTheCurrentVersion) {
  std::string id = CreateSecret("pw", "x", {{"a", "1"}});
  auto before = registry_.InspectSecret(id);
  ASSERT_TRUE(before.ok());

  auto renamed = registry_.UpdateSecret(id, before->version, {"other", {}});
  EXPECT_EQ(renamed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(renamed.status().message(), "only updates to Labels are allowed");

  auto stale = registry_.UpdateSecret(id, before->version + 7, {"pw", {{"b", "2"}}});
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);

  auto updated = registry_.UpdateSecret(id, before->version, {"pw", {{"b", "2"}}});
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_GT(updated->version, before->version);
  auto after = registry_.InspectSecret(id);
  EXPECT_EQ(after->spec.labels, (Labels{{"b", "2"}}));
  EXPECT_EQ(after->version, updated->version);
  EXPECT_EQ(after->created_at, before->created_at);
}

TEST_F(RegistryTest, VersionIndexGrowsWithEveryChange) {
  std::string a = CreateSecret("a", "x");
  std::string b = CreateSecret("b", "x");
  auto va = registry_.InspectSecret(a)->version;
  auto vb = registry_.InspectSecret(b)->version;
  EXPECT_GT(vb, va);
  auto svc = CreateService("web", {{"", "a", {}}});
  ASSERT_TRUE(svc.ok());
  EXPECT_GT(svc->version, vb);
}

TEST_F(RegistryTest, SecretInUseCannotBeRemovedAndMessageNamesServices) {
  CreateSecret("my_secret", "x");
  ASSERT_TRUE(CreateService("redis", {{"", "my_secret", {}}}).ok());
  auto r = registry_.RemoveSecret("my_secret");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "secret 'my_secret' is in use by the following service: redis");

  ASSERT_TRUE(CreateService("app", {{"", "my_secret", {"other", 0, 0, 0444}}}).ok());
  r = registry_.RemoveSecret("my_secret");
  EXPECT_EQ(r.status().message(),
            "secret 'my_secret' is in use by the following services: app, redis");

  ASSERT_TRUE(registry_.RemoveService("redis").ok());
  ASSERT_TRUE(registry_.RemoveService("app").ok());
  EXPECT_TRUE(registry_.RemoveSecret("my_secret").ok());
  EXPECT_EQ(registry_.InspectSecret("my_secret").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_.Snapshot().empty()) << "remove leaves no key behind";
}

TEST_F(RegistryTest, SecretRemoveLosesTheRaceToAConcurrentServiceCreate) {
  std::string id = CreateSecret("pw", "x");
  // Another manager adds a reference between our read of the references and our commit.
  bool injected = false;
  store_.before_commit_ = [&] {
    if (injected) return;
    injected = true;
    store_.PutUnlocked("refs/" + id + "/zzzzzzzzzzzzzzzzzzzzzzzzz", "");
    store_.PutUnlocked("inuse/" + id, "zzzzzzzzzzzzzzzzzzzzzzzzz");
  };
  auto r = registry_.RemoveSecret("pw");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().message();
  EXPECT_TRUE(registry_.InspectSecret("pw").ok());
}

TEST_F(RegistryTest, ServiceCreateResolvesReferencesAndRefusesBadOnes) {
  std::string id = CreateSecret("tls_cert", "x");
  auto svc = CreateService("redis", {{"", "tls_cert", {"", 999, 999, 0400}}});
  ASSERT_TRUE(svc.ok()) << svc.status().message();
  ASSERT_EQ(svc->spec.secrets.size(), 1u);
  EXPECT_EQ(svc->spec.secrets[0].secret_id, id);
  EXPECT_EQ(svc->spec.secrets[0].file.name, "tls_cert");

  struct Case {
    const char* description;
    std::string name;
    std::vector<SecretReference> refs;
    StatusCode code;
  };
  const std::vector<Case> cases = {
      {"unknown secret", "s1", {{"", "nope", {}}}, StatusCode::kNotFound},
      {"duplicate target", "s2", {{"", "tls_cert", {"a", 0, 0, 0444}}, {"", "tls_cert", {"a", 0, 0, 0444}}},
       StatusCode::kInvalidArgument},
      {"dot-dot target", "s3", {{"", "tls_cert", {"../x", 0, 0, 0444}}}, StatusCode::kInvalidArgument},
      {"setuid mode", "s4", {{"", "tls_cert", {"x", 0, 0, 04444}}}, StatusCode::kInvalidArgument},
      {"name taken ignoring case", "REDIS", {}, StatusCode::kAlreadyExists},
      {"bad service name", "bad name", {}, StatusCode::kInvalidArgument},
      {"id and name disagree", "s5", {{id, "other", {}}}, StatusCode::kInvalidArgument},
  };
  int commits = store_.commits();
  for (const auto& c : cases) {
    auto r = CreateService(c.name, c.refs);
    EXPECT_EQ(r.status().code(), c.code) << c.description << ": " << r.status().message();
  }
  EXPECT_EQ(store_.commits(), commits + 1) << "only the name clash reaches a (failed) commit";
  EXPECT_EQ(registry_.ListServices()->size(), 1u);
}

TEST_F(RegistryTest, ServiceUpdateReplacesSpecAndReleasesSecrets) {
  CreateSecret("a", "x");
  CreateSecret("b", "y");
  auto svc = CreateService("web", {{"", "a", {}}});
  ASSERT_TRUE(svc.ok());
  ServiceSpec spec = svc->spec;
  spec.secrets = {{"", "b", {}}};

  auto stale = registry_.UpdateService("web", svc->version - 1, spec);
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);

  ServiceSpec renamed = spec;
  renamed.name = "web2";
  EXPECT_EQ(registry_.UpdateService("web", svc->version, renamed).status().code(),
            StatusCode::kInvalidArgument);

  auto updated = registry_.UpdateService("web", svc->version, spec);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_GT(updated->version, svc->version);
  EXPECT_TRUE(registry_.RemoveSecret("a").ok()) << "a is no longer referenced";
  EXPECT_EQ(registry_.RemoveSecret("b").status().code(), StatusCode::kFailedPrecondition);
}

// A service is one store txn: the most secrets it may grant is what still fits when an
// update swaps every one of them for another (the engine refuses a txn over kMaxTxnOps).
TEST_F(RegistryTest, ServiceGrantsAtMostTheLimitAndAFullSwapStillCommits) {
  std::vector<SecretReference> first, second;
  for (std::size_t i = 0; i < 2 * kMaxServiceSecrets + 1; ++i) {
    std::string name = "s" + std::to_string(i);
    CreateSecret(name, "x");
    (i < kMaxServiceSecrets ? first : second).push_back({"", name, {}});
  }
  auto too_many = CreateService("big", second);
  ASSERT_EQ(second.size(), kMaxServiceSecrets + 1);
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(too_many.status().message(),
            "service \"big\" grants 41 secrets; a service may grant at most 40");
  second.pop_back();
  auto svc = CreateService("full", first);
  ASSERT_TRUE(svc.ok()) << svc.status().message();
  ServiceSpec spec = svc->spec;
  spec.secrets = second;
  auto swapped = registry_.UpdateService("full", svc->version, spec);
  ASSERT_TRUE(swapped.ok()) << swapped.status().message();
  EXPECT_TRUE(registry_.RemoveSecret("s0").ok()) << "s0 is no longer granted";
}

TEST_F(RegistryTest, LeaseReturnsPayloadsAndShowsInInspect) {
  CreateSecret("pw", "hunter2");
  ServiceSpec spec;
  spec.name = "redis";
  spec.secrets_dir = "/run/secrets";
  spec.secrets = {{"", "pw", {"server.pem", 999, 998, 0400}}};
  ASSERT_TRUE(registry_.CreateService(spec).ok());

  auto lease = registry_.Lease({"c1", "REDIS"});
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  EXPECT_EQ(lease->grant.service, "redis");
  EXPECT_EQ(lease->grant.secrets_dir, "/run/secrets");
  EXPECT_EQ(lease->grant.expires_at, now_ + hours(24));
  ASSERT_EQ(lease->grant.files.size(), 1u);
  const LeasedFile& f = lease->grant.files[0];
  EXPECT_EQ(f.name, "server.pem");
  EXPECT_EQ(f.uid, 999u);
  EXPECT_EQ(f.gid, 998u);
  EXPECT_EQ(f.mode, 0400u);
  EXPECT_EQ(std::string(f.data.begin(), f.data.end()), "hunter2");
  EXPECT_EQ(lease->secret_ids.size(), 1u);

  auto svc = registry_.InspectService("redis");
  ASSERT_EQ(svc->leases.size(), 1u);
  EXPECT_EQ(svc->leases[0].container_id, "c1");
  EXPECT_EQ(registry_.LeaseCount(), 1u);
  auto list = registry_.ListServices();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_EQ((*list)[0].leases.size(), 1u) << "ls shows leases too";
  EXPECT_EQ((*list)[0].leases[0].container_id, "c1");

  EXPECT_TRUE(*registry_.EndLease("c1"));
  EXPECT_FALSE(*registry_.EndLease("c1")) << "ending twice is fine";
  EXPECT_TRUE(registry_.InspectService("redis")->leases.empty());
}

TEST_F(RegistryTest, LeaseOfUnknownServiceOrBadContainerIsRefused) {
  auto r = registry_.Lease({"c1", "redis"});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "service redis not found");
  ASSERT_TRUE(CreateService("redis", {}).ok());
  EXPECT_EQ(registry_.Lease({"bad/id", "redis"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_.Lease({"", "redis"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_.LeaseCount(), 0u);
}

TEST_F(RegistryTest, RenewalKeepsStartAndExtendsExpiry) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "redis"}).ok());
  TimePoint start = now_;
  now_ += hours(1);
  ASSERT_TRUE(registry_.Lease({"c1", "redis"}).ok());
  auto svc = registry_.InspectService("redis");
  ASSERT_EQ(svc->leases.size(), 1u);
  EXPECT_EQ(svc->leases[0].created_at, start);
  EXPECT_EQ(svc->leases[0].expires_at, now_ + hours(24));
}

TEST_F(RegistryTest, ExpiredLeasesAreIgnoredAndSwept) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "redis"}).ok());
  ASSERT_TRUE(registry_.Maintain().ok());
  EXPECT_EQ(store_.Snapshot().count(
                "leases/" + registry_.InspectService("redis")->id + "/local/c1"), 1u);
  now_ += hours(25);
  EXPECT_TRUE(registry_.InspectService("redis")->leases.empty());
  EXPECT_EQ(registry_.LeaseCount(), 0u);
  ASSERT_TRUE(registry_.Maintain().ok());
  for (const auto& [key, kv] : store_.Snapshot()) {
    EXPECT_FALSE(key.starts_with("leases/")) << key;
  }
}

// Maintain skips its sweep until the earliest expiry: each lease must still go on time.
TEST_F(RegistryTest, LeasesOfDifferentAgesAreSweptEachInTurn) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  const std::string prefix = "leases/" + registry_.InspectService("redis")->id + "/local/";
  ASSERT_TRUE(registry_.Lease({"c1", "redis"}).ok());
  now_ += hours(12);
  ASSERT_TRUE(registry_.Lease({"c2", "redis"}).ok());
  ASSERT_TRUE(registry_.Maintain().ok());
  now_ += hours(11);  // c1 has an hour left
  ASSERT_TRUE(registry_.Maintain().ok());
  EXPECT_EQ(store_.Snapshot().count(prefix + "c1"), 1u);
  now_ += hours(2);  // c1 is gone, c2 has 11 hours left
  ASSERT_TRUE(registry_.Maintain().ok());
  EXPECT_EQ(store_.Snapshot().count(prefix + "c1"), 0u);
  EXPECT_EQ(store_.Snapshot().count(prefix + "c2"), 1u);
  EXPECT_EQ(registry_.LeaseCount(), 1u);
  ASSERT_TRUE(registry_.Lease({"c3", "redis"}).ok());  // expires 24 hours from now
  now_ += hours(12);  // c2 is gone, c3 is not
  ASSERT_TRUE(registry_.Maintain().ok());
  EXPECT_EQ(store_.Snapshot().count(prefix + "c2"), 0u);
  EXPECT_EQ(store_.Snapshot().count(prefix + "c3"), 1u);
  EXPECT_EQ(registry_.LeaseCount(), 1u);

  Registry restarted(&store_, &sealer_, Options());
  ASSERT_TRUE(restarted.Load().ok());
  now_ += hours(13);
  ASSERT_TRUE(restarted.Maintain().ok());
  EXPECT_EQ(store_.Snapshot().count(prefix + "c3"), 0u) << "a loaded lease expires too";
}

TEST_F(RegistryTest, RecordedLeasesSurviveARestart) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "redis"}).ok());
  ASSERT_TRUE(registry_.Lease({"c2", "redis"}).ok());
  ASSERT_TRUE(registry_.EndLease("c2").ok());
  ASSERT_TRUE(registry_.Maintain().ok());

  Registry restarted(&store_, &sealer_, Options());
  ASSERT_TRUE(restarted.Load().ok());
  EXPECT_EQ(restarted.LeaseCount(), 1u);
  auto svc = restarted.InspectService("redis");
  ASSERT_EQ(svc->leases.size(), 1u);
  EXPECT_EQ(svc->leases[0].container_id, "c1");
}

TEST_F(RegistryTest, SameContainerIdOnTwoNodesHoldsTwoLeases) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "redis", "node-a"}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "redis", "node-b"}).ok());
  EXPECT_EQ(registry_.LeaseCount(), 2u);
  auto svc = registry_.InspectService("redis");
  ASSERT_EQ(svc->leases.size(), 2u);
  EXPECT_EQ(svc->leases[0].node_id, "node-a");
  EXPECT_EQ(svc->leases[1].node_id, "node-b");
  ASSERT_TRUE(registry_.Maintain().ok());
  EXPECT_EQ(store_.Snapshot().count("leases/" + svc->id + "/node-a/c1"), 1u);
  EXPECT_EQ(store_.Snapshot().count("leases/" + svc->id + "/node-b/c1"), 1u);
}

TEST_F(RegistryTest, EndingALeaseOnOneNodeLeavesTheOtherNodesLease) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "redis", "node-a"}).ok());
  ASSERT_TRUE(registry_.Maintain().ok());
  EXPECT_FALSE(*registry_.EndLease("c1", "node-b")) << "node-b holds no lease of c1";
  EXPECT_FALSE(*registry_.EndLease("c1")) << "nor does the local node";
  ASSERT_TRUE(registry_.Maintain().ok());
  auto svc = registry_.InspectService("redis");
  ASSERT_EQ(svc->leases.size(), 1u);
  EXPECT_EQ(svc->leases[0].node_id, "node-a");
  EXPECT_EQ(store_.Snapshot().count("leases/" + svc->id + "/node-a/c1"), 1u);
  EXPECT_TRUE(*registry_.EndLease("c1", "node-a"));
  EXPECT_TRUE(registry_.InspectService("redis")->leases.empty());
}

TEST_F(RegistryTest, LeaseWithABadNodeIdIsRefused) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  for (std::string node : {std::string("a/b"), std::string(65, 'n'), std::string("sp ace")}) {
    auto r = registry_.Lease({"c1", "redis", node});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << node;
    EXPECT_EQ(r.status().message().rfind("invalid node ID '", 0), 0u) << r.status().message();
    EXPECT_EQ(registry_.EndLease("c1", node).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(registry_.LeaseCount(), 0u);
}

// Versions before leases were keyed by node stored leases/<serviceID>/<containerID>.
TEST_F(RegistryTest, LoadReadsLeasesStoredWithoutANodeAsTheLocalNodesAndMovesThem) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  const std::string sid = registry_.InspectService("redis")->id;
  Txn txn;
  txn.ops = {{Op::Kind::kPut, "leases/" + sid + "/old1",
              R"({"ContainerID":"old1","CreatedAt":"2027-01-15T08:00:00Z","ExpiresAt":"2027-01-16T08:00:00Z"})"}};
  ASSERT_TRUE(store_.Commit(txn)->succeeded);

  Registry upgraded(&store_, &sealer_, Options());
  ASSERT_TRUE(upgraded.Load().ok());
  EXPECT_EQ(upgraded.LeaseCount(), 1u);
  auto svc = upgraded.InspectService("redis");
  ASSERT_EQ(svc->leases.size(), 1u);
  EXPECT_EQ(svc->leases[0].container_id, "old1");
  EXPECT_EQ(svc->leases[0].node_id, "local");
  ASSERT_TRUE(upgraded.Maintain().ok());
  EXPECT_EQ(store_.Snapshot().count("leases/" + sid + "/old1"), 0u) << "the old key is gone";
  EXPECT_EQ(store_.Snapshot().count("leases/" + sid + "/local/old1"), 1u) << "moved, not lost";
  EXPECT_TRUE(*upgraded.EndLease("old1")) << "the local node ends it as its own";
}

// Counts the ops of every txn and fails the txn numbered fail_txn (1-based).
class CountingKvStore : public MemoryKvStore {
 public:
  Result<TxnResult> Commit(const Txn& txn) override {
    ops_per_txn.push_back(txn.ops.size());
    if (static_cast<int>(ops_per_txn.size()) == fail_txn) {
      return Status::Unavailable("store unavailable (injected)");
    }
    return MemoryKvStore::Commit(txn);
  }
  std::vector<std::size_t> ops_per_txn;
  int fail_txn = 0;
};

TEST(RegistryFlushTest, BatchesWithinTheTxnLimitAndLosesNoLeaseWhenATxnFails) {
  CountingKvStore store;
  FakeSealer sealer;
  int ids = 0;
  RegistryOptions options;
  options.new_id = [&ids] {
    std::string n = std::to_string(++ids);
    return std::string(25 - n.size(), 'k') + n;
  };
  Registry registry(&store, &sealer, options);
  ServiceSpec spec;
  spec.name = "redis";
  ASSERT_TRUE(registry.CreateService(spec).ok());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(registry.Lease({"c" + std::to_string(i), "redis"}).ok());
  }
  store.ops_per_txn.clear();
  store.fail_txn = 2;
  Status failed = registry.Maintain();
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_EQ(failed.message(), "lease flush: store unavailable (injected)");
  ASSERT_EQ(store.ops_per_txn.size(), 8u) << "1000 writes: 8 txns of at most 128";
  for (std::size_t n : store.ops_per_txn) EXPECT_LE(n, kMaxTxnOps);
  auto stored = [&store] {
    std::size_t n = 0;
    for (const auto& [key, kv] : store.Snapshot()) n += key.starts_with("leases/") ? 1 : 0;
    return n;
  };
  EXPECT_EQ(stored(), 1000u - store.ops_per_txn[1]) << "only the failed txn's writes wait";

  store.ops_per_txn.clear();
  store.fail_txn = 0;
  ASSERT_TRUE(registry.Maintain().ok());
  EXPECT_EQ(store.ops_per_txn, std::vector<std::size_t>{128u}) << "the retry writes just those";
  EXPECT_EQ(stored(), 1000u);
  EXPECT_EQ(registry.LeaseCount(), 1000u);
}

TEST_F(RegistryTest, RemovingAServiceEndsItsLeases) {
  ASSERT_TRUE(CreateService("redis", {}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "redis"}).ok());
  ASSERT_TRUE(registry_.Maintain().ok());
  ASSERT_TRUE(registry_.Lease({"c2", "redis"}).ok());
  ASSERT_TRUE(registry_.RemoveService("redis").ok());
  EXPECT_EQ(registry_.LeaseCount(), 0u);
  ASSERT_TRUE(registry_.Maintain().ok());
  EXPECT_TRUE(store_.Snapshot().empty());
}

TEST_F(RegistryTest, TamperedPayloadFailsTheLeaseWithDataLoss) {
  std::string id = CreateSecret("pw", "x");
  ASSERT_TRUE(CreateService("redis", {{"", "pw", {}}}).ok());
  std::string other = CreateSecret("other", "y");
  // Move another record's sealed payload over this one's: the AAD no longer matches.
  auto moved = store_.Get("payloads/" + other);
  ASSERT_TRUE(moved.ok());
  Txn txn;
  txn.ops = {{Op::Kind::kPut, "payloads/" + id, moved->value}};
  ASSERT_TRUE(store_.Commit(txn)->succeeded);
  auto r = registry_.Lease({"c1", "redis"});
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().message();
  EXPECT_EQ(registry_.LeaseCount(), 0u);
}

TEST_F(RegistryTest, LeaseSeesEveryChangeMadeAfterAnEarlierLease) {
  CreateSecret("a", "payload-a");
  CreateSecret("b", "payload-b");
  auto svc = CreateService("web", {{"", "a", {"first", 0, 0, 0444}}});
  ASSERT_TRUE(svc.ok());
  auto first = registry_.Lease({"c1", "web"});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->grant.files.size(), 1u);
  EXPECT_EQ(first->grant.files[0].name, "first");

  ServiceSpec spec = svc->spec;
  spec.secrets = {{"", "b", {"second", 5, 6, 0400}}};
  ASSERT_TRUE(registry_.UpdateService("web", svc->version, spec).ok());
  auto second = registry_.Lease({"c1", "web"});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->grant.files.size(), 1u);
  EXPECT_EQ(second->grant.files[0].name, "second");
  EXPECT_EQ(second->grant.files[0].uid, 5u);
  EXPECT_EQ(std::string(second->grant.files[0].data.begin(), second->grant.files[0].data.end()),
            "payload-b");

  ASSERT_TRUE(registry_.RemoveService("web").ok());
  EXPECT_EQ(registry_.Lease({"c1", "web"}).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(CreateService("web", {}).ok());
  auto third = registry_.Lease({"c1", "web"});
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->grant.files.empty()) << "a new service of the same name is a new plan";
}

// ---- live secrets ----------------------------------------------------------------------

std::string Text(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

TEST_F(RegistryTest, RotateKeepsNameAndIdAndGrowsTheDataVersion) {
  const std::string id = CreateSecret("db", "v1");
  EXPECT_EQ(registry_.InspectSecret("db")->data.index, 1u);
  now_ += seconds(5);
  auto rotated = registry_.RotateSecret("db", Bytes("v2"), seconds(0));
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_EQ(rotated->id, id);
  EXPECT_EQ(rotated->spec.name, "db");
  EXPECT_EQ(rotated->data.index, 2u);
  EXPECT_EQ(rotated->data.previous, 1u);
  EXPECT_EQ(rotated->data.updated_at, now_);
  auto stored = registry_.InspectSecret(id);
  EXPECT_EQ(stored->data.index, 2u);
  EXPECT_EQ(stored->version, rotated->version);
  auto snapshot = store_.Snapshot();
  EXPECT_EQ(snapshot.count("payloads/" + id), 1u) << "the previous version is kept";
  EXPECT_EQ(snapshot.count("payloads/" + id + ".2"), 1u);

  ASSERT_TRUE(registry_.RotateSecret(id, Bytes("v3"), seconds(0)).ok());
  snapshot = store_.Snapshot();
  EXPECT_EQ(snapshot.count("payloads/" + id), 0u) << "two rotates later, version 1 is gone";
  EXPECT_EQ(snapshot.count("payloads/" + id + ".2"), 1u);
  EXPECT_EQ(snapshot.count("payloads/" + id + ".3"), 1u);
  EXPECT_TRUE(IsError(registry_.RotateSecret("nope", Bytes("x"), seconds(0)),
                      StatusCode::kNotFound, "secret nope not found"));
  EXPECT_TRUE(IsError(registry_.RotateSecret("db", Bytes("x"), seconds(-1)),
                      StatusCode::kInvalidArgument, "overlap"));
}

TEST_F(RegistryTest, RotateIfChangedWritesNothingForTheSameDataAndRotatesOtherData) {
  const std::string id = CreateSecret("db", "v1");
  const std::int64_t before = *store_.Revision();
  auto same = registry_.RotateSecretIfChanged("db", Bytes("v1"), seconds(0));
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(same->secret.id, id);
  EXPECT_EQ(same->secret.data.index, 1u);
  EXPECT_EQ(*store_.Revision(), before) << "the same data writes nothing";

  auto other = registry_.RotateSecretIfChanged("db", Bytes("v2"), seconds(0));
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_TRUE(other->changed);
  EXPECT_EQ(other->secret.data.index, 2u);
  auto again = registry_.RotateSecretIfChanged(id, Bytes("v2"), seconds(0));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->changed) << "compared with the current version, not the first";
  EXPECT_TRUE(IsError(registry_.RotateSecretIfChanged("nope", Bytes("x"), seconds(0)),
                      StatusCode::kNotFound, "secret nope not found"));
}

TEST_F(RegistryTest, LeaseGrantsTheCurrentVersionWithItsIdAndIndex) {
  const std::string id = CreateSecret("db", "v1");
  ServiceSpec spec;
  spec.name = "app";
  spec.update_signal = "hup";
  spec.secrets = {{"", "db", {"db", 0, 0, 0400}}};
  auto created = registry_.CreateService(spec);
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->spec.update_signal, "SIGHUP") << "stored by its canonical name";
  ASSERT_TRUE(registry_.RotateSecret("db", Bytes("v2"), seconds(0)).ok());
  auto lease = registry_.Lease({"c1", "app"});
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  ASSERT_EQ(lease->grant.files.size(), 1u);
  EXPECT_EQ(Text(lease->grant.files[0].data), "v2");
  EXPECT_EQ(lease->grant.files[0].secret_id, id);
  EXPECT_EQ(lease->grant.files[0].version, 2u);
  EXPECT_EQ(lease->grant.update_signal, "SIGHUP");
  EXPECT_EQ(lease->grant.refresh_at, TimePoint{});
  auto svc = registry_.InspectService("app");
  ASSERT_EQ(svc->leases.size(), 1u);
  EXPECT_EQ(svc->leases[0].versions, (std::map<std::string, std::uint64_t>{{id, 2}}));
}

TEST_F(RegistryTest, RollbackSwapsCurrentAndPreviousAndNeedsAPreviousVersion) {
  CreateSecret("db", "v1");
  EXPECT_TRUE(IsError(registry_.RollbackSecret("db"), StatusCode::kFailedPrecondition,
                      "secret db has no previous version"));
  ASSERT_TRUE(registry_.RotateSecret("db", Bytes("v2"), seconds(0)).ok());
  ASSERT_TRUE(CreateService("app", {{"", "db", {}}}).ok());
  auto back = registry_.RollbackSecret("db");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->data.index, 1u);
  EXPECT_EQ(back->data.previous, 2u);
  EXPECT_EQ(Text(registry_.Lease({"c1", "app"})->grant.files[0].data), "v1");
  auto again = registry_.RollbackSecret("db");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->data.index, 2u);
  EXPECT_EQ(Text(registry_.Lease({"c1", "app"})->grant.files[0].data), "v2");
  ASSERT_TRUE(registry_.RollbackSecret("db").ok());
  auto next = registry_.RotateSecret("db", Bytes("v3"), seconds(0));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->data.index, 3u) << "Index grows past both";
  EXPECT_EQ(next->data.previous, 1u);
}

TEST_F(RegistryTest, OverlapGrantsThePreviousValueUntilItEnds) {
  const std::string id = CreateSecret("db", "v1");
  ASSERT_TRUE(CreateService("app", {{"", "db", {"db", 1, 2, 0440}}}).ok());
  auto rotated = registry_.RotateSecret("db", Bytes("v2"), seconds(60));
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_EQ(rotated->data.overlap_until, now_ + seconds(60));
  auto during = registry_.Lease({"c1", "app"});
  ASSERT_TRUE(during.ok()) << during.status().message();
  ASSERT_EQ(during->grant.files.size(), 2u);
  EXPECT_EQ(during->grant.files[0].name, "db");
  EXPECT_EQ(Text(during->grant.files[0].data), "v2");
  const LeasedFile& prev = during->grant.files[1];
  EXPECT_EQ(prev.name, "db.previous");
  EXPECT_TRUE(prev.previous);
  EXPECT_EQ(prev.version, 1u);
  EXPECT_EQ(prev.secret_id, id);
  EXPECT_EQ(prev.mode, 0440u);
  EXPECT_EQ(Text(prev.data), "v1");
  EXPECT_EQ(during->grant.refresh_at, now_ + seconds(60));

  now_ += seconds(61);
  auto after = registry_.Lease({"c1", "app"});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->grant.files.size(), 1u) << "no .previous after OverlapUntil";
  EXPECT_EQ(after->grant.refresh_at, TimePoint{});
}

TEST_F(RegistryTest, RevokeRefusesStartsLeavesItOutOfRenewalsAndRotateRestores) {
  CreateSecret("db", "v1");
  CreateSecret("other", "o");
  ASSERT_TRUE(CreateService("app", {{"", "db", {}}, {"", "other", {}}}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "app"}).ok());
  auto revoked = registry_.RevokeSecret("db");
  ASSERT_TRUE(revoked.ok()) << revoked.status().message();
  EXPECT_EQ(revoked->data.revoked_at, now_);

  EXPECT_TRUE(IsError(registry_.Lease({"c2", "app"}), StatusCode::kFailedPrecondition,
                      "secret db is revoked: rotate it to restore"));
  LeaseRequest renewal{"c1", "app"};
  renewal.renewal = true;
  auto renewed = registry_.Lease(renewal);
  ASSERT_TRUE(renewed.ok()) << renewed.status().message();
  ASSERT_EQ(renewed->grant.files.size(), 1u);
  EXPECT_EQ(renewed->grant.files[0].name, "other");
  EXPECT_EQ(renewed->grant.revoked, std::vector<std::string>{"db"});
  LeaseRequest stranger{"c9", "app"};
  stranger.renewal = true;
  EXPECT_TRUE(IsError(registry_.Lease(stranger), StatusCode::kFailedPrecondition,
                      "secret db is revoked: rotate it to restore"))
      << "a renewal without a live lease is a start";
  EXPECT_TRUE(IsError(registry_.RollbackSecret("db"), StatusCode::kFailedPrecondition,
                      "secret db is revoked: rotate it to restore"));

  auto restored = registry_.RotateSecret("db", Bytes("v2"), seconds(0));
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->data.revoked_at, TimePoint{});
  auto start = registry_.Lease({"c2", "app"});
  ASSERT_TRUE(start.ok()) << start.status().message();
  EXPECT_EQ(Text(start->grant.files[0].data), "v2");
}

TEST_F(RegistryTest, HoldersListWhatEachLiveLeaseHoldsAndRecordHeldReplacesIt) {
  const std::string db = CreateSecret("db", "v1");
  const std::string other = CreateSecret("other", "o");
  ASSERT_TRUE(CreateService("app", {{"", "db", {}}, {"", "other", {}}}).ok());
  ASSERT_TRUE(CreateService("web", {{"", "db", {}}}).ok());
  ASSERT_TRUE(registry_.Lease({"c2", "app", "n2"}).ok());
  ASSERT_TRUE(registry_.Lease({"c1", "web", "n1"}).ok());
  ASSERT_TRUE(registry_.RotateSecret("db", Bytes("v2"), seconds(0)).ok());

  auto rows = registry_.SecretHolders("db");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].node_id, "n1");
  EXPECT_EQ((*rows)[0].container_id, "c1");
  EXPECT_EQ((*rows)[0].service_name, "web");
  EXPECT_EQ((*rows)[0].secret_name, "db");
  EXPECT_EQ((*rows)[0].version, 1u) << "held as granted until the node reports";
  EXPECT_EQ((*rows)[0].since, now_);
  EXPECT_EQ((*rows)[1].node_id, "n2");

  HeldReport report;
  report.containers = {{"c2", {{db, 2}, {other, 1}}}, {"c404", {{db, 2}}}};
  ASSERT_TRUE(registry_.RecordHeld("n2", report).ok());
  auto service_rows = registry_.ServiceHolders("app");
  ASSERT_TRUE(service_rows.ok()) << service_rows.status().message();
  ASSERT_EQ(service_rows->size(), 2u);
  EXPECT_EQ((*service_rows)[0].secret_name, "db");
  EXPECT_EQ((*service_rows)[0].version, 2u);
  EXPECT_EQ((*service_rows)[1].secret_name, "other");

  LeaseRequest renewal{"c2", "app", "n2"};
  renewal.renewal = true;
  ASSERT_TRUE(registry_.Lease(renewal).ok());
  EXPECT_EQ(registry_.ServiceHolders("app")->at(0).version, 2u) << "a renewal keeps them";

  report.containers = {{"c2", {{other, 1}}}};  // the node took db away
  ASSERT_TRUE(registry_.RecordHeld("n2", report).ok());
  EXPECT_EQ(registry_.SecretHolders("db")->size(), 1u);
  EXPECT_TRUE(IsError(registry_.RecordHeld("bad node", report), StatusCode::kInvalidArgument,
                      "invalid node ID"));
  EXPECT_TRUE(IsError(registry_.SecretHolders("nope"), StatusCode::kNotFound,
                      "secret nope not found"));

  ASSERT_TRUE(registry_.Maintain().ok());
  Registry restarted(&store_, &sealer_, Options());
  ASSERT_TRUE(restarted.Load().ok());
  auto loaded = restarted.ServiceHolders("app");
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u) << "versions are stored with the lease";
  EXPECT_EQ((*loaded)[0].secret_name, "other");
}

TEST_F(RegistryTest, UpdateSignalIsValidatedAndStoredByName) {
  ServiceSpec spec;
  spec.name = "app";
  spec.update_signal = "SIGBOGUS";
  EXPECT_TRUE(IsError(registry_.CreateService(spec), StatusCode::kInvalidArgument,
                      "UpdateSignal: unknown signal SIGBOGUS (use a name such as SIGHUP)"));
  spec.update_signal = "";
  auto created = registry_.CreateService(spec);
  ASSERT_TRUE(created.ok());
  spec.update_signal = "10";
  auto updated = registry_.UpdateService("app", created->version, spec);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_EQ(updated->spec.update_signal, "SIGUSR1");
  EXPECT_EQ(registry_.InspectService("app")->spec.update_signal, "SIGUSR1");
}

TEST_F(RegistryTest, OnChangeIsToldTheIdsOfEveryKindOfChange) {
  const std::string db = CreateSecret("db", "v1");
  EXPECT_EQ(TakeChanged().count(db), 1u) << "create";
  auto svc = CreateService("app", {{"", "db", {}}});
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ(TakeChanged().count(svc->id), 1u) << "service create";
  ASSERT_TRUE(registry_.RotateSecret("db", Bytes("v2"), seconds(0)).ok());
  EXPECT_EQ(TakeChanged().count(db), 1u) << "rotate";
  ASSERT_TRUE(registry_.RollbackSecret("db").ok());
  EXPECT_EQ(TakeChanged().count(db), 1u) << "rollback";
  ASSERT_TRUE(registry_.RevokeSecret("db").ok());
  EXPECT_EQ(TakeChanged().count(db), 1u) << "revoke";
  ASSERT_TRUE(registry_.UpdateSecret("db", registry_.InspectSecret("db")->version, {"db", {{"k", "v"}}}).ok());
  EXPECT_EQ(TakeChanged().count(db), 1u) << "labels";
  auto updated = registry_.UpdateService("app", svc->version, svc->spec);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(TakeChanged().count(svc->id), 1u) << "service update";
  ASSERT_TRUE(registry_.RemoveService("app").ok());
  EXPECT_EQ(TakeChanged().count(svc->id), 1u) << "service rm";
  ASSERT_TRUE(registry_.RemoveSecret("db").ok());
  EXPECT_EQ(TakeChanged().count(db), 1u) << "secret rm";
  ASSERT_TRUE(registry_.Maintain().ok());

  // Another manager sharing the store: its change reaches this one by the watch.
  RegistryOptions other_options = Options();
  other_options.on_change = nullptr;
  Registry other(&store_, &sealer_, other_options);
  auto theirs = other.CreateSecret({"theirs", {}}, Bytes("t"));
  ASSERT_TRUE(theirs.ok());
  std::set<std::string> seen;
  for (int i = 0; i < 500 && seen.count(theirs->id) == 0; ++i) {
    auto got = TakeChanged();
    seen.insert(got.begin(), got.end());
    if (seen.count(theirs->id) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(seen.count(theirs->id), 1u) << "told of another manager's change";
}

TEST_F(RegistryTest, RemovingASecretDeletesEveryPayloadRecord) {
  const std::string id = CreateSecret("db", "v1");
  ASSERT_TRUE(registry_.RotateSecret("db", Bytes("v2"), seconds(0)).ok());
  ASSERT_TRUE(registry_.RotateSecret("db", Bytes("v3"), seconds(0)).ok());
  ASSERT_TRUE(registry_.RemoveSecret("db").ok());
  for (const auto& [key, value] : store_.Snapshot()) {
    EXPECT_FALSE(key.starts_with("payloads/")) << key;
  }
}

}  // namespace
}  // namespace ocisecrets
