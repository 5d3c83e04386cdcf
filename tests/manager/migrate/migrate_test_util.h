// A store for the migration tests: SQLite, with a keyring, secrets (one removed), a
// service and a lease, made through the registry as the daemon makes them.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "manager/registry/registry.h"
#include "manager/store/keyring.h"
#include "manager/store/sqlite_kv_store.h"
#include "shared/crypto.h"

namespace ocisecrets::testing {

inline SecretBytes Bytes(const std::string& s) { return SecretBytes(s.begin(), s.end()); }

// Registry options with real object IDs.
inline RegistryOptions WithIds() {
  RegistryOptions o;
  o.new_id = [] { return NewObjectId(); };
  return o;
}

// Fills a new SQLite store at path, sealed under root: secrets s0..s10 (s11 made and
// removed), service "web" with s0, s3, s6, s9, a lease of container c1 on it, then secret
// "late". Fails the test on error; the store is closed when it returns.
inline void SeedStore(const std::string& path, const KeyBytes& root) {
  auto src = SqliteKvStore::Open(path);
  ASSERT_TRUE(src.ok()) << src.status().message();
  auto ring = Keyring::Open(root, **src);
  ASSERT_TRUE(ring.ok()) << ring.status().message();
  KeyringSealer sealer(ring->get());
  Registry registry(src->get(), &sealer, WithIds());
  ServiceSpec spec;
  spec.name = "web";
  for (int i = 0; i < 12; ++i) {
    std::string name = "s" + std::to_string(i);
    ASSERT_TRUE(registry.CreateSecret({name, {}}, Bytes("payload-" + name)).ok());
    if (i % 3 == 0) spec.secrets.push_back({"", name, {name}});
  }
  ASSERT_TRUE(registry.RemoveSecret("s11").ok()) << "a gap in the revisions";
  ASSERT_TRUE(registry.CreateService(spec).ok());
  ASSERT_TRUE(registry.Lease({"c1", "web"}).ok()) << "a lease, which is not copied";
  ASSERT_TRUE(registry.CreateSecret({"late", {}}, Bytes("after the lease")).ok());
}

}  // namespace ocisecrets::testing
