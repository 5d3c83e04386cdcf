// `oci-secretsd migrate` end to end: a manager on the embedded store with 10,000 secrets
// and some services, stopped, moved to a 3-member etcd on loopback (one run SIGKILLed
// halfway, then re-run), a manager started on the copy serves the same secrets, and the
// copy moves back to a new state dir.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/seed.h"
#include "tests/bench/unix_http.h"
#include "tests/integration/harness.h"
#include "tests/testing/etcd_cluster.h"

namespace ocisecrets {
namespace {

using itest::BinPath;
using itest::CommandResult;
using itest::Daemon;
using itest::ReadFile;

constexpr int kSecrets = 10000;
constexpr int kSeedThreads = 8;

// Creates secrets seed-0 .. seed-(kSecrets-1) from kSeedThreads connections.
void SeedSecrets(const std::string& socket) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kSeedThreads; ++t) {
    threads.emplace_back([&, t] {
      auto conn = bench::UnixHttpConnection::Connect(socket);
      if (!conn.ok()) {
        ++failures;
        return;
      }
      for (int i = t; i < kSecrets; i += kSeedThreads) {
        if (!bench::CreateSecret(**conn, "seed-" + std::to_string(i), 64).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
}

// A lease's answer without what differs per call (ExpiresAt, the container).
std::string LeaseFiles(const std::string& socket, const std::string& container) {
  auto conn = bench::UnixHttpConnection::Connect(socket);
  EXPECT_TRUE(conn.ok());
  if (!conn.ok()) return "";
  nlohmann::json body = {{"ContainerID", container}, {"Service", "svc-1"}};
  auto reply = (*conn)->Request("POST", "/v1/leases", body.dump());
  EXPECT_TRUE(reply.ok() && reply->status == 200) << (reply.ok() ? reply->body : "");
  if (!reply.ok()) return "";
  return nlohmann::json::parse(reply->body, nullptr, false)["Files"].dump();
}

std::string VersionIndex(const Daemon& d, const std::string& name) {
  CommandResult r = d.Cli({"secret", "inspect", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_array() && !j.empty()) j = j[0];
  return j.is_object() ? j["Version"]["Index"].dump() : "";
}

std::size_t SecretCount(const Daemon& d) {
  CommandResult r = d.Cli({"secret", "ls", "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::size_t lines = 0;
  for (char c : r.out) lines += c == '\n';
  return lines;
}

// Runs `oci-secretsd migrate ARGS` and SIGKILLs it once a progress line shows at least
// half of the records copied. Returns the stderr it read; killed says whether it had to.
std::string MigrateUntilHalf(const std::vector<std::string>& args, bool* killed) {
  int err_pipe[2];
  EXPECT_EQ(::pipe2(err_pipe, O_CLOEXEC), 0);
  std::vector<std::string> argv = {BinPath("oci-secretsd"), "migrate"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err_pipe[1], 2);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  std::string seen, line;
  const std::regex progress(R"((\d+)/(\d+) records copied)");
  *killed = false;
  char c;
  while (::read(err_pipe[0], &c, 1) == 1) {
    seen += c;
    if (c != '\n') {
      line += c;
      continue;
    }
    std::smatch m;
    if (std::regex_search(line, m, progress) && std::stoul(m[1]) > 0 &&
        std::stoul(m[1]) * 2 >= std::stoul(m[2])) {
      ::kill(pid, SIGKILL);
      *killed = true;
      break;
    }
    line.clear();
  }
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return seen;
}

TEST(MigrateTest, MovesATenThousandSecretManagerToEtcdAfterAnInterruptedRunAndBack) {
  Daemon source;
  ASSERT_TRUE(source.Start().ok()) << source.Log();
  ASSERT_NO_FATAL_FAILURE(SeedSecrets(source.socket_path()));
  {
    auto conn = bench::UnixHttpConnection::Connect(source.socket_path());
    ASSERT_TRUE(conn.ok());
    for (int s = 0; s < 3; ++s) {
      std::vector<std::string> uses;
      for (int i = s; i < 40; i += 3) uses.push_back("seed-" + std::to_string(i));
      ASSERT_TRUE(bench::CreateService(**conn, "svc-" + std::to_string(s), uses).ok());
    }
  }
  const std::string lease_before = LeaseFiles(source.socket_path(), "c-before");
  ASSERT_NE(lease_before, "null");
  const std::string index_before = VersionIndex(source, "seed-4321");
  const std::string service_before = source.Cli({"service", "inspect", "svc-2"}).out;
  ASSERT_EQ(source.Stop(), 0) << source.Log();
  const std::string db_before = ReadFile(source.state_dir() + "/store.db");
  ASSERT_FALSE(db_before.empty());

  auto etcd = testing::EtcdCluster::Start({});
  ASSERT_TRUE(etcd.ok()) << etcd.status().message();
  const std::vector<std::string> args = {"--from", "sqlite:" + source.state_dir(), "--to",
                                         "etcd:" + (*etcd)->EndpointsFlag()};

  bool killed = false;
  std::string first = MigrateUntilHalf(args, &killed);
  ASSERT_TRUE(killed) << "the first run ended before half: " << first;

  CommandResult again = itest::RunCommand(
      [&] {
        std::vector<std::string> argv = {BinPath("oci-secretsd"), "migrate"};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
      }(),
      {}, {}, std::chrono::minutes(5));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("every payload verified"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find(" 0 already copied by an earlier run"), std::string::npos)
      << "the re-run resumed: " << again.out;
  EXPECT_NE(again.out.find("copy " + source.state_dir() + "/root.key"), std::string::npos)
      << "says where the root key must go: " << again.out;
  EXPECT_TRUE(ReadFile(source.state_dir() + "/store.db") == db_before)
      << "the source is unchanged byte for byte";

  Daemon dest(Daemon::Options{{"--store", "etcd", "--etcd-endpoints", (*etcd)->EndpointsFlag()}, {}});
  ASSERT_EQ(::mkdir(dest.state_dir().c_str(), 0700), 0);
  const std::string key = ReadFile(source.state_dir() + "/root.key");
  dest.dir().WriteFile("state/root.key", key, 0600);
  ASSERT_TRUE(dest.Start().ok()) << dest.Log();
  EXPECT_EQ(SecretCount(dest), static_cast<std::size_t>(kSecrets));
  EXPECT_EQ(VersionIndex(dest, "seed-4321"), index_before);
  EXPECT_EQ(dest.Cli({"service", "inspect", "svc-2"}).out, service_before);
  EXPECT_EQ(LeaseFiles(dest.socket_path(), "c-after"), lease_before);
  ASSERT_EQ(dest.Stop(), 0) << dest.Log();

  // And back: etcd to a new state dir, with the root key named.
  const std::string back = dest.dir().File("back");
  CommandResult home = itest::RunCommand(
      {BinPath("oci-secretsd"), "migrate", "--from", "etcd:" + (*etcd)->EndpointsFlag(),
       "--root-key", source.state_dir() + "/root.key", "--to", "sqlite:" + back},
      {}, {}, std::chrono::minutes(5));
  ASSERT_EQ(home.exit_code, 0) << home.err;
  EXPECT_NE(home.out.find("10000 secrets, 3 services"), std::string::npos) << home.out;
  EXPECT_TRUE(ReadFile(back + "/root.key") == key) << "the root key is in place";
}

TEST(MigrateTest, HelpTeachesBothDirectionsAndUsageErrorsExit2) {
  CommandResult help = itest::RunCommand({BinPath("oci-secretsd"), "migrate", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* words : {"--from sqlite:/var/lib/oci-secrets --to etcd:https://",
                            "--from etcd:https://", "--to sqlite:", "--root-key",
                            "turn autolock off first", "re-run", "Stop every manager"}) {
    EXPECT_NE(help.out.find(words), std::string::npos) << words << " in " << help.out;
  }
  CommandResult bad = itest::RunCommand(
      {BinPath("oci-secretsd"), "migrate", "--from", "/var/lib/oci-secrets", "--to", "etcd:x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("want sqlite:STATE_DIR or etcd:URL[,URL...]"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ocisecrets
