// A cluster of daemons on this one machine, for the cluster's integration tests: one
// manager Daemon that ran `cluster init --listen-addr 127.0.0.1:PORT` (a free port per
// run) and any number of worker Daemons (each its own temp dir, state dir and socket; no
// TCP port), joined with the token of `cluster join-token node -q`. Loopback only.
//
//   Cluster cluster;
//   ASSERT_TRUE(cluster.Init().ok());                 // manager up, cluster made
//   Result<Daemon*> worker = cluster.AddWorker();     // started and joined
//   CommandResult r = RemoteCli(cluster.addr(), NodeCertFiles(**worker), {"secret", "ls"});
//
// Everything is torn down by the destructors (workers first), also when an ASSERT fails.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"
#include "tests/integration/harness.h"

namespace ocisecrets::itest {

// Whether text holds part.
bool Contains(const std::string& text, std::string_view part);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed).
// Another process may take it before it is used: use it at once.
int FreeLoopbackPort();

// A TCP listener on 127.0.0.1 that never accepts and never answers: the kernel completes
// the TCP handshake from its backlog, then nothing. A manager that hangs.
class SilentTcpListener {
 public:
  SilentTcpListener();
  ~SilentTcpListener();
  SilentTcpListener(const SilentTcpListener&) = delete;
  SilentTcpListener& operator=(const SilentTcpListener&) = delete;
  // "127.0.0.1:PORT".
  std::string addr() const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Certificate files as the remote CLI (--tlscacert/--tlscert/--tlskey) and curl take them.
struct TlsFiles {
  std::string ca;
  std::string cert;
  std::string key;
};

// A joined worker's own files: STATE_DIR/cluster/{ca.pem,node.crt,node.key}.
TlsFiles NodeCertFiles(const Daemon& worker);
// What `cluster admin-cert --out DIR` writes: DIR/{ca.pem,cert.pem,key.pem}.
TlsFiles AdminCertFiles(const std::string& dir);

// build/bin/oci-secrets --host https://ADDR --tlscacert CA --tlscert CERT --tlskey KEY ARGS.
CommandResult RemoteCli(const std::string& addr, const TlsFiles& tls,
                        const std::vector<std::string>& args, std::string_view stdin_data = {});

// One curl run: its exit code, the HTTP status (0 when there was no answer), the body and
// curl's own error text.
struct CurlResult {
  int exit_code = -1;
  int http_status = 0;
  std::string body;
  std::string err;
};
// curl -sS --max-time 10 ARGS (ARGS name the URL, the method, the body...).
CurlResult Curl(const std::vector<std::string>& args);
// The same, trusting tls.ca and presenting tls.cert and tls.key.
CurlResult Curl(const std::vector<std::string>& args, const TlsFiles& tls);

// The node ID a worker's certificate names (CN of STATE_DIR/cluster/node.crt); empty, with
// a test failure, when it has none.
std::string NodeIdOf(const Daemon& worker);
// The serial of the worker's current certificate; empty when there is none (yet).
std::string CertSerialOf(const Daemon& worker);

// The token with its CA digest, or its secret, replaced: a token for another cluster, or
// a forged one for this cluster. Fails the test when `token` is not a join token.
std::string WithCaDigest(const std::string& token, const std::string& digest);
std::string WithSecret(const std::string& token, const std::string& secret);

class Cluster {
 public:
  struct Options {
    // Appended to `cluster init --listen-addr 127.0.0.1:PORT`, e.g. {"--cert-expiry", "4s"}.
    std::vector<std::string> init_args;
    // Appended to every manager daemon's command line, e.g. {"--store", "etcd",
    // "--etcd-endpoints", URLS}: a cluster of several managers needs a shared store.
    std::vector<std::string> manager_args;
    // "K=V" for the environment of every daemon the cluster starts (managers and workers).
    std::vector<std::string> env;
  };

  Cluster();
  explicit Cluster(Options options);
  ~Cluster();  // stops the workers, then the managers
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Starts the manager and makes the cluster. The Status carries the CLI's words and the
  // manager's log on failure.
  Status Init();

  // Another manager daemon (Options::manager_args), started on the same store and joined
  // with the manager token (`cluster join --token T --listen-addr 127.0.0.1:PORT ADDR`,
  // a free port). The Status carries the join's words and both managers' logs.
  Result<Daemon*> AddManager();
  // Manager i: 0 is the one that made the cluster, then AddManager's in order.
  Daemon& manager(std::size_t i) { return i == 0 ? manager_ : *managers_.at(i - 1); }
  // "127.0.0.1:PORT", the TLS listener of manager i.
  const std::string& manager_addr(std::size_t i) const {
    return i == 0 ? addr_ : manager_addrs_.at(i - 1);
  }

  // A new worker daemon, started and joined with the node token through `managers`
  // (default: {addr()}). The Status carries the join's words and the worker's log.
  Result<Daemon*> AddWorker(std::vector<std::string> managers = {});
  // A new worker daemon, started, not joined.
  Result<Daemon*> StartWorker();
  // `cluster join --token TOKEN MANAGER...` on worker's socket.
  CommandResult Join(const Daemon& worker, const std::string& token,
                     const std::vector<std::string>& managers) const;

  // `cluster join-token node -q` (rotate: with --rotate), trimmed. Empty, with a test
  // failure, when the command fails.
  std::string JoinToken(bool rotate = false) const;
  // `cluster join-token ROLE -q` on the first manager, trimmed; the same failure rule.
  std::string JoinToken(std::string_view role, bool rotate) const;

  Daemon& manager() { return manager_; }
  const Daemon& manager() const { return manager_; }
  Daemon& worker(std::size_t i) { return *workers_.at(i); }
  // "127.0.0.1:PORT", the manager's TLS listener.
  const std::string& addr() const { return addr_; }

  // The size of the manager's audit log now: a mark for AuditSince.
  std::size_t AuditMark() const;
  // The audit log's lines from `mark` on that contain `needle` (all with an empty needle).
  std::vector<std::string> AuditLinesSince(std::size_t mark, std::string_view needle = {}) const;

 private:
  Options options_;
  Daemon manager_;
  std::vector<std::unique_ptr<Daemon>> managers_;  // AddManager's
  std::vector<std::string> manager_addrs_;
  std::vector<std::unique_ptr<Daemon>> workers_;
  std::string addr_;
};

}  // namespace ocisecrets::itest
