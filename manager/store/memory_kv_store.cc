#include "manager/store/memory_kv_store.h"

#include <utility>

namespace ocisecrets {

Result<KeyValue> InMemoryKvStore::Get(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("get: empty key");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kv_.find(key);
  if (it == kv_.end()) return Status::NotFound("key not found");
  return it->second;
}

Result<std::vector<KeyValue>> InMemoryKvStore::Range(const std::string& prefix, bool keys_only) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KeyValue> out;
  for (auto it = kv_.lower_bound(prefix); it != kv_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back(it->second);
    if (keys_only) out.back().value.clear();
  }
  return out;
}

Result<TxnResult> InMemoryKvStore::Commit(const Txn& txn) {
  RETURN_IF_ERROR(ValidateTxn(txn), "");
  std::lock_guard<std::mutex> lock(mu_);
  for (const Compare& c : txn.compares) {
    auto it = kv_.find(c.key);
    std::int64_t rev = it == kv_.end() ? 0 : it->second.mod_revision;
    if (rev != c.mod_revision) return TxnResult{false, revision_};
  }
  const std::int64_t next = revision_ + 1;
  std::vector<WatchEvent> events;
  auto deleted = [&](const std::string& key) {
    events.push_back({WatchEvent::Kind::kDelete, key, {}, next});
  };
  for (const Op& op : txn.ops) {
    switch (op.kind) {
      case Op::Kind::kPut: {
        KeyValue& kv = kv_[op.key];
        if (kv.create_revision == 0) kv.create_revision = next;
        kv.key = op.key;
        kv.value = op.value;
        kv.mod_revision = next;
        events.push_back({WatchEvent::Kind::kPut, op.key, op.value, next});
        break;
      }
      case Op::Kind::kDelete:
        if (kv_.erase(op.key) > 0) deleted(op.key);
        break;
      case Op::Kind::kDeletePrefix:
        for (auto it = kv_.lower_bound(op.key); it != kv_.end() && it->first.starts_with(op.key);) {
          deleted(it->first);
          it = kv_.erase(it);
        }
        break;
    }
  }
  if (!events.empty()) {
    revision_ = next;
    log_.Append(next, std::move(events));
  }
  return TxnResult{true, revision_};
}

Result<std::int64_t> InMemoryKvStore::Revision() {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

Result<std::unique_ptr<Watcher>> InMemoryKvStore::Watch(const std::string& prefix,
                                                        std::int64_t start_revision) {
  return log_.Watch(prefix, start_revision);
}

}  // namespace ocisecrets
