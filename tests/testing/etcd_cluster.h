// A real etcd cluster for tests: N etcd processes on 127.0.0.1 at ports the kernel
// picked free, each with its own data dir, started and stopped by the test. The store
// engine's tests, the managers' tests and the lead's whole-system test start one each.
//
//   testing::EtcdClusterOptions options;       // 3 members, a TempDir
//   auto cluster = testing::EtcdCluster::Start(options);
//   ASSERT_TRUE(cluster.ok()) << cluster.status().message();
//   (*cluster)->Kill(0);                       // SIGKILL, as a machine that dies
//   (*cluster)->Etcdctl({"put", "k", "v"});    // through the members still up
//   (*cluster)->Restart(0);                    // same data dir and ports
//
// Thread safety: none; one test thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "shared/status.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::testing {

struct EtcdClusterOptions {
  int members = 3;
  std::string dir;  // where the members' data dirs and logs go; a TempDir when empty
  // Extra flags for every member (e.g. TLS: --cert-file F --key-file F --trusted-ca-file F
  // --client-cert-auth). With --cert-file the client URLs are https://.
  std::vector<std::string> extra_args;
  // etcdctl flags the helper itself needs to reach the members (e.g. --cacert --cert --key
  // when the members require TLS client certificates).
  std::vector<std::string> etcdctl_args;
};

class EtcdCluster {
 public:
  // Starts every member (/usr/bin/etcd) and waits (up to 20 s) until each answers
  // `etcdctl endpoint health`. On failure every started member is killed and the Status
  // carries the tail of the members' logs. FailedPrecondition when /usr/bin/etcd is
  // missing (install etcd-server, as packaging/test.sh does).
  static Result<std::unique_ptr<EtcdCluster>> Start(EtcdClusterOptions options);

  // SIGKILLs and reaps every member still running and removes the data dirs.
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // "http://127.0.0.1:PORT" (https with TLS options), one per member, in member order.
  std::vector<std::string> ClientUrls() const;
  // ClientUrls joined by ',', as --etcd-endpoints and etcdctl --endpoints take them.
  std::string EndpointsFlag() const;

  // SIGKILL member (0-based) and reap it: a machine that dies. InvalidArgument for a
  // member out of range; FailedPrecondition when it is not running.
  Status Kill(int member);
  // Sends sig to a running member (SIGSTOP, later SIGCONT: a member cut off for a while).
  // InvalidArgument for a member out of range; FailedPrecondition when it is not running.
  Status Signal(int member, int sig);
  // Starts a killed member again with the same data dir and ports and waits (up to 20 s)
  // until it is healthy. FailedPrecondition when it is running.
  Status Restart(int member);

  // Runs ETCDCTL_API=3 /usr/bin/etcdctl --endpoints <the members running now> ARGS... (up
  // to 30 s; ARGS may name other --endpoints, which win) and returns its stdout;
  // Unavailable with its stderr when it exits non-zero or no member runs.
  Result<std::string> Etcdctl(std::vector<std::string> args) const;

  // Everything the members wrote to their logs, for a failure message.
  std::string Logs() const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    std::string log_path;
    pid_t pid = -1;
  };

  explicit EtcdCluster(EtcdClusterOptions options);
  Status Launch(int member);
  Status WaitHealthy(int member, std::chrono::steady_clock::time_point deadline) const;
  std::string ClientUrl(const Member& m) const;
  std::string InitialCluster() const;
  Result<std::string> RunEtcdctl(const std::string& endpoints, std::vector<std::string> args,
                                 std::chrono::milliseconds timeout) const;

  EtcdClusterOptions options_;
  std::unique_ptr<TempDir> temp_;  // when options_.dir was empty
  std::string dir_;
  std::string token_;
  bool tls_ = false;
  std::vector<Member> members_;
};

}  // namespace ocisecrets::testing
