// The replicated engine of KvStore: an etcd v3 cluster (etcd 3.4) through its JSON
// gateway (POST /v3/kv/range, /v3/kv/txn, /v3/watch, /v3/maintenance/status), over HTTP
// or HTTPS with Boost.Beast. Every key lives under EtcdOptions::prefix in etcd and is
// returned without it. Revisions are etcd's, less one: etcd starts an empty keyspace at
// revision 1, the contract at 0, so the engine's revision R is etcd's R + 1 everywhere
// (compares, Watch's start revision, what Get/Range/Commit/Revision return; `etcdctl
// compact N` forgets the engine's revisions below N - 1).
//
// Requests go to one endpoint at a time over a pool of kept-alive connections; a
// connection error or a 5xx answer moves to the next endpoint. Reads are retried there;
// a Commit is retried only when its request cannot have reached etcd (the connection
// failed before it was sent), else it is Unavailable with its outcome unknown, as
// kv_store.h says. Each request is bounded by EtcdOptions::request_timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "manager/store/kv_store.h"
#include "shared/status.h"

namespace ocisecrets {

struct EtcdOptions {
  // "http://HOST:PORT" or "https://HOST:PORT", tried in this order. At least one.
  std::vector<std::string> endpoints;
  // PEM files for https: the CA that signed the members' certificates (empty: the system's
  // trust store) and the client certificate and key etcd's --client-cert-auth asks for
  // (both or neither).
  std::string cacert, cert, key;
  // Every key of this store in etcd starts with it. Several clusters may share an etcd
  // under distinct prefixes.
  std::string prefix = "/oci-secrets/";
  std::chrono::milliseconds request_timeout{5000};
};

class EtcdKvStore final : public KvStore {
 public:
  // Checks the options and that one endpoint answers /v3/maintenance/status within
  // request_timeout. InvalidArgument for no endpoint, an endpoint that is not
  // http(s)://HOST:PORT, only one of cert and key, or a PEM file that cannot be loaded;
  // Unavailable "etcd: none of URL,... answered: <why of the last>", PermissionDenied in that
  // words when the last failure was a TLS certificate refusal.
  static Result<std::unique_ptr<EtcdKvStore>> Open(EtcdOptions options);

  // Cancels every watcher still open (their Next then returns Unavailable).
  ~EtcdKvStore() override;
  EtcdKvStore(const EtcdKvStore&) = delete;
  EtcdKvStore& operator=(const EtcdKvStore&) = delete;

  // KvStore: the contract of kv_store.h, thread-safe (each call takes a pooled
  // connection). Range reads in pages of 10,000 keys at one revision, so it is one
  // consistent snapshot. Commit runs ValidateTxn before any request; of several ops of one
  // txn on one key it sends only the last (etcd refuses a key written twice in a txn), so
  // a watcher sees that txn's net change; a put under an earlier delete-prefix of the
  // same txn is refused by etcd (InvalidArgument "duplicate key").
  Result<KeyValue> Get(const std::string& key) override;
  Result<std::vector<KeyValue>> Range(const std::string& prefix, bool keys_only = false) override;
  Result<TxnResult> Commit(const Txn& txn) override;
  Result<std::int64_t> Revision() override;
  // A streaming POST /v3/watch on its own connection, read by one thread per watcher.
  // The member's end of the stream (member killed, connection lost, or the member lost
  // its leader: the watch asks etcd to require one) makes Next Unavailable; etcd's compaction of what the watch still had to send makes it
  // FailedPrecondition "compacted" (Watch itself returns that when start_revision is
  // already compacted).
  Result<std::unique_ptr<Watcher>> Watch(const std::string& prefix,
                                         std::int64_t start_revision) override;
  std::string Engine() const override { return "etcd"; }

 private:
  class Client;
  explicit EtcdKvStore(std::unique_ptr<Client> client, std::string prefix);

  std::unique_ptr<Client> client_;
  std::string prefix_;
};

}  // namespace ocisecrets
