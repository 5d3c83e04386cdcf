#include "tests/faults/invariants.h"

#include <gtest/gtest.h>

namespace ocisecrets::faults {
namespace {

const std::string kV1 = "MARK-s-1-xxxxxxxx-END\n";
const std::string kV2 = "MARK-s-2-xxxxxxxx-END\n";

WriteOp Write(WriteKind kind, const std::string& secret, const std::string& payload,
              Outcome outcome, std::uint64_t version, std::int64_t at) {
  WriteOp w = NewWrite(kind, 0, secret, payload);
  w.outcome = outcome;
  w.version = version;
  w.id = kind == WriteKind::kCreate ? "ID-" + secret : "";
  w.start_ms = at;
  w.end_ms = at + 10;
  return w;
}

// A clean history: s created (v1) and rotated (v2), both acknowledged; listed once with
// its ID at version 2; read whole; read back as v2; a container start that succeeded and
// one refused with the hook's line; a node removed with its later lease refused.
History Clean() {
  History h;
  h.writes = {Write(WriteKind::kCreate, "s", kV1, Outcome::kAcked, 1, 100),
              Write(WriteKind::kRotate, "s", kV2, Outcome::kAcked, 2, 200)};
  Listing l;
  l.taken_ms = 300;
  l.ids_by_name["s"] = {"ID-s"};
  l.index_by_name["s"] = 2;
  h.listings = {l};
  h.final_readback = std::map<std::string, std::optional<std::string>>{{"s", kV2}};
  h.reads = {{"c1", "s", kV1, ReadWhen::kStart, 150}, {"c1", "s", kV2, ReadWhen::kRunning, 250}};
  h.starts = {{"c1", 0, "n1", true, "", 120, 900},
              {"c2", 1, "n2", false, "runc: oci-secrets-hook: prestart: lease: cannot reach", 1000, 4000}};
  const TimePoint rm = Clock::now();
  h.removals = {{"n2", rm, 5000}};
  h.leases = {{0, "n2", "ok", "c0", rm - std::chrono::seconds(1)},
              {1, "n2", "denied", "c3", rm + std::chrono::seconds(1)}};
  h.convergence = {{"c1", "s", true, 800, "", 6000}};
  h.payload_scans = 1;
  h.files_scanned = 10;
  return h;
}

TEST(InvariantsTest, ACleanHistoryHoldsEveryInvariant) {
  std::vector<InvariantResult> results = CheckAll(Clean(), CheckOptions{});
  ASSERT_EQ(results.size(), 6u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].name, kInvariantNames[i]);
    EXPECT_TRUE(results[i].held) << results[i].name << ": " << results[i].what;
  }
  EXPECT_EQ(FirstViolated(results), -1);
}

TEST(InvariantsTest, AnAcknowledgedCreateThatIsNotListedIsCaught) {
  History h = Clean();
  h.listings[0].ids_by_name.clear();
  InvariantResult r = CheckAcknowledgedWrites(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("the acknowledged create of s (ID ID-s"), std::string::npos) << r.what;
  EXPECT_NE(r.what.find("is not listed"), std::string::npos) << r.what;
}

TEST(InvariantsTest, ASecretListedTwiceIsCaught) {
  History h = Clean();
  h.listings[0].ids_by_name["s"].push_back("ID-other");
  InvariantResult r = CheckAcknowledgedWrites(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("s is listed 2 times"), std::string::npos) << r.what;
}

TEST(InvariantsTest, AnInspectBehindAnAcknowledgedRotateIsCaught) {
  History h = Clean();
  h.listings[0].index_by_name["s"] = 1;
  InvariantResult r = CheckAcknowledgedWrites(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("data version 1"), std::string::npos) << r.what;
}

TEST(InvariantsTest, AReadBackThatIsNotTheAcknowledgedValueIsCaughtWithoutThePayload) {
  History h = Clean();
  (*h.final_readback)["s"] = kV1;
  InvariantResult r = CheckAcknowledgedWrites(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("s reads back as"), std::string::npos) << r.what;
  EXPECT_EQ(r.what.find("MARK"), std::string::npos) << "no payload in the report: " << r.what;
}

TEST(InvariantsTest, AnIndeterminateWriteMayOrMayNotHaveHappened) {
  History h = Clean();
  const std::string v3 = "MARK-s-3-xxxxxxxx-END\n";
  h.writes.push_back(Write(WriteKind::kRotate, "s", v3, Outcome::kFailed, 0, 260));
  EXPECT_TRUE(CheckAcknowledgedWrites(h).held) << "not applied";
  h.listings[0].index_by_name["s"] = 3;
  (*h.final_readback)["s"] = v3;
  EXPECT_TRUE(CheckAcknowledgedWrites(h).held) << "applied";
}

TEST(InvariantsTest, ARotateKeyThatNeverCompletedIsCaught) {
  History h = Clean();
  h.rotate_keys = {{2, false, "terms [1,2] current 2"}};
  InvariantResult r = CheckAcknowledgedWrites(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("rotate-key to term 2 never completed"), std::string::npos) << r.what;
}

TEST(InvariantsTest, ALeaseGrantedToARemovedNodeIsCaught) {
  History h = Clean();
  h.leases.push_back({1, "n2", "ok", "c9", h.removals[0].returned + std::chrono::milliseconds(40)});
  InvariantResult r = CheckNoLeaseAfterNodeRm(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("manager 1 granted a lease to removed node n2 (container c9) 40 ms"),
            std::string::npos)
      << r.what;
}

TEST(InvariantsTest, APrefixReadIsCaughtAsAPrefix) {
  History h = Clean();
  h.reads.push_back({"c1", "s", kV2.substr(0, 5), ReadWhen::kStart, 400});
  InvariantResult r = CheckWholeReads(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("container c1 read s at its start as 5 bytes, a prefix"), std::string::npos)
      << r.what;
}

TEST(InvariantsTest, AnotherSecretsValueIsCaught) {
  History h = Clean();
  h.writes.push_back(Write(WriteKind::kCreate, "t", "MARK-t-1-END\n", Outcome::kAcked, 1, 50));
  h.listings[0].ids_by_name["t"] = {"ID-t"};
  h.listings[0].index_by_name["t"] = 1;
  h.reads.push_back({"c1", "s", std::string("MARK-t-1-END\n"), ReadWhen::kRunning, 400});
  InvariantResult r = CheckWholeReads(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("the value of another secret (t)"), std::string::npos) << r.what;
}

TEST(InvariantsTest, AFileMissingWhileTheDaemonIsDownIsCaughtButNotWhileTheContainerGoes) {
  History h = Clean();
  h.reads.push_back({"c1", "s", std::nullopt, ReadWhen::kRunning, 400});
  EXPECT_TRUE(CheckWholeReads(h).held);
  h.reads.push_back({"c1", "s", std::nullopt, ReadWhen::kDaemonDown, 500});
  InvariantResult r = CheckWholeReads(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("had no s while its worker's daemon was down"), std::string::npos) << r.what;
}

TEST(InvariantsTest, AContainerThatDidNotConvergeWithinTheBoundIsCaught) {
  History h = Clean();
  h.convergence.push_back({"c1", "s", false, 15100, "an older value", 7000});
  InvariantResult r = CheckConvergence(h, CheckOptions{});
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("container c1 still held s an older value after 15100 ms"),
            std::string::npos)
      << r.what;
}

TEST(InvariantsTest, APayloadFoundAtRestIsCaught) {
  History h = Clean();
  h.payload_hits.push_back({"the log of manager 0", 700});
  InvariantResult r = CheckNoPayloadAtRest(h);
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("a payload of this run in the log of manager 0"), std::string::npos) << r.what;
}

TEST(InvariantsTest, AStartThatHungOrFailedWithoutTheHooksLineIsCaught) {
  History h = Clean();
  h.starts.push_back({"c5", 0, "n1", false, "runc: hook timed out", 2000, 12000});
  InvariantResult r = CheckStartsFailClosed(h, CheckOptions{});
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("the start of c5 on worker 0 took 10000 ms (limit 8000 ms)"),
            std::string::npos)
      << r.what;
  History open = Clean();
  open.starts.push_back({"c6", 0, "n1", false, "runc: exec failed", 2000, 2500});
  r = CheckStartsFailClosed(open, CheckOptions{});
  EXPECT_FALSE(r.held);
  EXPECT_NE(r.what.find("failed without the hook's line: runc: exec failed"), std::string::npos)
      << r.what;
}

TEST(InvariantsTest, TheFirstViolatedIsTheOneWhoseViolationCameFirst) {
  History h = Clean();
  h.payload_hits.push_back({"x", 9000});
  h.reads.push_back({"c1", "s", std::string("junk"), ReadWhen::kRunning, 3000});
  std::vector<InvariantResult> results = CheckAll(h, CheckOptions{});
  EXPECT_EQ(results[FirstViolated(results)].name, "whole-reads");
}

TEST(InvariantsTest, AViolationNamesTheFaultsBeforeIt) {
  History h = Clean();
  FaultWindow w{3, {FaultKind::kWorkerKill, 1}, "worker 1 (n2)", 2000, 5000, 8000};
  h.windows.push_back(w);
  h.reads.push_back({"c1", "s", std::string("junk"), ReadWhen::kDaemonDown, 3000});
  InvariantResult r = CheckWholeReads(h);
  EXPECT_NE(r.what.find("during worker-kill of worker 1 (n2) (step 3, 2.0 s to 5.0 s)"),
            std::string::npos)
      << r.what;
}

}  // namespace
}  // namespace ocisecrets::faults
