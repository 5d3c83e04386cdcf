// `cluster rotate-key` on etcd with two managers (a 3-member etcd on loopback): leases on
// both managers throughout, the manager that owns the pass killed (-9) midway, the other
// one taking it over once its lease (15 s) has passed and finishing from the cursor, the
// old term then gone from etcd, every secret opening on both managers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "manager/rotation/key_rotation.h"
#include "tests/integration/cluster_harness.h"
#include "tests/integration/harness.h"
#include "tests/integration/rotation_fixture.h"
#include "tests/testing/etcd_cluster.h"

namespace ocisecrets::itest {
namespace {

using nlohmann::json;

constexpr int kSecrets = 1200;
// 1,200 records (and the cluster's 3) at 100 per second: a pass of about 12 s.
constexpr char kRate[] = "100";
constexpr char kPrefix[] = "/oci-secrets/";

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The keyring/rotation record as etcd holds it (read through etcdctl, not a manager).
json RotationRecord(const testing::EtcdCluster& etcd) {
  auto out = etcd.Etcdctl({"get", std::string(kPrefix) + std::string(kRotationKey),
                           "--print-value-only"});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  json j = json::parse(out.ok() ? *out : "", nullptr, false);
  EXPECT_TRUE(j.is_object()) << (out.ok() ? *out : "");
  return j.is_object() ? j : json::object();
}

// The keys under keyring/terms/ in etcd.
std::vector<std::string> TermKeys(const testing::EtcdCluster& etcd) {
  auto out = etcd.Etcdctl({"get", "--prefix", std::string(kPrefix) + "keyring/terms/", "--keys-only"});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  std::vector<std::string> keys;
  std::size_t at = 0;
  while (out.ok() && at < out->size()) {
    std::size_t end = out->find('\n', at);
    if (end == std::string::npos) end = out->size();
    if (end > at) keys.push_back(out->substr(at, end - at));
    at = end + 1;
  }
  return keys;
}

TEST(KeyRotationEtcdIntegrationTest, TheOtherManagerTakesOverFromAKilledOwnerAndRetiresTheOldTerm) {
  auto etcd = testing::EtcdCluster::Start({});
  ASSERT_TRUE(etcd.ok()) << etcd.status().message();
  const Daemon::Options on_etcd{
      {"--store", "etcd", "--etcd-endpoints", (*etcd)->EndpointsFlag(), "--reencrypt-rate", kRate},
      {}};
  Daemon a(on_etcd);
  Daemon b(on_etcd);
  ASSERT_TRUE(a.Start().ok()) << a.Log();
  const std::string addr_a = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
  CommandResult init = a.Cli({"cluster", "init", "--listen-addr", addr_a});
  ASSERT_EQ(init.exit_code, 0) << init.err << a.Log();
  CommandResult token = a.Cli({"cluster", "join-token", "manager", "-q"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  ASSERT_TRUE(b.Start().ok()) << b.Log();
  const std::string addr_b = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
  CommandResult join =
      b.Cli({"cluster", "join", "--token", Trimmed(token.out), "--listen-addr", addr_b, addr_a});
  ASSERT_EQ(join.exit_code, 0) << join.err << b.Log();

  Status seeded = SeedSecrets(a, kSecrets);
  ASSERT_TRUE(seeded.ok()) << seeded.ToString();
  Status before = LeaseEveryService(b, kSecrets);
  ASSERT_TRUE(before.ok()) << "B before the rotation: " << before.ToString();

  auto leases_a = std::make_unique<LeaseLoop>(a, kSecrets, "a");
  auto leases_b = std::make_unique<LeaseLoop>(b, kSecrets, "b");
  CommandResult rotated = a.Cli({"cluster", "rotate-key"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err << a.Log();
  EXPECT_NE(rotated.out.find("Key term 2 is now current"), std::string::npos) << rotated.out;

  KeyStatus midway = WaitForKeys(a, [](const KeyStatus& k) {
    return k.rotation && k.rotation->done >= k.rotation->total / 5;
  });
  ASSERT_TRUE(midway.rotation.has_value());
  const std::string owner = RotationRecord(**etcd).value("Owner", "");
  const std::string id_a = Trimmed(ReadFile(a.state_dir() + "/node.id"));
  const std::string id_b = Trimmed(ReadFile(b.state_dir() + "/node.id"));
  ASSERT_TRUE(owner == id_a || owner == id_b) << owner << " is neither " << id_a << " nor " << id_b;
  const bool a_owns = owner == id_a;
  Daemon& killed = a_owns ? a : b;
  Daemon& survivor = a_owns ? b : a;
  std::unique_ptr<LeaseLoop>& killed_leases = a_owns ? leases_a : leases_b;
  std::unique_ptr<LeaseLoop>& survivor_leases = a_owns ? leases_b : leases_a;
  killed_leases->Stop();
  killed.Kill();
  const json at_kill = RotationRecord(**etcd);
  const std::int64_t done_at_kill = at_kill.value("Done", std::int64_t{-1});
  const std::int64_t total = at_kill.value("Total", std::int64_t{0});
  EXPECT_EQ(total, kSecrets + 3) << "the payloads, the CA key and two join tokens";
  EXPECT_GE(done_at_kill, total / 5);
  EXPECT_LE(done_at_kill, total * 4 / 5) << "the pass must be caught midway";
  EXPECT_EQ(midway.key_terms, (std::vector<std::uint32_t>{1, 2}));

  // The survivor goes on from the cursor: Done never goes back.
  std::int64_t lowest = done_at_kill;
  KeyStatus finished = WaitForKeys(survivor, [&lowest](const KeyStatus& k) {
    if (k.rotation) lowest = std::min(lowest, k.rotation->done);
    return k.rotation && k.rotation->state == "done";
  });
  EXPECT_EQ(lowest, done_at_kill) << "the pass went back";
  survivor_leases->Stop();
  EXPECT_GT(killed_leases->ok(), 0);
  EXPECT_EQ(killed_leases->failed(), 0) << killed_leases->first_error();
  EXPECT_GT(survivor_leases->ok(), 0);
  EXPECT_EQ(survivor_leases->failed(), 0) << survivor_leases->first_error();

  const json done = RotationRecord(**etcd);
  EXPECT_EQ(done.value("Owner", ""), a_owns ? id_b : id_a) << "the survivor finished it";
  EXPECT_EQ(done.value("Done", std::int64_t{0}), total);
  EXPECT_NE(survivor.Log().find("took over the pass to term 2 from " + owner), std::string::npos)
      << survivor.Log();
  EXPECT_EQ(TermKeys(**etcd), std::vector<std::string>{std::string(kPrefix) + "keyring/terms/0000000002"});
  EXPECT_EQ(finished.key_terms, std::vector<std::uint32_t>{2});
  EXPECT_EQ(finished.current_term, 2u);

  Status on_survivor = LeaseEveryService(survivor, kSecrets);
  EXPECT_TRUE(on_survivor.ok()) << "survivor: " << on_survivor.ToString();
  ASSERT_TRUE(killed.Start().ok()) << killed.Log();
  Status on_restarted = LeaseEveryService(killed, kSecrets);
  EXPECT_TRUE(on_restarted.ok()) << "restarted: " << on_restarted.ToString() << killed.Log();
  auto restarted_keys = KeysOf(killed);
  ASSERT_TRUE(restarted_keys.ok()) << restarted_keys.status().ToString();
  EXPECT_EQ(restarted_keys->key_terms, std::vector<std::uint32_t>{2});
}

}  // namespace
}  // namespace ocisecrets::itest
