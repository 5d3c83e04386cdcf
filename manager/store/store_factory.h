// The one place that turns the daemon's store flags into a KvStore engine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "manager/store/kv_store.h"
#include "shared/status.h"

namespace ocisecrets {

// The engines a user may choose (`oci-secretsd --store`), for --help and error messages.
inline constexpr const char* kStoreEngineNames = "sqlite (default), etcd";

struct StoreOptions {
  std::string engine = "sqlite";  // `--store`
  std::string sqlite_path;        // sqlite: the database file (STATE_DIR/store.db)
  // etcd (manager/store/etcd_kv_store.h): `--etcd-endpoints` (at least one), the PEM files
  // of `--etcd-cacert`, `--etcd-cert`, `--etcd-key`, and `--etcd-prefix`.
  std::vector<std::string> etcd_endpoints;
  std::string etcd_cacert;
  std::string etcd_cert;
  std::string etcd_key;
  std::string etcd_prefix = "/oci-secrets/";
};

// OK when engine names an engine this build can open ("sqlite", "etcd"); otherwise
// InvalidArgument "unknown store engine X (engines: ...)".
// Lets the daemon refuse a bad flag before it touches anything.
Status CheckStoreEngine(const std::string& engine);

// Opens the engine options.engine names: CheckStoreEngine's errors, else the engine's own
// Open errors (SqliteKvStore::Open's, EtcdKvStore::Open's), with the engine's name as
// context; InvalidArgument "etcd: no endpoint ..." for etcd without etcd_endpoints.
Result<std::unique_ptr<KvStore>> OpenStore(const StoreOptions& options);

}  // namespace ocisecrets
