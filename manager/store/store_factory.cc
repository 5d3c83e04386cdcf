#include "manager/store/store_factory.h"

#include "manager/store/etcd_kv_store.h"
#include "manager/store/sqlite_kv_store.h"

namespace ocisecrets {

Status CheckStoreEngine(const std::string& engine) {
  if (engine == "sqlite" || engine == "etcd") return Status::Ok();
  return Status::InvalidArgument("unknown store engine '" + engine + "' (engines: " +
                                 std::string(kStoreEngineNames) + ")");
}

Result<std::unique_ptr<KvStore>> OpenStore(const StoreOptions& options) {
  RETURN_IF_ERROR(CheckStoreEngine(options.engine), "");
  if (options.engine == "etcd") {
    EtcdOptions etcd;
    etcd.endpoints = options.etcd_endpoints;
    etcd.cacert = options.etcd_cacert;
    etcd.cert = options.etcd_cert;
    etcd.key = options.etcd_key;
    etcd.prefix = options.etcd_prefix;
    // EtcdKvStore's messages start with "etcd: " already.
    ASSIGN_OR_RETURN(std::unique_ptr<EtcdKvStore> kv, EtcdKvStore::Open(std::move(etcd)), "");
    return std::unique_ptr<KvStore>(std::move(kv));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteKvStore> sqlite, SqliteKvStore::Open(options.sqlite_path),
                   "sqlite");
  return std::unique_ptr<KvStore>(std::move(sqlite));
}

}  // namespace ocisecrets
