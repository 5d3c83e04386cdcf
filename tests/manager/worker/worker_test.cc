#include "manager/worker/worker.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "shared/file_util.h"
#include "tests/manager/worker/fake_manager.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using testing::FakeClock;
using testing::FakeDialer;
using testing::FakeManager;
using testing::IsError;
using testing::Reach;
using testing::TempDir;

constexpr char kFirst[] = "127.0.0.1:7443";
constexpr char kSecond[] = "127.0.0.2:7443";

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() : manager_(&clock_) {
    dialer_.Add(kFirst, &manager_);
    dialer_.Add(kSecond, &manager_);
  }

  WorkerOptions Options() {
    WorkerOptions o;
    o.state_dir = dir_.path();
    o.dialer = dialer_.dialer();
    o.clock = [this] { return clock_.Now(); };
    o.hostname = "worker-1";
    o.background = false;
    o.lease_budget = std::chrono::milliseconds(2000);
    o.random_fraction = [this] { return fraction_; };
    o.log = [this](const std::string& line) { logs_.push_back(line); };
    return o;
  }

  std::unique_ptr<Worker> Open() {
    auto w = Worker::Open(Options());
    EXPECT_TRUE(w.ok()) << w.status().message();
    return w.ok() ? std::move(*w) : nullptr;
  }

  JoinRequest JoinWith(std::string token, std::vector<std::string> managers = {kFirst, kSecond}) {
    JoinRequest r;
    r.token = std::move(token);
    r.managers = std::move(managers);
    return r;
  }

  // A worker that joined through kFirst.
  std::unique_ptr<Worker> Joined() {
    auto w = Open();
    auto info = w->Join(JoinWith(manager_.Token()));
    EXPECT_TRUE(info.ok()) << info.status().message();
    return w;
  }

  static LeaseRequest RedisFor(std::string container) { return {std::move(container), "redis"}; }

  int Logged(std::string_view part) const {
    int n = 0;
    for (const auto& l : logs_) n += l.find(part) != std::string::npos;
    return n;
  }

  TempDir dir_;
  FakeClock clock_;
  FakeManager manager_;
  FakeDialer dialer_;
  double fraction_ = 0.5;
  std::vector<std::string> logs_;
};

TEST_F(WorkerTest, JoinSavesTheStateAndMakesThisNodeAWorker) {
  auto w = Open();
  EXPECT_FALSE(w->active());
  auto info = w->Join(JoinWith(manager_.Token()));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_TRUE(w->active());
  EXPECT_EQ(info->role, "worker");
  EXPECT_EQ(info->node_id, manager_.node_id);
  EXPECT_EQ(info->ca_digest, manager_.ca().digest());
  EXPECT_EQ(info->managers, (std::vector<std::string>{kFirst, kSecond}));  // not 0.0.0.0
  auto join = ParseJoinRequest(manager_.requests().at(0).body);
  ASSERT_TRUE(join.ok());
  EXPECT_EQ(join->hostname, "worker-1");
  EXPECT_TRUE(CheckCsr(join->csr).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_.File("cluster/node.key")));
  EXPECT_TRUE(IsError(w->Join(JoinWith(manager_.Token())), StatusCode::kFailedPrecondition,
                      "this node is already part of a cluster"));
}

TEST_F(WorkerTest, JoinRefusesAMalformedToken) {
  auto w = Open();
  EXPECT_TRUE(IsError(w->Join(JoinWith("OCSTKN-2-abc")), StatusCode::kInvalidArgument,
                      "invalid join token"));
  EXPECT_TRUE(manager_.requests().empty());
}

TEST_F(WorkerTest, JoinWithAnotherCaDigestSendsNothing) {
  FakeClock other_clock;
  FakeManager other(&other_clock, "cluster000000000000000002");
  auto w = Open();
  auto joined = w->Join(JoinWith(other.Token()));
  EXPECT_TRUE(IsError(joined, StatusCode::kUnavailable, "does not match the join token"));
  EXPECT_TRUE(IsError(joined, StatusCode::kUnavailable, kSecond));
  EXPECT_TRUE(manager_.requests().empty());  // no CSR, no token went out
  EXPECT_FALSE(w->active());
  EXPECT_FALSE(std::filesystem::exists(dir_.File("cluster")));
}

TEST_F(WorkerTest, JoinWithARefusedTokenIsTheManagersAnswer) {
  auto w = Open();
  EXPECT_TRUE(IsError(w->Join(JoinWith(manager_.Token(true))), StatusCode::kPermissionDenied,
                      "manager 127.0.0.1:7443: invalid join token"));
  EXPECT_EQ(manager_.requests().size(), 1u);  // not tried on the second manager
  EXPECT_FALSE(w->active());
}

TEST_F(WorkerTest, JoinRefusesAnAnswerWithAnotherCa) {
  FakeClock other_clock;
  FakeManager other(&other_clock, "cluster000000000000000002");
  manager_.answered_ca = other.ca().cert_pem();
  auto w = Open();
  EXPECT_TRUE(IsError(w->Join(JoinWith(manager_.Token())), StatusCode::kPermissionDenied,
                      "the manager's CA does not match the join token"));
  EXPECT_FALSE(w->active());
  EXPECT_FALSE(std::filesystem::exists(dir_.File("cluster")));
}

TEST_F(WorkerTest, JoinRefusesACertificateForAnotherNode) {
  manager_.answered_node_id = "node00000000000000000009";
  auto w = Open();
  EXPECT_TRUE(IsError(w->Join(JoinWith(manager_.Token())), StatusCode::kPermissionDenied,
                      "certificate for node node00000000000000000001, not for node "
                      "node00000000000000000009"));
  EXPECT_FALSE(w->active());
}

TEST_F(WorkerTest, JoinNamesEveryManagerWhenNoneAnswers) {
  dialer_.Set(kFirst, Reach::kRefuses);
  dialer_.Set(kSecond, Reach::kRefuses);
  auto w = Open();
  EXPECT_TRUE(IsError(w->Join(JoinWith(manager_.Token())), StatusCode::kUnavailable,
                      "127.0.0.1:7443 (connection refused), 127.0.0.2:7443 (connection refused)"));
}

TEST_F(WorkerTest, LeaseIsForwardedWithThisNodesIdAndRecordedWithoutPayload) {
  auto w = Joined();
  auto grant = w->Lease(RedisFor("c1"));
  ASSERT_TRUE(grant.ok()) << grant.status().message();
  ASSERT_EQ(grant->files.size(), 1u);
  EXPECT_EQ(std::string(grant->files[0].data.begin(), grant->files[0].data.end()), testing::kPayload);
  auto sent = ParseLeaseRequest(manager_.requests().back().body);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->node_id, manager_.node_id);
  ASSERT_EQ(w->local_leases().size(), 1u);
  EXPECT_EQ(w->local_leases()[0].service, "redis");
  auto file = ReadFileBounded(dir_.File("cluster/leases.json"), 1 << 20);
  ASSERT_TRUE(file.ok());
  EXPECT_NE(file->find("\"c1\""), std::string::npos);
  EXPECT_EQ(file->find(testing::kPayload), std::string::npos);
  EXPECT_EQ(file->find("aHVudGVy"), std::string::npos);  // nor in base64
}

TEST_F(WorkerTest, LeaseFailsOverWhenTheFirstManagerRefusesConnections) {
  auto w = Joined();
  dialer_.Set(kFirst, Reach::kRefuses);
  EXPECT_TRUE(w->Lease(RedisFor("c1")).ok());
}

TEST_F(WorkerTest, LeaseFailsOverWithinTheBudgetWhenTheFirstManagerIsBlackholed) {
  auto w = Joined();
  dialer_.Set(kFirst, Reach::kBlackhole);
  auto grant = w->Lease(RedisFor("c1"));
  EXPECT_TRUE(grant.ok()) << grant.status().message();
  // The one that answered is asked first next time.
  int before = manager_.Count("POST", "/v1/leases");
  dialer_.Set(kFirst, Reach::kRefuses);
  EXPECT_TRUE(w->Lease(RedisFor("c2")).ok());
  EXPECT_EQ(manager_.Count("POST", "/v1/leases"), before + 1);
}

TEST_F(WorkerTest, LeaseNamesEveryManagerWhenNoneIsReachable) {
  auto w = Joined();
  dialer_.Set(kFirst, Reach::kRefuses);
  dialer_.Set(kSecond, Reach::kBlackhole);
  EXPECT_TRUE(IsError(w->Lease(RedisFor("c1")), StatusCode::kUnavailable,
                      "no manager reachable within 2000 ms: 127.0.0.1:7443 (connection refused), "
                      "127.0.0.2:7443 (timed out)"));
  EXPECT_TRUE(w->local_leases().empty());
}

TEST_F(WorkerTest, AManagersRefusalIsTheAnswerNotARetry) {
  FakeManager second(&clock_);
  auto w = Joined();
  dialer_.Add(kSecond, &second);
  EXPECT_TRUE(IsError(w->Lease({"c1", "forbidden"}), StatusCode::kPermissionDenied,
                      "does not satisfy the constraint node.labels.zone==eu"));
  EXPECT_TRUE(second.requests().empty());
  EXPECT_TRUE(w->local_leases().empty());
}

TEST_F(WorkerTest, ConnectionsAreKeptAlive) {
  auto w = Joined();
  int after_join = dialer_.dials();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());
  ASSERT_TRUE(w->Lease(RedisFor("c2")).ok());
  ASSERT_TRUE(w->Lease(RedisFor("c3")).ok());
  EXPECT_EQ(dialer_.dials(), after_join + 1);
}

TEST_F(WorkerTest, LeasesPastHalfTheirLifeAreRenewed) {
  auto w = Joined();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());
  w->Tick();
  EXPECT_EQ(manager_.Count("POST", "/v1/leases"), 1);  // not yet due
  clock_.Advance(std::chrono::minutes(31));           // the fake grants an hour
  w->Tick();
  EXPECT_EQ(manager_.Count("POST", "/v1/leases"), 2);
  ASSERT_EQ(w->local_leases().size(), 1u);
  EXPECT_EQ(w->local_leases()[0].granted_at, clock_.Now());
}

TEST_F(WorkerTest, LeasesAreRenewedAtOnceWhenTheManagersAreBack) {
  auto w = Joined();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());
  dialer_.Set(kFirst, Reach::kRefuses);
  dialer_.Set(kSecond, Reach::kRefuses);
  w->Tick();  // heartbeat fails: cut off
  EXPECT_EQ(Logged("heartbeat failing"), 1);
  dialer_.Set(kFirst, Reach::kAnswers);
  clock_.Advance(std::chrono::seconds(6));  // the next heartbeat is due
  w->Tick();
  EXPECT_EQ(Logged("heartbeat recovered"), 1);
  EXPECT_EQ(manager_.Count("POST", "/v1/leases"), 2);  // though far from half its life
}

TEST_F(WorkerTest, ARenewalAnsweredNotFoundDropsTheRecord) {
  auto w = Joined();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());
  auto file = ReadFileBounded(dir_.File("cluster/leases.json"), 1 << 20);
  std::string renamed = *file;
  renamed.replace(renamed.find("redis"), 5, "gone!");
  ASSERT_TRUE(ReplaceFileAtomically(dir_.File("cluster/leases.json"), renamed, 0600, geteuid(),
                                    getegid()).ok());
  w.reset();
  w = Open();  // a restart reads the records back
  ASSERT_EQ(w->local_leases().size(), 1u);
  clock_.Advance(std::chrono::minutes(31));
  w->Tick();
  EXPECT_TRUE(w->local_leases().empty());
}

TEST_F(WorkerTest, AnEndWhileCutOffIsKeptAndRetried) {
  auto w = Joined();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());
  dialer_.Set(kFirst, Reach::kRefuses);
  dialer_.Set(kSecond, Reach::kRefuses);
  EXPECT_TRUE(w->EndLease("c1").ok());
  ASSERT_EQ(w->local_leases().size(), 1u);
  EXPECT_TRUE(w->local_leases()[0].pending_end);
  EXPECT_EQ(manager_.Count("DELETE", "/v1/leases/"), 0);
  dialer_.Set(kSecond, Reach::kAnswers);
  clock_.Advance(std::chrono::seconds(6));
  w->Tick();
  EXPECT_EQ(manager_.Count("DELETE", "/v1/leases/c1?node=" + manager_.node_id), 1);
  EXPECT_TRUE(w->local_leases().empty());
}

TEST_F(WorkerTest, EndLeaseForwardsAndDropsTheRecord) {
  auto w = Joined();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());
  EXPECT_TRUE(w->EndLease("c1").ok());
  EXPECT_EQ(manager_.Count("DELETE", "/v1/leases/c1?node=" + manager_.node_id), 1);
  EXPECT_TRUE(w->local_leases().empty());
}

TEST_F(WorkerTest, CertificateRenewalIsScheduledBetweenHalfAndFourFifthsOfItsLife) {
  for (double r : {0.0, 0.5, 1.0}) {
    SCOPED_TRACE(r);
    TempDir dir;
    fraction_ = r;
    WorkerOptions o = Options();
    o.state_dir = dir.path();
    auto w = Worker::Open(o);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Join(JoinWith(manager_.Token())).ok());
    auto at = (*w)->next_cert_renewal();
    ASSERT_TRUE(at.has_value());
    auto life = std::chrono::duration<double>(manager_.cert_life).count();
    double point = std::chrono::duration<double>(*at - clock_.Now()).count() / life;
    EXPECT_NEAR(point, 0.5 + 0.3 * r, 0.001);
  }
}

TEST_F(WorkerTest, TheCertificateIsRenewedWhenDueAndNewConnectionsUseIt) {
  fraction_ = 0.0;  // at half its life
  auto w = Joined();
  std::string first_cert = dialer_.last_cert();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());  // a kept-alive connection with the old one
  clock_.Advance(std::chrono::minutes(29));
  w->Tick();
  EXPECT_EQ(manager_.Count("POST", "/v1/cluster/renew"), 0);
  clock_.Advance(std::chrono::minutes(2));
  w->Tick();
  ASSERT_EQ(manager_.Count("POST", "/v1/cluster/renew"), 1);
  ASSERT_TRUE(w->Lease(RedisFor("c2")).ok());
  EXPECT_NE(dialer_.last_cert(), first_cert);
  auto saved = ReadFileBounded(dir_.File("cluster/node.crt"), 1 << 20);
  EXPECT_EQ(*saved, dialer_.last_cert());
  EXPECT_GT(*w->next_cert_renewal(), clock_.Now());
}

TEST_F(WorkerTest, AFailingRenewalRetriesWithBackoffAndLogsOnce) {
  fraction_ = 0.0;  // at half its life
  auto w = Joined();
  manager_.renew_status = 500;
  clock_.Advance(std::chrono::minutes(31));
  for (int i = 0; i < 4; ++i) {
    w->Tick();
    clock_.Advance(std::chrono::seconds(70));  // past any backoff
  }
  EXPECT_EQ(manager_.Count("POST", "/v1/cluster/renew"), 4);
  EXPECT_EQ(Logged("certificate renewal failing"), 1);
  manager_.renew_status = 200;
  w->Tick();
  EXPECT_EQ(Logged("certificate renewal recovered"), 1);
}

TEST_F(WorkerTest, LeaveForgetsTheCluster) {
  auto w = Joined();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());
  EXPECT_TRUE(IsError(w->Leave(false), StatusCode::kFailedPrecondition,
                      "1 container(s) on this node hold secrets of the cluster"));
  EXPECT_TRUE(w->active());
  ASSERT_TRUE(w->Leave(true).ok());
  EXPECT_FALSE(w->active());
  EXPECT_FALSE(std::filesystem::exists(dir_.File("cluster")));
  EXPECT_TRUE(IsError(w->Lease(RedisFor("c2")), StatusCode::kFailedPrecondition,
                      "not part of a cluster"));
  EXPECT_TRUE(IsError(w->Leave(true), StatusCode::kFailedPrecondition, "not part of a cluster"));
  EXPECT_TRUE(w->Join(JoinWith(manager_.Token())).ok());  // and may join again
}

TEST_F(WorkerTest, AJoinedMachineRestartsAsAWorker) {
  auto w = Joined();
  ASSERT_TRUE(w->Lease(RedisFor("c1")).ok());
  w.reset();
  w = Open();
  EXPECT_TRUE(w->active());
  EXPECT_EQ(w->Inspect()->node_id, manager_.node_id);
  EXPECT_EQ(w->local_leases().size(), 1u);
}

TEST_F(WorkerTest, TheBackgroundThreadHeartbeats) {
  WorkerOptions o = Options();
  o.background = true;
  o.heartbeat_period = std::chrono::milliseconds(10);
  o.clock = [] { return TimePoint(Clock::now()); };
  auto w = Worker::Open(o);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Join(JoinWith(manager_.Token())).ok());
  for (int i = 0; i < 500 && manager_.Count("POST", "/v1/cluster/heartbeat") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(manager_.Count("POST", "/v1/cluster/heartbeat"), 2);
  ASSERT_TRUE((*w)->Leave(true).ok());  // stops and joins the thread
}

}  // namespace
}  // namespace ocisecrets
