#include "manager/node/live_updater.h"

#include <gtest/gtest.h>

#include <mutex>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

// The manager as the updater sees it: a grant per container, changes handed out once.
class FakeUplink : public Uplink {
 public:
  Result<ChangesResponse> Wait(const ChangesRequest& request,
                               std::chrono::steady_clock::time_point) override {
    std::lock_guard<std::mutex> lock(mu);
    ChangesResponse r;
    r.epoch = "e";
    r.revision = request.since + 1;
    r.changed = std::move(next_changes);
    next_changes.clear();
    return r;
  }
  Result<LeaseGrant> Renew(const LeaseRequest& request) override {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(request.renewal);
    renewed.push_back(request.container_id);
    if (renew_error) return *renew_error;
    return grants.at(request.container_id);
  }
  Status ReportHeld(const HeldReport& report) override {
    std::lock_guard<std::mutex> lock(mu);
    reports.push_back(report);
    return Status::Ok();
  }
  Status End(std::string_view container_id) override {
    std::lock_guard<std::mutex> lock(mu);
    ended.emplace_back(container_id);
    return Status::Ok();
  }
  std::string node_id() const override { return "node1"; }

  std::mutex mu;
  std::vector<std::string> next_changes;
  std::map<std::string, LeaseGrant> grants;
  std::optional<Status> renew_error;
  std::vector<std::string> renewed, ended;
  std::vector<HeldReport> reports;
};

class FakeRefresher : public Refresher {
 public:
  RefreshOutcome Refresh(const RefreshPlan& plan, std::chrono::steady_clock::time_point) override {
    std::lock_guard<std::mutex> lock(mu);
    plans.push_back(plan);
    return outcome;
  }
  std::mutex mu;
  std::vector<RefreshPlan> plans;
  RefreshOutcome outcome{RefreshOutcome::Kind::kRefreshed, "refreshed files=1"};
};

class FakeAudit : public AuditSink {
 public:
  void Record(const Identity& peer, const AuditEvent& e) override {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e);
    nodes.push_back(peer.node_id);
  }
  std::mutex mu;
  std::vector<AuditEvent> events;
  std::vector<std::string> nodes;
};

LeasedFile File(const std::string& name, const std::string& secret, std::uint64_t version) {
  LeasedFile f;
  f.name = name;
  f.secret_id = secret;
  f.version = version;
  f.data = SecretBytes{'v'};
  return f;
}

LeaseGrant GrantOf(const std::string& container, std::vector<LeasedFile> files) {
  LeaseGrant g;
  g.container_id = container;
  g.service = "redis";
  g.secrets_dir = "/run/secrets";
  g.files = std::move(files);
  return g;
}

class LiveUpdaterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Track("c1", GrantOf("c1", {File("db", "s1", 1)}), 101);
    Track("c2", GrantOf("c2", {File("tls", "s2", 1)}), 102);
    LiveUpdaterOptions o;
    o.uplink = &uplink;
    o.tracker = &tracker;
    o.refresher = &refresher;
    o.audit = &audit;
    o.metrics = &metrics;
    o.start_time = [this](int pid) -> Result<std::uint64_t> {
      if (gone.count(pid)) return Status::NotFound("process gone");
      return static_cast<std::uint64_t>(pid) * 10;
    };
    o.signal_number = [](std::string_view n) { return n == "SIGHUP" ? 1 : 0; };
    o.clock = [this] { return now; };
    o.log = [this](const std::string& line) { logs.push_back(line); };
    updater = std::make_unique<LiveUpdater>(std::move(o));
    ASSERT_TRUE(updater->PollOnce(std::chrono::milliseconds(0)).ok());  // the first: all
    refresher.plans.clear();
    uplink.renewed.clear();
  }
  void Track(const std::string& id, LeaseGrant grant, int pid) {
    LeaseRequest r{id, "redis"};
    r.pid = pid;
    r.tmpfs_size = 4096;
    uplink.grants[id] = grant;
    ASSERT_TRUE(tracker.Track(r, grant, "svc", static_cast<std::uint64_t>(pid) * 10, now).ok());
  }
  void Change(std::vector<std::string> ids) {
    uplink.next_changes = std::move(ids);
    ASSERT_TRUE(updater->PollOnce(std::chrono::milliseconds(0)).ok());
  }

  TimePoint now = TimePoint(std::chrono::seconds(1'000'000));
  std::set<int> gone;
  FakeUplink uplink;
  FakeRefresher refresher;
  FakeAudit audit;
  Metrics metrics;
  ContainerTracker tracker{""};
  std::vector<std::string> logs;
  std::unique_ptr<LiveUpdater> updater;
};

TEST_F(LiveUpdaterTest, ARotateReachesOnlyTheContainersHoldingTheSecret) {
  uplink.grants["c1"] = GrantOf("c1", {File("db", "s1", 2)});
  uplink.grants["c1"].update_signal = "SIGHUP";
  Change({"s1"});
  EXPECT_EQ(uplink.renewed, std::vector<std::string>{"c1"});
  ASSERT_EQ(refresher.plans.size(), 1u);
  const RefreshPlan& p = refresher.plans[0];
  EXPECT_EQ(p.container_id, "c1");
  EXPECT_EQ(p.pid, 101);
  EXPECT_EQ(p.start_time, 1010u);
  EXPECT_EQ(p.secrets_dir, "/run/secrets");
  EXPECT_EQ(p.tmpfs_size, 4096u);
  EXPECT_EQ(p.signal, 1);
  ASSERT_EQ(p.files.size(), 1u);
  EXPECT_EQ(p.files[0].version, 2u);
  EXPECT_EQ(tracker.Find("c1")->files[0].version, 2u);
  ASSERT_EQ(uplink.reports.size(), 1u);
  EXPECT_EQ(uplink.reports[0].containers[0].container_id, "c1");
  EXPECT_EQ(uplink.reports[0].containers[0].versions.at("s1"), 2u);
  ASSERT_EQ(audit.events.size(), 1u);
  EXPECT_EQ(audit.events[0].action, "live.update");
  EXPECT_EQ(audit.events[0].container_id, "c1");
  EXPECT_EQ(audit.events[0].from_version, 1u);
  EXPECT_EQ(audit.events[0].to_version, 2u);
  EXPECT_EQ(audit.nodes[0], "node1");
  EXPECT_NE(metrics.Render(0).find("ocisecrets_live_updates_total{result=\"refreshed\"} 1"),
            std::string::npos);
}

TEST_F(LiveUpdaterTest, AnUnchangedGrantRunsNoRefresh) {
  Change({"svc"});
  EXPECT_EQ(uplink.renewed.size(), 2u);
  EXPECT_TRUE(refresher.plans.empty());
  EXPECT_TRUE(audit.events.empty());
}

TEST_F(LiveUpdaterTest, ASecretTakenAwayIsAuditedAsLiveRevoke) {
  uplink.grants["c1"] = GrantOf("c1", {});
  uplink.grants["c1"].revoked = {"db"};
  Change({"s1"});
  ASSERT_EQ(refresher.plans.size(), 1u);
  EXPECT_TRUE(refresher.plans[0].files.empty());
  ASSERT_EQ(audit.events.size(), 1u);
  EXPECT_EQ(audit.events[0].action, "live.revoke");
  EXPECT_EQ(audit.events[0].id, "s1");
  EXPECT_EQ(audit.events[0].from_version, 1u);
}

TEST_F(LiveUpdaterTest, ASkippedContainerIsUntrackedAndItsLeaseEnded) {
  uplink.grants["c1"] = GrantOf("c1", {File("db", "s1", 2)});
  refresher.outcome = {RefreshOutcome::Kind::kSkipped, "skipped: process 101 is gone"};
  Change({"s1"});
  EXPECT_FALSE(tracker.Find("c1").has_value());
  EXPECT_EQ(uplink.ended, std::vector<std::string>{"c1"});
}

TEST_F(LiveUpdaterTest, AFailedRefreshIsRetriedWithBackoffAndLoggedOnce) {
  uplink.grants["c1"] = GrantOf("c1", {File("db", "s1", 2)});
  refresher.outcome = {RefreshOutcome::Kind::kFailed, "oci-secrets-hook: refresh: mount: EPERM"};
  Change({"s1"});
  ASSERT_EQ(refresher.plans.size(), 1u);
  updater->Tick();  // not due yet
  EXPECT_EQ(refresher.plans.size(), 1u);
  now += std::chrono::seconds(1);
  updater->Tick();
  EXPECT_EQ(refresher.plans.size(), 2u);
  now += std::chrono::seconds(1);  // the backoff doubled: 2 s
  updater->Tick();
  EXPECT_EQ(refresher.plans.size(), 2u);
  refresher.outcome = {RefreshOutcome::Kind::kRefreshed, "refreshed files=1"};
  now += std::chrono::seconds(1);
  updater->Tick();
  EXPECT_EQ(refresher.plans.size(), 3u);
  EXPECT_EQ(tracker.Find("c1")->files[0].version, 2u);
  int failures = 0;
  for (const auto& l : logs) failures += l.find("mount: EPERM") != std::string::npos;
  EXPECT_EQ(failures, 1);
}

TEST_F(LiveUpdaterTest, RefreshAtRenewsTheLeaseAtThatTime) {
  LeaseGrant overlap = GrantOf("c1", {File("db", "s1", 2), File("db.previous", "s1", 1)});
  overlap.files[1].previous = true;
  overlap.refresh_at = now + std::chrono::seconds(30);
  uplink.grants["c1"] = overlap;
  Change({"s1"});
  ASSERT_EQ(refresher.plans.size(), 1u);
  uplink.grants["c1"] = GrantOf("c1", {File("db", "s1", 2)});
  updater->Tick();
  EXPECT_EQ(refresher.plans.size(), 1u);
  now += std::chrono::seconds(30);
  updater->Tick();
  ASSERT_EQ(refresher.plans.size(), 2u);
  EXPECT_EQ(refresher.plans[1].files.size(), 1u);
  EXPECT_EQ(tracker.Find("c1")->refresh_at, TimePoint{});
}

TEST_F(LiveUpdaterTest, AContainerWhosePidIsGoneOrReusedIsUntracked) {
  gone.insert(101);
  updater->CheckLiveness();
  EXPECT_FALSE(tracker.Find("c1").has_value());
  EXPECT_TRUE(tracker.Find("c2").has_value());
  EXPECT_EQ(uplink.ended, std::vector<std::string>{"c1"});
}

}  // namespace
}  // namespace ocisecrets
