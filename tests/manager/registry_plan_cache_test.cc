// The lease fast path's plan cache: no store call per lease while nothing changed, and
// every change seen: at once when made through this registry, through the watch when
// another manager sharing the store made it.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "manager/registry/registry.h"
#include "tests/manager/memory_kv_store.h"

namespace ocisecrets {
namespace {

class RegistryPlanCacheTest : public ::testing::Test {
 protected:
  // Opens the registry (and so its watch) with the store's current watch_mode_, then makes
  // the service "redis" with one secret.
  void Start() {
    RegistryOptions o;
    o.new_id = [this] {
      std::string n = std::to_string(++ids_);
      return "a" + std::string(24 - n.size(), '0') + n;
    };
    registry_ = std::make_unique<Registry>(&store_, &sealer_, o);
    std::string data = "hunter2";
    ASSERT_TRUE(registry_->CreateSecret({"pw", {}}, SecretBytes(data.begin(), data.end())).ok());
    ServiceSpec spec;
    spec.name = "redis";
    spec.secrets_dir = "/run/first";
    SecretReference ref;
    ref.secret_name = "pw";
    spec.secrets.push_back(ref);
    Result<Service> service = registry_->CreateService(spec);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_id_ = service->id;
  }

  std::string LeasedDir() {
    Result<LeaseOutcome> lease = registry_->Lease({"c1", "redis"});
    EXPECT_TRUE(lease.ok()) << lease.status().ToString();
    return lease.ok() ? lease->grant.secrets_dir : "";
  }

  // Rewrites the stored service as another manager sharing the store would.
  void ChangeDirBehindTheRegistrysBack(const std::string& dir) {
    Result<KeyValue> kv = store_.InMemoryKvStore::Get("services/" + service_id_);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    Result<Service> service = ParseService(kv->value);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service->spec.secrets_dir = dir;
    store_.PutUnlocked(kv->key, ToJson(*service));
  }

  MemoryKvStore store_;
  FakeSealer sealer_;
  int ids_ = 0;
  std::string service_id_;
  std::unique_ptr<Registry> registry_;  // declared last: destroyed before the store
};

TEST_F(RegistryPlanCacheTest, LeasesOfAnUnchangedServiceMakeNoStoreCallsAfterTheFirst) {
  Start();
  ASSERT_EQ(LeasedDir(), "/run/first");
  const int calls = store_.store_calls();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(LeasedDir(), "/run/first");
  EXPECT_EQ(store_.store_calls(), calls) << "100 leases of an unchanged service";
}

TEST_F(RegistryPlanCacheTest, AChangeThroughTheRegistryIsSeenByTheVeryNextLease) {
  // A watch that reports nothing: only the registry's own invalidation can help.
  store_.watch_mode_ = MemoryKvStore::WatchMode::kStalled;
  Start();
  ASSERT_EQ(LeasedDir(), "/run/first");
  Result<Service> current = registry_->InspectService("redis");
  ASSERT_TRUE(current.ok());
  ServiceSpec spec = current->spec;
  spec.secrets_dir = "/run/second";
  ASSERT_TRUE(registry_->UpdateService("redis", current->version, spec).ok());
  EXPECT_EQ(LeasedDir(), "/run/second");
}

TEST_F(RegistryPlanCacheTest, AChangeByAnotherManagerArrivesThroughTheWatch) {
  Start();
  ASSERT_EQ(LeasedDir(), "/run/first");
  ChangeDirBehindTheRegistrysBack("/run/other");
  // The watch reports it on its own thread: the lease sees it once that has run.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string dir = LeasedDir();
  while (dir != "/run/other" && std::chrono::steady_clock::now() < give_up) dir = LeasedDir();
  EXPECT_EQ(dir, "/run/other");
  const int calls = store_.store_calls();
  for (int i = 0; i < 10; ++i) ASSERT_EQ(LeasedDir(), "/run/other");
  EXPECT_EQ(store_.store_calls(), calls) << "cached again once rebuilt";
}

TEST_F(RegistryPlanCacheTest, WithoutAWatchEveryLeaseChecksTheRevision) {
  store_.watch_mode_ = MemoryKvStore::WatchMode::kFails;
  Start();
  ASSERT_EQ(LeasedDir(), "/run/first");
  ChangeDirBehindTheRegistrysBack("/run/other");
  EXPECT_EQ(LeasedDir(), "/run/other") << "the very next lease, no watch needed";
}

}  // namespace
}  // namespace ocisecrets
