#include "manager/store/store_factory.h"

#include "manager/store/sqlite_kv_store.h"

namespace ocisecrets {

Status CheckStoreEngine(const std::string& engine) {
  if (engine == "sqlite") return Status::Ok();
  if (engine == "etcd") {
    return Status::FailedPrecondition(
        "store engine etcd is not available in this build yet (engines: " +
        std::string(kStoreEngineNames) + ")");
  }
  return Status::InvalidArgument("unknown store engine '" + engine + "' (engines: " +
                                 std::string(kStoreEngineNames) + ")");
}

Result<std::unique_ptr<KvStore>> OpenStore(const StoreOptions& options) {
  RETURN_IF_ERROR(CheckStoreEngine(options.engine), "");
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteKvStore> sqlite, SqliteKvStore::Open(options.sqlite_path),
                   "sqlite");
  return std::unique_ptr<KvStore>(std::move(sqlite));
}

}  // namespace ocisecrets
