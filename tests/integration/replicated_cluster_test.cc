// The replicated store, end to end: a 3-member etcd on loopback ports, two managers on it
// (the second joined with the manager token), a worker that joined through the first
// manager only and learnt the second from its heartbeats, runc containers through the
// hook on the worker. What issue 13 says the whole must show: starts keep succeeding and
// creates are never lost or doubled while an etcd member and a manager are killed -9 and
// brought back; etcd's whole keyspace holds no payload and no key.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "shared/base64.h"
#include "tests/integration/cluster_harness.h"
#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"
#include "tests/testing/etcd_cluster.h"

namespace ocisecrets::itest {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr char kService[] = "redis";
constexpr char kRead[] = "echo \"CONTENT $(cat /run/secrets/pw)\"";

std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Waits up to `limit` for pred(), checking every 200 ms.
template <typename Pred>
bool WaitUntil(Pred pred, seconds limit) {
  const auto end = steady_clock::now() + limit;
  while (steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(200));
  }
  return pred();
}

class ReplicatedClusterTest : public ::testing::Test {
 protected:
  // etcd (3 members), manager 0 with a cluster and secret "pw" granted to "redis", manager
  // 1 joined as a manager.
  void MakeCluster(std::vector<std::string> init_args = {}) {
    ASSERT_TRUE(CanRun(Runc()));
    auto etcd = testing::EtcdCluster::Start({.members = 3});
    ASSERT_TRUE(etcd.ok()) << etcd.status().message();
    etcd_ = std::move(*etcd);
    cluster_ = std::make_unique<Cluster>(Cluster::Options{
        std::move(init_args), {"--store", "etcd", "--etcd-endpoints", etcd_->EndpointsFlag()}});
    Status init = cluster_->Init();
    ASSERT_TRUE(init.ok()) << init.message();
    payload_ = UniquePayload();
    CreateSecretAndService(cluster_->manager(0), "pw", payload_, kService, {"pw", 1000, 1000, 0400});
    ASSERT_FALSE(HasFailure());
    Result<Daemon*> second = cluster_->AddManager();
    ASSERT_TRUE(second.ok()) << second.status().message();
  }

  CommandResult Start(const Daemon& node) {
    TempDir dir;
    Bundle b(dir, WriteHookConfig(dir, node.host(), 3000));
    b.SetScript(kRead);
    b.SetUser(1000, 1000);
    b.SetAnnotation("org.oci-secrets.service", kService);
    b.InstallHook(true);
    return b.Run(Runc(), "ocs-rep-" + std::to_string(getpid()) + "-" +
                             std::to_string(++containers_));
  }

  // Everything etcd holds, keys and values, as etcdctl prints them.
  std::string Keyspace() {
    Result<std::string> all = etcd_->Etcdctl({"get", "--prefix", ""});
    EXPECT_TRUE(all.ok()) << all.status().message();
    return all.ok() ? *all : "";
  }

  std::unique_ptr<testing::EtcdCluster> etcd_;
  std::unique_ptr<Cluster> cluster_;
  std::string payload_;
  int containers_ = 0;
};

TEST_F(ReplicatedClusterTest, StartsAndCreatesSurviveKillingAnEtcdMemberAndAManager) {
  MakeCluster();
  ASSERT_FALSE(HasFailure());
  // Both managers see both, reachable.
  for (std::size_t m = 0; m < 2; ++m) {
    CommandResult inspect = cluster_->manager(m).Cli({"cluster", "inspect"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_TRUE(Contains(inspect.out, cluster_->manager_addr(0))) << inspect.out;
    EXPECT_TRUE(Contains(inspect.out, cluster_->manager_addr(1))) << inspect.out;
    EXPECT_FALSE(Contains(inspect.out, "\"Reachable\": false")) << inspect.out;
  }
  // The worker joins through manager 0 alone and learns manager 1 from its heartbeats.
  Result<Daemon*> joined = cluster_->AddWorker({cluster_->manager_addr(0)});
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  Daemon& worker = **joined;
  EXPECT_TRUE(WaitUntil(
      [&] { return Contains(worker.Cli({"cluster", "inspect"}).out, cluster_->manager_addr(1)); },
      seconds(15)))
      << "the worker never learnt the second manager: " << worker.Cli({"cluster", "inspect"}).out;
  // A secret made on manager 0 is leased through manager 1 at once (its caches follow etcd).
  CommandResult first = Start(worker);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_TRUE(Contains(first.out, "CONTENT " + payload_)) << first.out;

  // Two loops: container starts on the worker; secret creates on manager 1 (which stays up).
  std::atomic<bool> stop{false};
  std::mutex mu;
  int starts_ok = 0;
  std::vector<std::string> start_failures;
  std::vector<std::string> created;        // the CLI said done
  std::vector<std::string> create_errors;  // the CLI said it failed (outcome may be unknown)
  std::thread starter([&] {
    while (!stop.load()) {
      CommandResult r = Start(worker);
      std::lock_guard lock(mu);
      if (r.exit_code == 0 && Contains(r.out, "CONTENT " + payload_)) {
        ++starts_ok;
      } else {
        start_failures.push_back(r.err);
      }
    }
  });
  std::thread creator([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string name = "ha-" + std::to_string(i);
      CommandResult r = cluster_->manager(1).Cli({"secret", "create", name, "-"}, "value-" + name);
      std::lock_guard lock(mu);
      (r.exit_code == 0 ? created : create_errors).push_back(name + ": " + r.err);
    }
  });
  auto phase = [&](const char* what, seconds how_long) {
    std::this_thread::sleep_for(how_long);
    std::lock_guard lock(mu);
    std::cerr << what << ": " << starts_ok << " starts, " << start_failures.size()
              << " failed; " << created.size() << " creates done\n";
  };
  phase("before the faults", seconds(3));
  ASSERT_TRUE(etcd_->Kill(0).ok());  // the first endpoint: the one every client talks to
  phase("etcd member 0 killed", seconds(4));
  cluster_->manager(0).Kill();  // the manager the worker joined through
  phase("manager 0 killed", seconds(5));
  ASSERT_TRUE(etcd_->Restart(0).ok());
  phase("etcd member 0 back", seconds(3));
  Status back = cluster_->manager(0).Start();
  EXPECT_TRUE(back.ok()) << back.message();
  phase("manager 0 back", seconds(4));
  stop = true;
  starter.join();
  creator.join();

  EXPECT_GE(starts_ok, 10) << "too few starts to show anything";
  EXPECT_TRUE(start_failures.empty()) << start_failures.size() << " starts failed; the first: "
                                      << start_failures.front();
  ASSERT_GE(created.size(), 10u);
  // Every create reported done is there, once, on both managers (manager 0 restarted).
  for (std::size_t m = 0; m < 2; ++m) {
    Result<std::vector<Secret>> secrets = ClientFor(cluster_->manager(m)).ListSecrets();
    ASSERT_TRUE(secrets.ok()) << secrets.status().message();
    std::map<std::string, int> count;
    for (const Secret& s : *secrets) ++count[s.spec.name];
    for (const std::string& line : created) {
      const std::string name = line.substr(0, line.find(':'));
      EXPECT_EQ(count[name], 1) << name << " on manager " << m;
    }
    for (const auto& [name, n] : count) EXPECT_EQ(n, 1) << name << " twice on manager " << m;
  }
  // The restarted manager serves leases again, from its own caches.
  CommandResult after = Start(worker);
  EXPECT_EQ(after.exit_code, 0) << after.err;
}

TEST_F(ReplicatedClusterTest, TheWholeKeyspaceHoldsNoPayloadNoRootKeyNoCaKeyNoUnlockKey) {
  MakeCluster();
  ASSERT_FALSE(HasFailure());
  Result<Daemon*> joined = cluster_->AddWorker({cluster_->manager_addr(0), cluster_->manager_addr(1)});
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  CommandResult started = Start(**joined);
  ASSERT_EQ(started.exit_code, 0) << started.err;
  // The same root key on both managers (the second received it wrapped, over mTLS).
  const std::string root = ReadFile(cluster_->manager(0).state_dir() + "/root.key");
  ASSERT_EQ(root.size(), 32u);
  EXPECT_EQ(ReadFile(cluster_->manager(1).state_dir() + "/root.key"), root);
  const std::string node_key = ReadFile((*joined)->state_dir() + "/cluster/node.key");
  ASSERT_TRUE(Contains(node_key, "PRIVATE KEY")) << node_key;
  // Autolock on: an unlock key exists now, and etcd holds the root key wrapped by it.
  CommandResult lock = cluster_->manager(0).Cli({"cluster", "update", "--autolock=true"});
  ASSERT_EQ(lock.exit_code, 0) << lock.err;
  const std::size_t at = lock.out.find("OCSKEY-1-");
  ASSERT_NE(at, std::string::npos) << lock.out;
  const std::string unlock_key = lock.out.substr(at, 61);

  const std::string all = Keyspace();
  ASSERT_TRUE(Contains(all, "/oci-secrets/payloads/")) << "the scan sees the store";
  ASSERT_TRUE(Contains(all, "/oci-secrets/keyring/root")) << "autolock's record is there";
  EXPECT_FALSE(Contains(all, payload_)) << "a payload in etcd";
  EXPECT_FALSE(Contains(all, root)) << "the root key in etcd";
  EXPECT_FALSE(Contains(all, Hex(root))) << "the root key (hex) in etcd";
  EXPECT_FALSE(Contains(all, Base64Encode(reinterpret_cast<const std::uint8_t*>(root.data()), root.size()))) << "the root key (base64) in etcd";
  EXPECT_FALSE(Contains(all, "PRIVATE KEY")) << "a private key (the CA's?) in etcd";
  EXPECT_FALSE(Contains(all, unlock_key)) << "the unlock key in etcd";
  EXPECT_FALSE(Contains(all, unlock_key.substr(9))) << "the unlock key's value in etcd";
}

}  // namespace
}  // namespace ocisecrets::itest
