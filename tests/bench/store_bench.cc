// Store benchmark: prints how long the embedded engine takes for the operations the
// manager does most. Not a test (no assertion on time); run it by hand:
//   build/bin/store_bench [KEYS]
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "manager/store/keyring.h"
#include "manager/store/sqlite_kv_store.h"

namespace ocisecrets {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int Fail(const Status& s) {
  std::fprintf(stderr, "store_bench: %s\n", s.ToString().c_str());
  return 1;
}

int Run(int keys) {
  char tmpl[] = "/tmp/ocs-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Fail(PosixError("mkdtemp", errno));
  const std::string dir = tmpl;
  int rc = 0;
  {
    Result<std::unique_ptr<SqliteKvStore>> kv = SqliteKvStore::Open(dir + "/store.db");
    if (!kv.ok()) return Fail(kv.status());
    Result<std::unique_ptr<Keyring>> ring = Keyring::Open(dir + "/root.key", **kv);
    if (!ring.ok()) return Fail(ring.status());

    // Bulk load in the largest batches a txn may carry.
    auto t0 = Clock::now();
    std::string value(200, 'v');
    for (int i = 0; i < keys;) {
      Txn txn;
      for (std::size_t j = 0; j < kMaxTxnOps && i < keys; ++j, ++i) {
        txn.ops.push_back({Op::Kind::kPut, "bench/" + std::to_string(1000000 + i), value});
      }
      Result<TxnResult> r = (*kv)->Commit(txn);
      if (!r.ok()) return Fail(r.status());
    }
    std::printf("load %d keys (%zu per txn): %.1f ms\n", keys, kMaxTxnOps, Ms(Clock::now() - t0));

    // Wall time and this process's CPU time (the machine may be busy with others).
    for (bool keys_only : {false, true}) {
      t0 = Clock::now();
      std::clock_t c0 = std::clock();
      Result<std::vector<KeyValue>> all = (*kv)->Range("bench/", keys_only);
      if (!all.ok()) return Fail(all.status());
      if (static_cast<int>(all->size()) != keys) return Fail(Status::Internal("range: short"));
      std::printf("range %d keys%s: %.1f ms wall, %.1f ms cpu\n", keys,
                  keys_only ? ", keys only" : " with values", Ms(Clock::now() - t0),
                  1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    }

    // Creates the way the registry does them: seal, compare-absent, put (fsync each).
    constexpr int kCreates = 200;
    SecretBytes payload(64, 'p');
    t0 = Clock::now();
    for (int i = 0; i < kCreates; ++i) {
      std::string id = NewObjectId();
      std::string key = "payloads/" + id;
      Result<std::string> sealed = (*ring)->SealPayload(key, id, 1, payload);
      if (!sealed.ok()) return Fail(sealed.status());
      Txn txn;
      txn.compares = {{key, 0}};
      txn.ops = {{Op::Kind::kPut, key, *sealed}};
      Result<TxnResult> r = (*kv)->Commit(txn);
      if (!r.ok() || !r->succeeded) return Fail(r.status());
    }
    std::printf("seal + commit one create: %.3f ms each (%d creates)\n",
                Ms(Clock::now() - t0) / kCreates, kCreates);

    Result<std::vector<KeyValue>> sealed_all = (*kv)->Range("payloads/");
    t0 = Clock::now();
    for (const KeyValue& item : *sealed_all) {
      std::string id = item.key.substr(9);
      Result<SecretBytes> plain = (*ring)->OpenPayload(item.key, id, 1, item.value);
      if (!plain.ok()) {
        rc = Fail(plain.status());
        break;
      }
    }
    std::printf("open one payload: %.4f ms each\n", Ms(Clock::now() - t0) / kCreates);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rc;
}

}  // namespace
}  // namespace ocisecrets

int main(int argc, char** argv) {
  int keys = argc > 1 ? std::atoi(argv[1]) : 100000;
  if (keys <= 0) keys = 100000;
  return ocisecrets::Run(keys);
}
