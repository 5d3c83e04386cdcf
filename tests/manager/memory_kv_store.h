// Test doubles for the registry's unit tests: a KvStore in memory with etcd's revision
// semantics, and a PayloadSealer that binds the AAD but does no real cryptography.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "manager/registry/registry.h"
#include "manager/store/kv_store.h"

namespace ocisecrets {

class MemoryKvStore : public KvStore {
 public:
  Result<KeyValue> Get(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = kv_.find(key);
    if (it == kv_.end()) return Status::NotFound("key " + key + " not found");
    return it->second;
  }

  Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<KeyValue> out;
    for (auto it = kv_.lower_bound(prefix); it != kv_.end() && it->first.starts_with(prefix); ++it) {
      out.push_back(it->second);
      if (keys_only) out.back().value.clear();
    }
    return out;
  }

  Result<TxnResult> Commit(const Txn& txn) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++commits_;
    if (before_commit_) before_commit_();
    for (const Compare& c : txn.compares) {
      auto it = kv_.find(c.key);
      std::int64_t rev = it == kv_.end() ? 0 : it->second.mod_revision;
      if (rev != c.mod_revision) return TxnResult{false, revision_};
    }
    ++revision_;
    for (const Op& op : txn.ops) {
      switch (op.kind) {
        case Op::Kind::kPut: {
          KeyValue& kv = kv_[op.key];
          if (kv.create_revision == 0) kv.create_revision = revision_;
          kv.key = op.key;
          kv.value = op.value;
          kv.mod_revision = revision_;
          break;
        }
        case Op::Kind::kDelete:
          kv_.erase(op.key);
          break;
        case Op::Kind::kDeletePrefix:
          for (auto it = kv_.lower_bound(op.key); it != kv_.end() && it->first.starts_with(op.key);) {
            it = kv_.erase(it);
          }
          break;
      }
    }
    return TxnResult{true, revision_};
  }

  Result<std::int64_t> Revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    return revision_;
  }

  std::string Engine() const override { return "memory"; }

  // Test hooks. before_commit runs under the store's lock, so it must not call the store:
  // use PutUnlocked to simulate another writer.
  std::function<void()> before_commit_;
  void PutUnlocked(const std::string& key, const std::string& value) {
    ++revision_;
    KeyValue& kv = kv_[key];
    kv.key = key;
    kv.value = value;
    kv.mod_revision = revision_;
  }
  std::map<std::string, KeyValue> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return kv_;
  }
  int commits() {
    std::lock_guard<std::mutex> lock(mu_);
    return commits_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, KeyValue> kv_;
  std::int64_t revision_ = 0;
  int commits_ = 0;
};

// "Seals" as AAD|0|bytes XOR 0x5a; Open checks the AAD. Enough to test that the
// registry binds records and never stores the plaintext as is.
class FakeSealer : public PayloadSealer {
 public:
  Result<std::string> Seal(const std::string& record_key, const std::string& secret_id,
                           std::uint64_t version, const SecretBytes& plaintext) override {
    std::string out = Aad(record_key, secret_id, version);
    out.push_back('\0');
    for (auto b : plaintext) out.push_back(static_cast<char>(b ^ 0x5a));
    return out;
  }
  Result<SecretBytes> Open(const std::string& record_key, const std::string& secret_id,
                           std::uint64_t version, const std::string& sealed) override {
    std::string aad = Aad(record_key, secret_id, version);
    if (sealed.size() <= aad.size() || sealed.compare(0, aad.size(), aad) != 0 ||
        sealed[aad.size()] != '\0') {
      return Status::DataLoss("sealed payload does not authenticate");
    }
    SecretBytes out;
    for (std::size_t i = aad.size() + 1; i < sealed.size(); ++i) {
      out.push_back(static_cast<std::uint8_t>(sealed[i] ^ 0x5a));
    }
    return out;
  }

 private:
  static std::string Aad(const std::string& k, const std::string& id, std::uint64_t v) {
    return k + "|" + id + "|" + std::to_string(v);
  }
};

}  // namespace ocisecrets
