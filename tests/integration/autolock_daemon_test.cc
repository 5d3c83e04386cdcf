// Autolock on the real daemon (SQLite and etcd engines): a restarted manager refuses the CLI, the
// hook's lease and cluster inspect with the plan's words until `cluster unlock` gets the
// right key from stdin; then a container starts through the hook without a restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/integration/cluster_harness.h"
#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"
#include "tests/testing/etcd_cluster.h"

namespace ocisecrets {
namespace {

using itest::Bundle;
using itest::CommandResult;
using itest::Daemon;
using itest::Runtime;
using itest::TempDir;

constexpr char kLocked[] = "the manager is locked: run oci-secrets cluster unlock";

// The unlock key in the output of `cluster init --autolock` (the indented line).
std::string UnlockKeyIn(const std::string& out) {
  const std::size_t at = out.find("OCSKEY-1-");
  return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
}

// The whole scenario on `daemon` (not started yet): autolock on, restart, refusals, a
// wrong key, the right key, a container.
void RestartedManagerRefusesUntilUnlocked(Daemon& daemon) {
  const Runtime runc = itest::Runtimes().front();
  ASSERT_EQ(runc.name, "runc");
  const std::string payload = itest::StartManagerWithSecret(runc, daemon, "redis", {"pw", 0, 0, 0400});
  ASSERT_FALSE(::testing::Test::HasFailure());

  const std::string listen = "127.0.0.1:" + std::to_string(itest::FreeLoopbackPort());
  CommandResult init = daemon.Cli({"cluster", "init", "--listen-addr", listen, "--autolock"});
  ASSERT_EQ(init.exit_code, 0) << init.err << init.out;
  const std::string key = UnlockKeyIn(init.out);
  ASSERT_EQ(key.size(), 61u) << init.out;
  EXPECT_NE(init.out.find("Store it safely: it is needed to unlock a restarted manager; "
                          "`oci-secrets cluster unlock-key` shows it again."),
            std::string::npos)
      << init.out;
  EXPECT_NE(access((daemon.state_dir() + "/root.key").c_str(), F_OK), 0)
      << "autolock on: no root.key";
  CommandResult shown = daemon.Cli({"cluster", "unlock-key", "-q"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, key + "\n");

  ASSERT_EQ(daemon.Stop(), 0) << daemon.Log();
  ASSERT_TRUE(daemon.Start().ok()) << daemon.Log();
  EXPECT_NE(daemon.Log().find("locked: waiting for oci-secrets cluster unlock"), std::string::npos)
      << daemon.Log();

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"secret", "ls"}, {"cluster", "inspect"}, {"cluster", "unlock-key"}}) {
    CommandResult r = daemon.Cli(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << " " << args[1];
    EXPECT_EQ(r.err, std::string("Error: ") + kLocked + "\n") << args[0] << " " << args[1];
  }
  TempDir dir;
  Bundle bundle(dir, itest::WriteHookConfig(dir, daemon.host()));
  bundle.SetScript("cat /run/secrets/pw");
  bundle.SetAnnotation("org.oci-secrets.service", "redis");
  bundle.InstallHook();
  CommandResult refused = bundle.Run(runc, "ocs-autolock-" + std::to_string(getpid()));
  EXPECT_EQ(refused.exit_code, runc.hook_failed_exit) << refused.out << refused.err;
  EXPECT_NE(itest::ReadFile(dir.File("hook.log")).find(kLocked), std::string::npos)
      << itest::ReadFile(dir.File("hook.log")) << refused.err;

  const std::string wrong = "OCSKEY-1-" + std::string(50, '1') + "00";
  CommandResult bad = daemon.Cli({"cluster", "unlock"}, wrong + "\n");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("Error: invalid unlock key"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find(wrong.substr(9)), std::string::npos) << "the key echoed: " << bad.err;
  CommandResult none = daemon.Cli({"cluster", "unlock"}, "");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no unlock key on stdin"), std::string::npos) << none.err;
  EXPECT_EQ(daemon.Cli({"secret", "ls"}).exit_code, 1) << "still locked";

  CommandResult unlocked = daemon.Cli({"cluster", "unlock"}, key + "\n");
  ASSERT_EQ(unlocked.exit_code, 0) << unlocked.err;
  CommandResult started = bundle.Run(runc, "ocs-autolock2-" + std::to_string(getpid()));
  EXPECT_EQ(started.exit_code, 0) << started.err << itest::ReadFile(dir.File("hook.log"));
  EXPECT_EQ(started.out, payload);
  CommandResult inspect = daemon.Cli({"cluster", "inspect"});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("\"Autolock\": true"), std::string::npos) << inspect.out;
  const std::string log = daemon.Log();
  const std::string serving = "serving mutual TLS on " + listen;
  EXPECT_NE(log.find(serving, log.find(serving) + 1), std::string::npos)
      << "the TLS listener starts again at the unlock: " << log;
  EXPECT_EQ(daemon.Log().find(key.substr(9)), std::string::npos) << "the key reached the log";
  EXPECT_EQ(itest::ReadFile(daemon.state_dir() + "/audit.log").find(key.substr(9)),
            std::string::npos)
      << "the key reached the audit log";
}

TEST(AutolockIntegrationTest, RestartedManagerOnSqliteRefusesUntilUnlockedThenLeases) {
  Daemon daemon;
  RestartedManagerRefusesUntilUnlocked(daemon);
}

TEST(AutolockIntegrationTest, RestartedManagerOnEtcdRefusesUntilUnlockedThenLeases) {
  auto etcd = testing::EtcdCluster::Start({.members = 1});
  ASSERT_TRUE(etcd.ok()) << etcd.status().message();
  Daemon daemon(Daemon::Options{
      {"--store", "etcd", "--etcd-endpoints", (*etcd)->EndpointsFlag()}, {}});
  RestartedManagerRefusesUntilUnlocked(daemon);
}


// Two managers on one etcd: autolock turned on at the first removes the second's root.key
// too (it follows keyring/root); restarted, the second is locked and opens with the key
// the first printed; turned off again, both get root.key back.
TEST(AutolockIntegrationTest, AutolockOnOneManagerLocksTheOtherAfterItsRestart) {
  auto etcd = testing::EtcdCluster::Start({.members = 1});
  ASSERT_TRUE(etcd.ok()) << etcd.status().message();
  itest::Cluster cluster(itest::Cluster::Options{
      {}, {"--store", "etcd", "--etcd-endpoints", (*etcd)->EndpointsFlag()}});
  Status init = cluster.Init();
  ASSERT_TRUE(init.ok()) << init.message();
  Result<Daemon*> joined = cluster.AddManager();
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  Daemon& second = **joined;
  const std::string second_root = second.state_dir() + "/root.key";
  ASSERT_EQ(access(second_root.c_str(), F_OK), 0) << "the joined manager keeps root.key";
  ASSERT_EQ(second.Cli({"secret", "create", "pw", "-"}, "made-on-the-second").exit_code, 0);

  CommandResult on = cluster.manager(0).Cli({"cluster", "update", "--autolock=true"});
  ASSERT_EQ(on.exit_code, 0) << on.err;
  const std::string key = UnlockKeyIn(on.out);
  ASSERT_EQ(key.size(), 61u) << on.out;
  bool removed = false;
  for (int i = 0; i < 50 && !removed; ++i) {
    removed = access(second_root.c_str(), F_OK) != 0;
    if (!removed) usleep(100 * 1000);
  }
  EXPECT_TRUE(removed) << "the second manager kept root.key under autolock: " << second.Log();

  ASSERT_EQ(second.Stop(), 0) << second.Log();
  ASSERT_TRUE(second.Start().ok()) << second.Log();
  CommandResult refused = second.Cli({"secret", "ls"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, std::string("Error: ") + kLocked + "\n");
  CommandResult unlocked = second.Cli({"cluster", "unlock"}, key + "\n");
  ASSERT_EQ(unlocked.exit_code, 0) << unlocked.err << second.Log();
  CommandResult listed = second.Cli({"secret", "ls"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("pw"), std::string::npos) << listed.out;

  CommandResult off = second.Cli({"cluster", "update", "--autolock=false"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  const std::string first_root = cluster.manager(0).state_dir() + "/root.key";
  bool back = false;
  for (int i = 0; i < 50 && !back; ++i) {
    back = access(first_root.c_str(), F_OK) == 0 && access(second_root.c_str(), F_OK) == 0;
    if (!back) usleep(100 * 1000);
  }
  EXPECT_TRUE(back) << "root.key not written back on both managers";
  EXPECT_EQ(itest::ReadFile(first_root), itest::ReadFile(second_root));
}

}  // namespace
}  // namespace ocisecrets
