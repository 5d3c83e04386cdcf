// Live secrets against containers that keep running (issue 14's "Must show"): rotate under
// a reader that never sees a partial file, the seed's demo live (service update
// --secret-rm/--secret-add), --overlap, revoke on two nodes, secret ps, --update-signal,
// a recycled pid, and one Podman container. Every case ends with the host's mount table
// as it was and no payload marker in the test's state dirs, logs or bundles. Needs root,
// runc, crun and podman.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "shared/models.h"
#include "tests/integration/cluster_harness.h"
#include "tests/integration/engine_fixture.h"
#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"
#include "tests/integration/running_container.h"

namespace ocisecrets::itest {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kForever[] = "while :; do sleep 1; done";
constexpr int kFiller = 4000;  // the 'x's of every value: a short read is visible

std::string RandomHex() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex << rd() << rd();
  return s.str();
}

// The rows of `secret ps --format json` (one object a line, or one array).
std::vector<nlohmann::json> JsonRows(const std::string& out) {
  std::vector<nlohmann::json> rows;
  nlohmann::json whole = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (whole.is_array()) return {whole.begin(), whole.end()};
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(row.is_discarded()) << "not JSON: " << line;
    rows.push_back(row);
  }
  return rows;
}

std::vector<std::string> ContainerIds(const std::vector<nlohmann::json>& rows) {
  std::vector<std::string> ids;
  for (const auto& row : rows) ids.push_back(row.value("ContainerID", ""));
  std::sort(ids.begin(), ids.end());
  return ids;
}

class LiveUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(CanRun(Runc()));
    marker_ = "OCS-MARKER-live-" + RandomHex();
    mounts_before_ = OurMounts({});
  }

  // Stops every container (its poststop runs), then checks what every case must leave:
  // the host's mount table as it was, and no payload in the files the test made.
  void TearDown() override {
    for (auto& stop : stops_) stop();
    std::vector<std::string> roots = scan_roots_;
    for (auto& c : containers_) {
      c->Stop();
      roots.push_back(c->dir().path());
    }
    if (daemon_) roots.push_back(daemon_->dir().path());
    EXPECT_EQ(OurMounts(roots), mounts_before_) << "the host's mount table changed";
    // The marker, and its base64 as it starts a base64 of a whole value.
    const std::string b64_start = marker_.substr(0, marker_.size() / 3 * 3);
    for (const std::string& needle :
         {marker_, Base64Encode(reinterpret_cast<const std::uint8_t*>(b64_start.data()),
                                b64_start.size())}) {
      for (const std::string& hit : FilesHolding(needle, roots)) {
        ADD_FAILURE() << hit << " holds a payload of this test";
      }
    }
    containers_.clear();
  }

  // Value number `version` of a secret: fixed length, an end marker and a newline, so
  // that the container's readers can tell a whole value from anything else.
  std::string Value(int version) const {
    char tag[8];
    std::snprintf(tag, sizeof(tag), "-v%02d-", version);
    return marker_ + tag + std::string(kFiller, 'x') + "-END\n";
  }
  std::size_t ValueLength() const { return Value(0).size() - 1; }  // awk's length($0)
  // Whether `content` is Value(version); the failure says what it is instead, never the
  // bytes (a test's log must not hold a payload either).
  ::testing::AssertionResult IsValue(const std::optional<std::string>& content, int version) const {
    if (content == Value(version)) return ::testing::AssertionSuccess();
    if (!content) return ::testing::AssertionFailure() << "missing, want v" << version;
    for (int v = 0; v < 100; ++v) {
      if (*content == Value(v)) {
        return ::testing::AssertionFailure() << "holds v" << v << ", want v" << version;
      }
    }
    return ::testing::AssertionFailure()
           << "holds " << content->size() << " bytes that are no value, want v" << version;
  }

  // The single machine: one daemon (manager and node role).
  Daemon& StartDaemon() {
    daemon_ = std::make_unique<Daemon>();
    Status started = daemon_->Start();
    EXPECT_TRUE(started.ok()) << started.message();
    return *daemon_;
  }

  // The single machine with secret `secret` (Value(0)) granted by service `service`
  // (`extra` appended to `service create`). False after failing the test.
  bool Arrange(const std::string& secret, const std::string& service,
               const std::vector<std::string>& extra = {}) {
    Daemon& daemon = StartDaemon();
    if (!HasFailure()) CreateSecretAndService(daemon, secret, service, extra);
    return !HasFailure();
  }

  // Runs the CLI on `node`; a failure fails the test with the CLI's words.
  static CommandResult Cli(const Daemon& node, const std::vector<std::string>& args,
                           const std::string& stdin_data = {}) {
    CommandResult r = node.Cli(args, stdin_data);
    if (r.exit_code != 0) {
      std::string command = "oci-secrets";
      for (const auto& a : args) command += " " + a;
      ADD_FAILURE() << command << " exited " << r.exit_code << ": " << r.err << r.out;
    }
    return r;
  }
  // Secret `secret` holding Value(0) and service `service` granting it, with `extra`
  // appended to `service create`.
  void CreateSecretAndService(const Daemon& node, const std::string& secret,
                              const std::string& service,
                              const std::vector<std::string>& extra = {}) {
    Cli(node, {"secret", "create", secret, "-"}, Value(0));
    std::vector<std::string> args = {"service", "create", "--name", service, "--secret", secret};
    args.insert(args.end(), extra.begin(), extra.end());
    Cli(node, args);
  }
  void Rotate(const Daemon& node, const std::string& secret, int version,
              const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"secret", "rotate", secret, "-"};
    args.insert(args.end(), extra.begin(), extra.end());
    Cli(node, args, Value(version));
  }

  // A container of `service` on `node`, kept for TearDown's checks: ok() when it runs.
  RunningContainer& Launch(const Daemon& node, const std::string& service,
                           const std::string& script = kForever) {
    containers_.push_back(std::make_unique<RunningContainer>(node, service, NextId(), script));
    return *containers_.back();
  }
  // The same; fails the test when it does not start.
  RunningContainer& Start(const Daemon& node, const std::string& service,
                          const std::string& script = kForever) {
    RunningContainer& c = Launch(node, service, script);
    EXPECT_TRUE(c.ok()) << c.error();
    return c;
  }
  std::string NextId() {
    return "ocs-live-" + std::to_string(getpid()) + "-" + std::to_string(++containers_made_);
  }

  std::string marker_;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::unique_ptr<RunningContainer>> containers_;
  std::vector<std::string> scan_roots_;       // more dirs to scan (a cluster's daemons)
  std::vector<std::function<void()>> stops_;  // run first by TearDown (a podman rm)
  // Members, so that they outlive TearDown's checks.
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<EngineWorld> world_;

 private:
  std::vector<std::string> mounts_before_;
  int containers_made_ = 0;
};

// The reader: 100 opens of /run/secrets/db a round through one cat, awk counting the
// lines that are a whole value (the right length, the shape of Value()); it prints counts
// only, never a value. "missing" counts cat's errors (no file); "partial" every other
// read that was not whole (empty, short, mixed). fd 3 opened before the first rotate
// must still read v00. It keeps reading until 10,000 reads are done and v20 was seen.
std::string ReaderScript(std::size_t length) {
  const std::string len = std::to_string(length);
  return "F=''; i=0; while [ $i -lt 100 ]; do F=\"$F /run/secrets/db\"; i=$((i+1)); done\n"
         "exec 3< /run/secrets/db\n"
         "n=0; whole=0; missing=0; final=0\n"
         "echo started\n"
         "while [ $n -lt 10000 ] || [ $final = 0 ]; do\n"
         "  set -- $(cat $F 2>/dev/shm/err | awk -v L=" +
         len +
         " 'length($0) == L && /^[A-Z]+-[A-Z]+-live-[0-9a-f]+-v[0-9][0-9]-x+-END$/ "
         "{ g++; f = ($0 ~ /-v20-x/) } END { print g + 0, f + 0 }')\n"
         "  whole=$((whole + $1)); final=$2\n"
         "  missing=$((missing + $(grep -c . /dev/shm/err)))\n"
         "  n=$((n + 100))\n"
         "done\n"
         "old=$(awk -v L=" +
         len +
         " 'length($0) == L && /-v00-x+-END$/ { g++ } END { print g + 0 }' <&3)\n"
         "echo \"reads $n whole $whole missing $missing partial $((n - whole - missing)) "
         "fd3_old $old\"\n"
         "while :; do sleep 1; done\n";
}

TEST_F(LiveUpdateTest, ReadersSeeOnlyWholeValuesWhileTheSecretRotates20Times) {
  ASSERT_TRUE(Arrange("db", "app"));
  Daemon& daemon = *daemon_;
  RunningContainer& reader = Start(daemon, "app", ReaderScript(ValueLength()));
  RunningContainer& second = Start(daemon, "app");
  RunningContainer& third = Start(daemon, "app");
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(reader.WaitForOutput("started\n")) << reader.Output();

  for (int v = 1; v <= 20; ++v) {
    Rotate(daemon, "db", v);
    // Each rotate lands before the next, so that 20 swaps happen under the reader.
    ASSERT_TRUE(reader.WaitForContent("db", Value(v))) << "v" << v << " never arrived\n"
                                                       << daemon.Log();
  }
  for (RunningContainer* c : {&reader, &second, &third}) {
    EXPECT_TRUE(c->WaitForContent("db", Value(20))) << c->id() << " does not show the last value";
  }
  ASSERT_TRUE(reader.WaitForOutput("fd3_old", seconds(60))) << reader.Output();
  const std::string line = reader.Output().substr(reader.Output().find("reads "));
  RecordProperty("reader", line.substr(0, line.find('\n')));  // counts only
  std::istringstream counts(line);
  std::string w;
  long reads = 0, whole = 0, missing = 0, partial = 0, fd3_old = 0;
  counts >> w >> reads >> w >> whole >> w >> missing >> w >> partial >> w >> fd3_old;
  EXPECT_GE(reads, 10000);
  EXPECT_EQ(whole, reads) << reader.Output();
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(partial, 0);
  EXPECT_EQ(fd3_old, 1) << "a descriptor opened before the rotates no longer reads v00";
}

TEST_F(LiveUpdateTest, ServiceUpdateTakesAFileAwayAndAddsOneWithItsOwnerAndMode) {
  ASSERT_TRUE(Arrange("redis_password", "redis"));
  Daemon& daemon = *daemon_;
  RunningContainer& c = Start(daemon, "redis");
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(IsValue(c.Read("redis_password"), 0));

  Cli(daemon, {"service", "update", "--secret-rm", "redis_password", "redis"});
  EXPECT_TRUE(c.WaitForContent("redis_password", std::nullopt)) << daemon.Log();
  CommandResult ls = c.Exec({"ls", "/run/secrets"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.out.find("redis_password"), std::string::npos) << ls.out;

  Cli(daemon, {"secret", "create", "tls_cert", "-"}, Value(1));
  Cli(daemon, {"service", "update", "--secret-add",
               "source=tls_cert,target=x.pem,uid=999,gid=999,mode=0400", "redis"});
  ASSERT_TRUE(c.WaitForContent("x.pem", Value(1))) << daemon.Log();
  std::optional<RunningContainer::FileStat> st = c.Stat("x.pem");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->mode, 0400u);
  EXPECT_EQ(st->uid, 999u);
  EXPECT_EQ(st->gid, 999u);
  EXPECT_EQ(c.List(), std::vector<std::string>{"x.pem"});
}

TEST_F(LiveUpdateTest, OverlapShowsThePreviousValueThenTakesItAway) {
  ASSERT_TRUE(Arrange("db", "app"));
  Daemon& daemon = *daemon_;
  RunningContainer& c = Start(daemon, "app");
  ASSERT_FALSE(HasFailure());

  Rotate(daemon, "db", 1, {"--overlap", "3s"});
  ASSERT_TRUE(c.WaitForContent("db", Value(1))) << daemon.Log();
  EXPECT_TRUE(IsValue(c.Read("db.previous"), 0));
  EXPECT_TRUE(c.WaitForContent("db.previous", std::nullopt, seconds(10)))
      << "db.previous still there 10 s after a 3 s overlap\n"
      << daemon.Log();
  EXPECT_TRUE(IsValue(c.Read("db"), 1));
}

TEST_F(LiveUpdateTest, RevokePullsTheSecretOnTwoNodesAndRefusesStartsUntilRotated) {
  cluster_ = std::make_unique<Cluster>();
  Status init = cluster_->Init();
  ASSERT_TRUE(init.ok()) << init.message();
  Result<Daemon*> joined = cluster_->AddWorker();
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  Daemon& manager = cluster_->manager();
  Daemon& worker = **joined;
  scan_roots_ = {manager.dir().path(), worker.dir().path()};
  CreateSecretAndService(manager, "db", "app");
  RunningContainer& on_manager = Start(manager, "app");
  RunningContainer& on_worker = Start(worker, "app");
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(IsValue(on_worker.Read("db"), 0));

  Cli(manager, {"secret", "revoke", "db"});
  for (RunningContainer* c : {&on_manager, &on_worker}) {
    EXPECT_TRUE(c->WaitForContent("db", std::nullopt, seconds(2)))
        << c->id() << " still holds db after `secret revoke` returned\nmanager:\n"
        << manager.Log() << "\nworker:\n"
        << worker.Log();
  }
  RunningContainer& refused = Launch(worker, "app");
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.error(), "secret db is revoked: rotate it to restore"))
      << refused.error();

  Rotate(manager, "db", 1);
  RunningContainer& restarted = Start(worker, "app");
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(IsValue(restarted.Read("db"), 1));
  for (RunningContainer* c : {&on_manager, &on_worker}) {
    EXPECT_TRUE(c->WaitForContent("db", Value(1))) << c->id() << " did not get db back";
  }
}

TEST_F(LiveUpdateTest, SecretPsListsExactlyTheRunningContainers) {
  ASSERT_TRUE(Arrange("db", "app"));
  Daemon& daemon = *daemon_;
  RunningContainer& a = Start(daemon, "app");
  RunningContainer& b = Start(daemon, "app");
  ASSERT_FALSE(HasFailure());

  CommandResult table = Cli(daemon, {"secret", "ps", "db"});
  for (const char* column : {"NODE", "CONTAINER", "SERVICE", "VERSION", "SINCE"}) {
    EXPECT_TRUE(Contains(table.out, column)) << table.out;
  }
  EXPECT_TRUE(Contains(table.out, a.id()) && Contains(table.out, b.id())) << table.out;
  std::vector<nlohmann::json> rows =
      JsonRows(Cli(daemon, {"secret", "ps", "db", "--format", "json"}).out);
  std::vector<std::string> both = {a.id(), b.id()};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(ContainerIds(rows), both);
  for (const auto& row : rows) EXPECT_EQ(row.value("Version", 0), 1) << row.dump();

  b.Stop();
  rows = JsonRows(Cli(daemon, {"secret", "ps", "db", "--format", "json"}).out);
  EXPECT_EQ(ContainerIds(rows), std::vector<std::string>{a.id()});

  Rotate(daemon, "db", 1);
  ASSERT_TRUE(a.WaitForContent("db", Value(1)));
  EXPECT_TRUE(WaitFor([&] {
    std::vector<nlohmann::json> now =
        JsonRows(daemon.Cli({"secret", "ps", "db", "--format", "json"}).out);
    return now.size() == 1 && now[0].value("Version", 0) == 2;
  })) << "secret ps does not show version 2 held by "
      << a.id();
}

TEST_F(LiveUpdateTest, UpdateSignalReachesTheInitOncePerAppliedChange) {
  ASSERT_TRUE(Arrange("db", "app", {"--update-signal", "SIGHUP"}));
  Daemon& daemon = *daemon_;
  Cli(daemon, {"secret", "create", "extra", "-"}, Value(9));
  RunningContainer& c = Start(
      daemon, "app", "trap 'n=$((n+1)); echo hup $n' HUP; echo ready; while :; do sleep 0.1; done");
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(c.WaitForOutput("ready\n")) << c.Output();

  Rotate(daemon, "db", 1);
  EXPECT_TRUE(c.WaitForOutput("hup 1\n")) << c.Output() << daemon.Log();
  Rotate(daemon, "db", 2);
  EXPECT_TRUE(c.WaitForOutput("hup 2\n")) << c.Output();
  Cli(daemon, {"service", "update", "--secret-add", "extra", "app"});
  EXPECT_TRUE(c.WaitForContent("extra", Value(9)));
  EXPECT_TRUE(c.WaitForOutput("hup 3\n")) << c.Output();
  // No second signal for any of them.
  EXPECT_FALSE(c.WaitForOutput("hup 4\n", seconds(1))) << c.Output();
}

// Sets the "pid" (any case) of every object in `j` that names `container` to `pid`;
// returns how many it changed.
int SetPidOf(nlohmann::json& j, const std::string& container, pid_t pid) {
  int changed = 0;
  if (j.is_object()) {
    bool names = false;
    for (auto& [key, value] : j.items()) names = names || value == container;
    for (auto& [key, value] : j.items()) {
      std::string lower = key;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (names && lower == "pid" && value.is_number()) {
        value = pid;
        ++changed;
      }
    }
  }
  if (j.is_structured()) {
    for (auto& child : j) changed += SetPidOf(child, container, pid);
  }
  return changed;
}

TEST_F(LiveUpdateTest, ARecycledPidIsNeverTouched) {
  ASSERT_TRUE(Arrange("db", "app", {"--update-signal", "SIGUSR1"}));
  Daemon& daemon = *daemon_;
  RunningContainer& c = Start(daemon, "app");
  ASSERT_FALSE(HasFailure());
  const std::string tracked = daemon.state_dir() + "/containers.json";
  ASSERT_TRUE(WaitFor([&] { return Contains(ReadFile(tracked), c.id()); }))
      << "the node role does not track " << c.id() << " in containers.json";

  // Another process of this test: a sleep in its own mount namespace, with a read-only
  // tmpfs named like ours at its /run/secrets holding a db: what a refresh would take for
  // the container's (and SIGUSR1, the service's update signal, would end it).
  TempDir decoy_dir;
  const std::string script =
      "mount -t tmpfs -o size=1m,mode=0755 decoy-run /run && mkdir /run/secrets && "
      "mount -t tmpfs -o size=1m,mode=0755 oci-secrets /run/secrets && "
      "echo decoy > /run/secrets/db && mount -o remount,ro /run/secrets && exec sleep 1000";
  Background decoy(
      {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script},
      decoy_dir.File("log"));
  const std::string decoy_root = "/proc/" + std::to_string(decoy.pid()) + "/root/run/secrets/db";
  // Set up once it is sleep (the remount read-only comes after the file).
  const std::string decoy_comm = "/proc/" + std::to_string(decoy.pid()) + "/comm";
  ASSERT_TRUE(WaitFor([&] { return ReadFile(decoy_comm) == "sleep\n"; }))
      << ReadFile(decoy_dir.File("log"));
  const std::string decoy_mounts_path = "/proc/" + std::to_string(decoy.pid()) + "/mountinfo";
  const std::string decoy_mounts = ReadFile(decoy_mounts_path);

  ASSERT_EQ(daemon.Stop(), 0) << daemon.Log();
  nlohmann::json state = nlohmann::json::parse(ReadFile(tracked), nullptr, false);
  ASSERT_FALSE(state.is_discarded()) << "containers.json does not parse";
  ASSERT_GE(SetPidOf(state, c.id(), decoy.pid()), 1)
      << "no pid for " << c.id() << " in " << state.dump();
  std::ofstream(tracked, std::ios::trunc) << state.dump();
  ASSERT_TRUE(daemon.Start().ok()) << daemon.Log();

  Rotate(daemon, "db", 1);
  EXPECT_TRUE(WaitFor([&] { return !Contains(ReadFile(tracked), c.id()); }))
      << "the entry of a recycled pid is still tracked: " << ReadFile(tracked);
  // (Signalled, it would be a zombie: Background reaps it only at the end.)
  EXPECT_FALSE(Contains(ReadFile("/proc/" + std::to_string(decoy.pid()) + "/status"), "State:\tZ"))
      << "the other process was signalled";
  EXPECT_EQ(ReadFile(decoy_root), "decoy\n");
  EXPECT_EQ(ReadFile(decoy_mounts_path), decoy_mounts) << "the other process's mounts changed";
  EXPECT_TRUE(IsValue(c.Read("db"), 0)) << "the untracked container was refreshed anyway";
}

TEST_F(LiveUpdateTest, APodmanContainerGetsTheRotatedValue) {
  ASSERT_TRUE(testing::IsInstalled(kPodmanTool.path, kPodmanTool.package));
  ASSERT_TRUE(testing::IsInstalled(kCrunTool.path, kCrunTool.package));
  EnsureCrunCgroupFix();
  world_ = std::make_unique<EngineWorld>();
  ASSERT_TRUE(world_->Init());
  scan_roots_ = {world_->dir.path()};
  const std::string hooks = WriteHooksDir(*world_, "hooks.d", /*shipped_args=*/false);
  ASSERT_FALSE(hooks.empty());
  ASSERT_TRUE(ImportEngineImage(*world_));
  const std::string name = "ocs-live-podman-" + std::to_string(getpid());
  std::vector<std::string> args =
      WithServiceAnnotation({"run", "-d", "--name", name, "--network", "none", "--ulimit",
                             "nofile=1024:1024", "--ulimit", "nproc=1024:1024"},
                            kEngineService);
  args.insert(args.end(), {kEngineImage, "sh", "-c", kForever});
  CommandResult run = RunPodman(*world_, args, hooks);
  stops_.push_back([&, name] { RunPodman(*world_, {"rm", "-f", "-t", "0", name}); });
  ASSERT_EQ(run.exit_code, 0) << run.err;
  CommandResult inspect = RunPodman(*world_, {"inspect", "-f", "{{.State.Pid}}", name});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const std::string secret =
      "/proc/" + std::to_string(std::atoi(inspect.out.c_str())) + "/root/run/secrets/pw";
  ASSERT_TRUE(ReadFile(secret) == world_->payload) << "the podman container did not get pw";

  Rotate(world_->daemon, kEngineSecret, 1);
  EXPECT_TRUE(WaitFor([&] { return ReadFile(secret) == Value(1); }))
      << "the podman container does not show the rotated value\n"
      << world_->daemon.Log();
}

}  // namespace
}  // namespace ocisecrets::itest
