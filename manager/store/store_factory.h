// The one place that turns the daemon's store flags into a KvStore engine.
#pragma once

#include <memory>
#include <string>

#include "manager/store/kv_store.h"
#include "shared/status.h"

namespace ocisecrets {

// The engines a user may choose (`oci-secretsd --store`), for --help and error messages.
inline constexpr const char* kStoreEngineNames = "sqlite (default; etcd in a later release)";

struct StoreOptions {
  std::string engine = "sqlite";  // `--store`
  std::string sqlite_path;        // sqlite: the database file (STATE_DIR/store.db)
};

// OK when engine names an engine this build can open; otherwise InvalidArgument "unknown
// store engine X (engines: ...)", or FailedPrecondition for "etcd" (not in this build yet).
// Lets the daemon refuse a bad flag before it touches anything.
Status CheckStoreEngine(const std::string& engine);

// Opens the engine options.engine names: CheckStoreEngine's errors, else the engine's own
// Open errors (e.g. SqliteKvStore::Open's), with the engine's name as context.
Result<std::unique_ptr<KvStore>> OpenStore(const StoreOptions& options);

}  // namespace ocisecrets
