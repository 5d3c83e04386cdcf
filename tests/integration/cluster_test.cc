// The cluster, end to end with the real binaries: a manager daemon that made a cluster on
// a loopback TLS port, worker daemons joined to it (each its own state dir and socket),
// and runc containers whose hook asks the worker's socket. One test per thing issue 12
// says the cluster must show. Needs root (runc does).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/cluster_harness.h"
#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr char kService[] = "redis";
constexpr char kRead[] = "echo \"CONTENT $(cat /run/secrets/pw)\"";

class ClusterTest : public ::testing::Test {
 protected:
  // The manager up with a cluster (init_args appended to `cluster init`) and secret "pw"
  // granted to service "redis" as a file of uid 1000.
  void MakeCluster(std::vector<std::string> init_args = {}) {
    ASSERT_TRUE(CanRun(Runc()));
    cluster_ = std::make_unique<Cluster>(Cluster::Options{std::move(init_args)});
    Status init = cluster_->Init();
    ASSERT_TRUE(init.ok()) << init.message();
    payload_ = UniquePayload();
    CreateSecretAndService(cluster_->manager(), "pw", payload_, kService, {"pw", 1000, 1000, 0400});
    ASSERT_FALSE(HasFailure());
  }
  Daemon& AddWorker(std::vector<std::string> managers = {}) {
    Result<Daemon*> w = cluster_->AddWorker(std::move(managers));
    EXPECT_TRUE(w.ok()) << w.status().message();
    return w.ok() ? **w : cluster_->manager();
  }

  // Runs an opted-in container of `service` on `node` (its hook asks node's socket) that
  // runs `script` as uid/gid 1000. Each run has a bundle dir of its own.
  CommandResult Start(const Daemon& node, const std::string& script = kRead,
                      const std::string& service = kService, bool poststop = true,
                      int deadline_ms = 3000) {
    Bundle b = OptedIn(node, script, service, poststop, deadline_ms);
    return b.Run(Runc(), NextId());
  }
  Bundle OptedIn(const Daemon& node, const std::string& script,
                 const std::string& service = kService, bool poststop = true,
                 int deadline_ms = 3000) {
    bundle_dirs_.push_back(std::make_unique<TempDir>());
    const TempDir& dir = *bundle_dirs_.back();
    Bundle b(dir, WriteHookConfig(dir, node.host(), deadline_ms));
    b.SetScript(script);
    b.SetUser(1000, 1000);
    b.SetAnnotation("org.oci-secrets.service", service);
    b.InstallHook(poststop);
    return b;
  }
  std::string NextId() {
    return "ocs-cl-" + std::to_string(getpid()) + "-" + std::to_string(++containers_);
  }
  void ExpectReadsSecret(const CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    EXPECT_TRUE(Contains(r.out, "CONTENT " + payload_ + "\n")) << r.out << r.err;
  }
  // The container did not run, the hook said why in one line that holds `part`, and no
  // payload reached the runtime's output.
  void ExpectStartRefused(const CommandResult& r, std::string_view part) {
    EXPECT_EQ(r.exit_code, Runc().hook_failed_exit) << r.out << r.err;
    EXPECT_FALSE(Contains(r.out, "CONTENT")) << "the container ran: " << r.out;
    EXPECT_TRUE(Contains(r.err, "oci-secrets-hook: prestart: ")) << r.err;
    EXPECT_TRUE(Contains(r.err, part)) << r.err;
    EXPECT_FALSE(Contains(r.out + r.err, payload_));
  }
  // Lines of the manager's audit log from mark on holding `part`: at least one.
  void ExpectAudited(std::size_t mark, std::string_view part) {
    EXPECT_FALSE(cluster_->AuditLinesSince(mark, part).empty())
        << "no audit line with \"" << part << "\" in:\n"
        << ::testing::PrintToString(cluster_->AuditLinesSince(mark));
  }
  // A worker joined with `first` (a manager that cannot serve it) before the real one:
  // the join and two starts succeed, each start within the hook's deadline of 3 s, so the
  // first does not eat the deadline.
  void ExpectFailoverPast(const std::string& first) {
    Daemon& worker = AddWorker({first, cluster_->addr()});
    ASSERT_FALSE(HasFailure());
    CommandResult inspect = worker.Cli({"cluster", "inspect"});
    EXPECT_TRUE(Contains(inspect.out, first)) << "the worker forgot the first manager: "
                                              << inspect.out;
    for (int i = 0; i < 2; ++i) ExpectReadsSecret(Start(worker));
  }
  std::vector<LeaseInfo> Leases() {
    Result<Service> s = ClientFor(cluster_->manager()).InspectService(kService);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? s->leases : std::vector<LeaseInfo>{};
  }

  std::unique_ptr<Cluster> cluster_;
  std::string payload_;
  std::vector<std::unique_ptr<TempDir>> bundle_dirs_;
  int containers_ = 0;
};

TEST_F(ClusterTest, WorkerJoinsAndItsContainerReadsTheSecretOverMutualTls) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  Daemon& worker = AddWorker();
  ASSERT_FALSE(HasFailure());
  // The worker holds what the plan says it holds, its key private to root.
  TlsFiles files = NodeCertFiles(worker);
  struct stat st{};
  ASSERT_EQ(stat(files.key.c_str(), &st), 0) << files.key;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string node_id = NodeIdOf(worker);
  ASSERT_FALSE(node_id.empty());

  std::size_t mark = cluster_->AuditMark();
  ExpectReadsSecret(Start(worker));
  // The lease came through TLS with the worker's certificate: the manager's audit says so.
  ExpectAudited(mark, node_id);
  // The manager lists the node as ready.
  CommandResult ls = cluster_->manager().Cli({"node", "ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_TRUE(Contains(ls.out, node_id)) << ls.out;
  EXPECT_TRUE(Contains(ls.out, "ready")) << ls.out;
  // No payload on the worker's disk: its state dir, its log, its temp dir.
  EXPECT_EQ(FilesHolding(payload_, {worker.state_dir(), worker.dir().path()}),
            std::vector<std::string>{});
}

TEST_F(ClusterTest, JoinWithAWrongCaDigestIsRefusedBeforeAnythingIsSent) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  Result<Daemon*> worker = cluster_->StartWorker();
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  std::string token = cluster_->JoinToken();
  std::string other_digest(50, 'z');
  std::size_t mark = cluster_->AuditMark();
  CommandResult r = cluster_->Join(**worker, WithCaDigest(token, other_digest), {cluster_->addr()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(Contains(r.err, "the manager's CA does not match the join token")) << r.err;
  EXPECT_TRUE(Contains(r.err, other_digest)) << r.err;
  // Refused in the handshake: the manager never saw a join request, nor a CSR.
  EXPECT_EQ(cluster_->AuditLinesSince(mark, "join"), std::vector<std::string>{});
  EXPECT_NE(access(NodeCertFiles(**worker).cert.c_str(), F_OK), 0) << "a certificate was issued";
  CommandResult ls = cluster_->manager().Cli({"node", "ls", "-q"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(std::count(ls.out.begin(), ls.out.end(), '\n'), 1) << "only the manager: " << ls.out;
}

// A forged secret and a rotated token meet the same refusal.
void ExpectJoinRefused(Cluster& cluster, const std::string& token) {
  Result<Daemon*> worker = cluster.StartWorker();
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  std::size_t mark = cluster.AuditMark();
  CommandResult r = cluster.Join(**worker, token, {cluster.addr()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(Contains(r.err, "invalid join token")) << r.err;
  EXPECT_FALSE(Contains(r.err, token.substr(token.rfind('-') + 1))) << "the secret was echoed";
  EXPECT_NE(access(NodeCertFiles(**worker).cert.c_str(), F_OK), 0) << "a certificate was issued";
  EXPECT_FALSE(cluster.AuditLinesSince(mark, "invalid join token").empty())
      << ::testing::PrintToString(cluster.AuditLinesSince(mark));
  // The worker stays a stand-alone machine.
  CommandResult inspect = (*worker)->Cli({"cluster", "inspect"});
  EXPECT_NE(inspect.exit_code, 0) << inspect.out;
  EXPECT_TRUE(Contains(inspect.err, "this node is not part of a cluster")) << inspect.err;
}

TEST_F(ClusterTest, JoinWithAWrongSecretIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  ExpectJoinRefused(*cluster_, WithSecret(cluster_->JoinToken(), std::string(25, '0')));
}

TEST_F(ClusterTest, JoinWithARotatedTokenIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  std::string old_token = cluster_->JoinToken();
  std::string new_token = cluster_->JoinToken(/*rotate=*/true);
  ASSERT_NE(old_token, new_token);
  ExpectJoinRefused(*cluster_, old_token);
  // The new one works.
  AddWorker();
}

TEST_F(ClusterTest, RemovedNodeIsRefusedOnItsOpenConnection) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  Daemon& worker = AddWorker();
  ASSERT_FALSE(HasFailure());
  // A start opens the worker's kept-alive connection to the manager.
  ExpectReadsSecret(Start(worker));
  std::string node_id = NodeIdOf(worker);
  CommandResult ready_rm = cluster_->manager().Cli({"node", "rm", node_id});
  EXPECT_EQ(ready_rm.exit_code, 1) << ready_rm.out;
  EXPECT_TRUE(Contains(ready_rm.err, "is ready: stop it first or use --force")) << ready_rm.err;
  CommandResult rm = cluster_->manager().Cli({"node", "rm", "--force", node_id});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;

  std::size_t mark = cluster_->AuditMark();
  ExpectStartRefused(Start(worker), "node " + node_id + " was removed from the cluster");
  ExpectAudited(mark, "was removed from the cluster");
  // A fresh connection with the same (unexpired) certificate is refused too.
  CurlResult c = Curl({"https://" + cluster_->addr() + "/v1/health"}, NodeCertFiles(worker));
  EXPECT_NE(c.http_status, 200) << c.body;
  CommandResult ls = cluster_->manager().Cli({"node", "ls"});
  EXPECT_FALSE(Contains(ls.out, node_id)) << ls.out;
}

TEST_F(ClusterTest, ExpiredCertificateIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster({"--cert-expiry", "3s"}));
  Daemon& worker = AddWorker();
  ASSERT_FALSE(HasFailure());
  // A copy of the certificate as issued, for a fresh connection later.
  TempDir keep;
  TlsFiles issued = {keep.File("ca.pem"), keep.File("node.crt"), keep.File("node.key")};
  TlsFiles live = NodeCertFiles(worker);
  for (auto [from, to] : {std::pair{live.ca, issued.ca}, {live.cert, issued.cert},
                          {live.key, issued.key}}) {
    ASSERT_EQ(RunCommand({"/bin/cp", from, to}).exit_code, 0) << from;
  }
  // The worker freezes before it can renew, and wakes after its certificate expired.
  ASSERT_TRUE(worker.Signal(SIGSTOP));
  std::this_thread::sleep_for(seconds(5));
  ASSERT_TRUE(worker.Signal(SIGCONT));

  std::size_t mark = cluster_->AuditMark();
  ExpectStartRefused(Start(worker), "expired");
  // Over a fresh connection the handshake fails.
  CurlResult c = Curl({"https://" + cluster_->addr() + "/v1/health"}, issued);
  EXPECT_NE(c.exit_code, 0) << c.body;
  EXPECT_EQ(c.http_status, 0) << c.body;
  EXPECT_TRUE(Contains(c.err, "expired")) << c.err;
  ExpectAudited(mark, "expired");
}

TEST_F(ClusterTest, CertificateFromAnotherClusterIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  Cluster other;
  ASSERT_TRUE(other.Init().ok());
  TempDir ours_dir, theirs_dir;
  ASSERT_EQ(cluster_->manager().Cli({"cluster", "admin-cert", "--out", ours_dir.path()}).exit_code,
            0);
  ASSERT_EQ(other.manager().Cli({"cluster", "admin-cert", "--out", theirs_dir.path()}).exit_code, 0);
  TlsFiles ours = AdminCertFiles(ours_dir.path());
  TlsFiles theirs = AdminCertFiles(theirs_dir.path());
  // Our admin certificate works (the control), theirs, trusting our CA, does not.
  CommandResult mine = RemoteCli(cluster_->addr(), ours, {"secret", "ls"});
  EXPECT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_TRUE(Contains(mine.out, "pw")) << mine.out;

  std::size_t mark = cluster_->AuditMark();
  TlsFiles forged = {ours.ca, theirs.cert, theirs.key};
  CommandResult r = RemoteCli(cluster_->addr(), forged, {"secret", "ls"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_FALSE(Contains(r.out, "pw")) << r.out;
  // The manager's alert, as OpenSSL words it ("unknown ca"), or our client's words.
  EXPECT_TRUE(Contains(r.err, "certificate") || Contains(r.err, "unknown ca")) << r.err;
  // The manager recorded the refused handshake of a peer on loopback.
  ExpectAudited(mark, "127.0.0.1");
}

TEST_F(ClusterTest, PlainHttpToTheTlsPortIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  std::size_t mark = cluster_->AuditMark();
  CurlResult c = Curl({"http://" + cluster_->addr() + "/v1/health"});
  // The port answers plain HTTP once, with a 400 that says what to do, and closes.
  EXPECT_EQ(c.http_status, 400) << c.body << c.err;
  EXPECT_TRUE(Contains(c.body, "this port speaks TLS: use https://")) << c.body;
  ExpectAudited(mark, "not a TLS client hello");
}

TEST_F(ClusterTest, TlsWithoutAClientCertificateIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  std::size_t mark = cluster_->AuditMark();
  CurlResult c = Curl({"-k", "https://" + cluster_->addr() + "/v1/secrets"});
  EXPECT_EQ(c.http_status, 403) << c.body << c.err;
  EXPECT_TRUE(Contains(c.body, "a client certificate is required")) << c.body;
  EXPECT_FALSE(Contains(c.body, "pw")) << c.body;
  ExpectAudited(mark, "a client certificate is required");
}

TEST_F(ClusterTest, NodeOutsideTheServiceConstraintsIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  Daemon& worker = AddWorker();
  ASSERT_FALSE(HasFailure());
  CommandResult create = cluster_->manager().Cli(
      {"service", "create", "--name", "eu-only", "--secret", "source=pw,target=pw,uid=1000,"
       "gid=1000,mode=0400", "--constraint", "node.labels.zone==eu"});
  ASSERT_EQ(create.exit_code, 0) << create.err;

  std::size_t mark = cluster_->AuditMark();
  ExpectStartRefused(Start(worker, kRead, "eu-only"), "node.labels.zone==eu");
  ExpectAudited(mark, "node.labels.zone==eu");
  // With the label the same node gets the secret: it was the constraint that refused.
  CommandResult label = cluster_->manager().Cli(
      {"node", "update", "--label-add", "zone=eu", NodeIdOf(worker)});
  ASSERT_EQ(label.exit_code, 0) << label.err;
  ExpectReadsSecret(Start(worker, kRead, "eu-only"));
}

TEST_F(ClusterTest, EveryAdminRouteRefusesANodeCertificate) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  Daemon& worker = AddWorker();
  ASSERT_FALSE(HasFailure());
  const TlsFiles node = NodeCertFiles(worker);
  struct Case {
    std::string what;
    std::vector<std::string> args;
    std::string stdin_data;
  };
  const std::vector<Case> cases = {
      {"secret ls", {"secret", "ls"}, ""},
      {"secret create", {"secret", "create", "stolen", "-"}, "x"},
      {"secret inspect", {"secret", "inspect", "pw"}, ""},
      {"secret rm", {"secret", "rm", "pw"}, ""},
      {"service ls", {"service", "ls"}, ""},
      {"service create", {"service", "create", "--name", "grab", "--secret", "pw"}, ""},
      {"node ls", {"node", "ls"}, ""},
      {"cluster join-token", {"cluster", "join-token", "node"}, ""},
  };
  std::size_t mark = cluster_->AuditMark();
  for (const Case& c : cases) {
    CommandResult r = RemoteCli(cluster_->addr(), node, c.args, c.stdin_data);
    EXPECT_EQ(r.exit_code, 1) << c.what << ": " << r.out;
    EXPECT_TRUE(Contains(r.err, "role node may not call")) << c.what << ": " << r.err;
    EXPECT_FALSE(Contains(r.out, "OCSTKN-")) << c.what << ": " << r.out;
  }
  EXPECT_GE(cluster_->AuditLinesSince(mark, "role node may not call").size(), cases.size());
  // Nothing changed: pw is still there, nothing new was made.
  CommandResult secrets = cluster_->manager().Cli({"secret", "ls", "-q"});
  CommandResult services = cluster_->manager().Cli({"service", "ls"});
  EXPECT_EQ(std::count(secrets.out.begin(), secrets.out.end(), '\n'), 1) << secrets.out;
  EXPECT_FALSE(Contains(services.out, "grab")) << services.out;
  ExpectReadsSecret(Start(worker));
}

TEST_F(ClusterTest, LeaseOrLeaseEndForAnotherNodesContainerIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  Daemon& a = AddWorker();
  Daemon& b = AddWorker();
  ASSERT_FALSE(HasFailure());
  const std::string a_id = NodeIdOf(a);
  const std::string b_id = NodeIdOf(b);
  // B runs a container whose lease stays (no poststop).
  ExpectReadsSecret(Start(b, kRead, kService, /*poststop=*/false));
  std::vector<LeaseInfo> before = Leases();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].node_id, b_id);
  const std::string words = "node " + a_id + " may not act for node " + b_id;

  std::size_t mark = cluster_->AuditMark();
  CurlResult grant = Curl({"-X", "POST", "-H", "Content-Type: application/json", "--data",
                           R"({"ContainerID":")" + before[0].container_id +
                               R"(","Service":"redis","NodeID":")" + b_id + R"("})",
                           "https://" + cluster_->addr() + "/v1/leases"},
                          NodeCertFiles(a));
  EXPECT_EQ(grant.http_status, 403) << grant.body << grant.err;
  EXPECT_TRUE(Contains(grant.body, words)) << grant.body;
  EXPECT_FALSE(Contains(grant.body, payload_));

  CurlResult ended = Curl({"-X", "DELETE", "https://" + cluster_->addr() + "/v1/leases/" +
                                                 before[0].container_id + "?node=" + b_id},
                          NodeCertFiles(a));
  EXPECT_EQ(ended.http_status, 403) << ended.body << ended.err;
  EXPECT_TRUE(Contains(ended.body, words)) << ended.body;
  EXPECT_GE(cluster_->AuditLinesSince(mark, words).size(), 2u);
  // B's lease is untouched.
  std::vector<LeaseInfo> after = Leases();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].node_id, b_id);
  EXPECT_EQ(after[0].container_id, before[0].container_id);
}

TEST_F(ClusterTest, WorkerRenewsItsCertificateAndStartsKeepWorking) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster({"--cert-expiry", "4s"}));
  Daemon& worker = AddWorker();
  ASSERT_FALSE(HasFailure());
  std::set<std::string> serials = {CertSerialOf(worker)};
  const auto begin = steady_clock::now();
  int started = 0;
  // Three starts, at 0, ~5 and ~10 s; the certificate file read every 200 ms between them.
  while (steady_clock::now() - begin < milliseconds(10'500)) {
    if (steady_clock::now() - begin >= seconds(5) * started && started < 3) {
      ExpectReadsSecret(Start(worker));
      ++started;
    }
    if (std::string s = CertSerialOf(worker); !s.empty()) serials.insert(s);
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(started, 3);
  // The first serial and at least two renewals.
  EXPECT_GE(serials.size(), 3u) << ::testing::PrintToString(serials);
  CommandResult inspect = worker.Cli({"cluster", "inspect"});
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
}

TEST_F(ClusterTest, FailoverPastAManagerThatIsNotListening) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  ExpectFailoverPast("127.0.0.1:" + std::to_string(FreeLoopbackPort()));
}

TEST_F(ClusterTest, FailoverPastAManagerThatNeverAnswers) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  SilentTcpListener silent;
  ExpectFailoverPast(silent.addr());
}

TEST_F(ClusterTest, CutOffWorkerKeepsRunningContainersAndRecoversWithoutARestart) {
  ASSERT_NO_FATAL_FAILURE(MakeCluster());
  Daemon& worker = AddWorker();
  ASSERT_FALSE(HasFailure());
  // A long-running container: reads its secret, says so, waits for the test, reads again.
  Bundle running = OptedIn(worker,
                           "echo \"FIRST $(cat /run/secrets/pw)\"; touch /flags/started; "
                           "while [ ! -e /flags/go ]; do sleep 0.1; done; "
                           "echo \"SECOND $(cat /run/secrets/pw)\"");
  running.config()["root"]["readonly"] = false;
  // The container runs as uid 1000: its flags go to a directory it may write.
  const std::string flags = running.rootfs() + "/flags";
  ASSERT_EQ(mkdir(flags.c_str(), 0777), 0);
  ASSERT_EQ(chmod(flags.c_str(), 0777), 0);
  CommandResult long_run;
  std::thread runner([&] { long_run = running.Run(Runc(), NextId()); });
  const std::string started = flags + "/started";
  const auto deadline = steady_clock::now() + seconds(30);
  while (access(started.c_str(), F_OK) != 0 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  bool container_started = access(started.c_str(), F_OK) == 0;
  EXPECT_TRUE(container_started) << "the container did not start";

  // The manager goes away; the running container keeps its secret.
  cluster_->manager().Stop();
  std::ofstream(flags + "/go").put('\n');
  runner.join();
  EXPECT_TRUE(Contains(long_run.out, "FIRST " + payload_ + "\n")) << long_run.out << long_run.err;
  EXPECT_TRUE(Contains(long_run.out, "SECOND " + payload_ + "\n")) << long_run.out << long_run.err;

  // A new start fails closed, naming the manager it tried.
  CommandResult cut = Start(worker);
  ExpectStartRefused(cut, "no manager reachable");
  EXPECT_TRUE(Contains(cut.err, cluster_->addr())) << cut.err;

  // The manager comes back on the same port; the same worker process starts containers.
  ASSERT_TRUE(cluster_->manager().Start().ok()) << cluster_->manager().Log();
  ASSERT_TRUE(worker.running());
  ExpectReadsSecret(Start(worker));
}

}  // namespace
}  // namespace ocisecrets::itest
