// The in-memory engine of KvStore: etcd's revision semantics and watch, nothing on disk.
// For unit tests and the contract suite (the daemon does not offer it: a restart would
// lose every secret). "Durable" here means "visible to every later call".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "manager/store/change_log.h"
#include "manager/store/kv_store.h"
#include "shared/status.h"

namespace ocisecrets {

class InMemoryKvStore : public KvStore {
 public:
  InMemoryKvStore() = default;
  InMemoryKvStore(const InMemoryKvStore&) = delete;
  InMemoryKvStore& operator=(const InMemoryKvStore&) = delete;

  // KvStore: the contract of kv_store.h; every method is thread-safe (one mutex).
  Result<KeyValue> Get(const std::string& key) override;
  Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only = false) override;
  Result<TxnResult> Commit(const Txn& txn) override;
  Result<std::int64_t> Revision() override;
  // Served from the last ChangeLogLimits worth of changes; a new store has none older.
  Result<std::unique_ptr<Watcher>> Watch(const std::string& prefix,
                                         std::int64_t start_revision) override;
  std::string Engine() const override { return "memory"; }

 private:
  std::mutex mu_;
  std::map<std::string, KeyValue> kv_;  // std::string orders like memcmp
  std::int64_t revision_ = 0;
  ChangeLog log_{0};
};

}  // namespace ocisecrets
