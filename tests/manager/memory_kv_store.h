// Test doubles for the registry's unit tests: the in-memory engine with counters and a
// commit hook, and a PayloadSealer that binds the AAD but does no real cryptography.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "manager/registry/registry.h"
#include "manager/store/memory_kv_store.h"

namespace ocisecrets {

// The in-memory engine plus what the registry's tests observe and inject: how many calls
// reach the store, and a hook that runs just before each Commit.
class MemoryKvStore : public InMemoryKvStore {
 public:
  Result<KeyValue> Get(const std::string& key) override {
    Count();
    return InMemoryKvStore::Get(key);
  }
  Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only) override {
    Count();
    return InMemoryKvStore::Range(prefix, keys_only);
  }
  Result<TxnResult> Commit(const Txn& txn) override {
    Count();
    commits_.fetch_add(1);
    if (before_commit_) before_commit_();
    return InMemoryKvStore::Commit(txn);
  }
  Result<std::int64_t> Revision() override {
    Count();
    return InMemoryKvStore::Revision();
  }
  Result<std::unique_ptr<Watcher>> Watch(const std::string& prefix,
                                         std::int64_t start_revision) override {
    Count();
    switch (watch_mode_) {
      case WatchMode::kNormal:
        return InMemoryKvStore::Watch(prefix, start_revision);
      case WatchMode::kStalled:
        return std::unique_ptr<Watcher>(std::make_unique<StalledWatcher>());
      case WatchMode::kFails:
        break;
    }
    return Status::Unavailable("watch: refused by the test");
  }

  // How Watch behaves: as the engine does, with a watcher that never reports anything (a
  // stream that lags), or refused (Unavailable). Set before the watch is opened.
  enum class WatchMode { kNormal, kStalled, kFails };
  WatchMode watch_mode_ = WatchMode::kNormal;

  // Test hooks. before_commit runs before every Commit (not under the store's lock);
  // PutUnlocked writes as another manager sharing the store would, bypassing the hook
  // and the counters.
  std::function<void()> before_commit_;
  void PutUnlocked(const std::string& key, const std::string& value) {
    Txn txn;
    txn.ops = {{Op::Kind::kPut, key, value}};
    (void)InMemoryKvStore::Commit(txn);  // a put without compares cannot fail here
  }
  std::map<std::string, KeyValue> Snapshot() {
    std::map<std::string, KeyValue> out;
    Result<std::vector<KeyValue>> all = InMemoryKvStore::Range("", false);
    if (all.ok()) {
      for (KeyValue& kv : *all) out.emplace(kv.key, std::move(kv));
    }
    return out;
  }
  int commits() const { return commits_.load(); }
  // Every call of the KvStore interface so far (Get, Range, Commit, Revision, Watch).
  int store_calls() const { return calls_.load(); }

 private:
  void Count() { calls_.fetch_add(1); }

  class StalledWatcher final : public Watcher {
   public:
    Result<std::vector<WatchEvent>> Next(Deadline deadline) override {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, deadline, [this] { return cancelled_; })) {
        return Status::Unavailable("watch: cancelled");
      }
      return std::vector<WatchEvent>{};
    }
    void Cancel() override {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
      cv_.notify_all();
    }

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool cancelled_ = false;
  };

  std::atomic<int> commits_{0};
  std::atomic<int> calls_{0};
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
