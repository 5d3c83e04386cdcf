#include "manager/worker/worker_state.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "shared/file_util.h"
#include "shared/pki.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using testing::IsError;
using testing::TempDir;

WorkerIdentity SomeIdentity(std::string cert = "CERT-1") {
  WorkerIdentity id;
  id.cluster_id = "cluster000000000000000001";
  id.node_id = "node00000000000000000001";
  id.managers = {"127.0.0.1:7443", "127.0.0.2:7443"};
  auto key = GenerateKeyPem();
  id.key_pem = *key;
  id.cert_pem = std::move(cert);
  id.ca_pem = "CA";
  return id;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.insert(e.path().filename());
  return out;
}

TEST(WorkerStateTest, LoadWithoutStateIsNotJoined) {
  TempDir dir;
  auto loaded = WorkerState(dir.path()).Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_FALSE(loaded->has_value());
}

TEST(WorkerStateTest, SaveWritesOwnerOnlyFilesAndLoadReadsThemBack) {
  TempDir dir;
  WorkerState state(dir.path());
  WorkerIdentity id = SomeIdentity();
  ASSERT_TRUE(state.Save(id).ok());
  ASSERT_TRUE(state.Save(id).ok());  // again: replaced, no temporary left behind
  EXPECT_EQ(ModeOf(state.dir()), 0700u);
  EXPECT_EQ(Names(state.dir()),
            (std::set<std::string>{"node.key", "node.crt", "ca.pem", "worker.json"}));
  for (const auto& name : Names(state.dir())) EXPECT_EQ(ModeOf(state.dir() + "/" + name), 0600u) << name;
  auto loaded = state.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->node_id, id.node_id);
  EXPECT_EQ((*loaded)->cluster_id, id.cluster_id);
  EXPECT_EQ((*loaded)->managers, id.managers);
  EXPECT_EQ((*loaded)->key_pem, id.key_pem);
  EXPECT_EQ((*loaded)->cert_pem, "CERT-1");
  EXPECT_EQ((*loaded)->ca_pem, "CA");
}

TEST(WorkerStateTest, RefusesAKeyFileOthersCanRead) {
  TempDir dir;
  WorkerState state(dir.path());
  ASSERT_TRUE(state.Save(SomeIdentity()).ok());
  ASSERT_EQ(chmod((state.dir() + "/node.key").c_str(), 0644), 0);
  EXPECT_TRUE(IsError(state.Load(), StatusCode::kFailedPrecondition,
                      "mode 0644 gives group or others access to the key; chmod 0600 it"));
}

TEST(WorkerStateTest, RefusesAKeyFileThatIsASymlink) {
  TempDir dir;
  WorkerState state(dir.path());
  ASSERT_TRUE(state.Save(SomeIdentity()).ok());
  std::string key = state.dir() + "/node.key";
  ASSERT_EQ(rename(key.c_str(), dir.File("elsewhere.key").c_str()), 0);
  ASSERT_EQ(symlink(dir.File("elsewhere.key").c_str(), key.c_str()), 0);
  EXPECT_TRUE(IsError(state.Load(), StatusCode::kFailedPrecondition, "is a symlink; refusing it"));
}

TEST(WorkerStateTest, RefusesAKeyFileOwnedBySomeoneElse) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  TempDir dir;
  WorkerState state(dir.path());
  ASSERT_TRUE(state.Save(SomeIdentity()).ok());
  ASSERT_EQ(chown((state.dir() + "/node.key").c_str(), 65534, 65534), 0);
  EXPECT_TRUE(IsError(state.Load(), StatusCode::kFailedPrecondition, "not by us"));
}

TEST(WorkerStateTest, RenewalInterruptedAfterBothFilesRollsForward) {
  TempDir dir;
  WorkerState state(dir.path());
  ASSERT_TRUE(state.Save(SomeIdentity()).ok());
  WorkerIdentity next = SomeIdentity("CERT-2");
  std::string key(next.key_pem.begin(), next.key_pem.end());
  ASSERT_TRUE(ReplaceFileAtomically(state.dir() + "/node.key.next", key, 0600, geteuid(), getegid()).ok());
  ASSERT_TRUE(ReplaceFileAtomically(state.dir() + "/node.crt.next", "CERT-2", 0600, geteuid(), getegid()).ok());
  auto loaded = state.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->cert_pem, "CERT-2");
  EXPECT_EQ((*loaded)->key_pem, next.key_pem);
  EXPECT_EQ(Names(state.dir()).count("node.crt.next"), 0u);
}

TEST(WorkerStateTest, RenewalInterruptedBeforeTheCertificateKeepsTheOldPair) {
  TempDir dir;
  WorkerState state(dir.path());
  WorkerIdentity old = SomeIdentity();
  ASSERT_TRUE(state.Save(old).ok());
  ASSERT_TRUE(ReplaceFileAtomically(state.dir() + "/node.key.next", "half", 0600, geteuid(), getegid()).ok());
  auto loaded = state.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->key_pem, old.key_pem);
  EXPECT_EQ((*loaded)->cert_pem, "CERT-1");
  EXPECT_EQ(Names(state.dir()).count("node.key.next"), 0u);
}

TEST(WorkerStateTest, SaveCredentialsReplacesKeyAndCertificate) {
  TempDir dir;
  WorkerState state(dir.path());
  ASSERT_TRUE(state.Save(SomeIdentity()).ok());
  WorkerIdentity next = SomeIdentity("CERT-2");
  ASSERT_TRUE(state.SaveCredentials(next.key_pem, "CERT-2").ok());
  auto loaded = state.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->key_pem, next.key_pem);
  EXPECT_EQ((*loaded)->cert_pem, "CERT-2");
  EXPECT_EQ(ModeOf(state.dir() + "/node.key"), 0600u);
}

TEST(WorkerStateTest, LeasesRoundTripAndRemoveForgetsEverything) {
  TempDir dir;
  WorkerState state(dir.path());
  ASSERT_TRUE(state.Save(SomeIdentity()).ok());
  LocalLease l{"c1", "redis", TimePoint(std::chrono::seconds(1000)), TimePoint(std::chrono::seconds(5000))};
  LocalLease pending{"c2", "", {}, {}, true};
  ASSERT_TRUE(state.SaveLeases({l, pending}).ok());
  EXPECT_EQ(ModeOf(state.dir() + "/leases.json"), 0600u);
  auto leases = state.LoadLeases();
  ASSERT_TRUE(leases.ok()) << leases.status().message();
  ASSERT_EQ(leases->size(), 2u);
  EXPECT_EQ((*leases)[0].container_id, "c1");
  EXPECT_EQ((*leases)[0].service, "redis");
  EXPECT_EQ((*leases)[0].expires_at, l.expires_at);
  EXPECT_FALSE((*leases)[0].pending_end);
  EXPECT_TRUE((*leases)[1].pending_end);
  ASSERT_TRUE(state.Remove().ok());
  EXPECT_FALSE(std::filesystem::exists(state.dir()));
  auto loaded = state.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST(WorkerStateTest, RefusesADamagedWorkerFile) {
  TempDir dir;
  WorkerState state(dir.path());
  ASSERT_TRUE(state.Save(SomeIdentity()).ok());
  ASSERT_TRUE(ReplaceFileAtomically(state.dir() + "/worker.json", "{", 0600, geteuid(), getegid()).ok());
  EXPECT_TRUE(IsError(state.Load(), StatusCode::kInvalidArgument, "malformed JSON"));
}

}  // namespace
}  // namespace ocisecrets
