#include "manager/migrate/migration.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "tests/manager/migrate/migrate_test_util.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;
using ::ocisecrets::testing::TempDir;
using ::ocisecrets::testing::WithIds;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every record of store but leases/, by key: value and mod_revision.
std::map<std::string, std::pair<std::string, std::int64_t>> Records(KvStore& store) {
  std::map<std::string, std::pair<std::string, std::int64_t>> out;
  auto all = store.Range("");
  EXPECT_TRUE(all.ok()) << all.status().message();
  if (!all.ok()) return out;
  for (const KeyValue& kv : *all) {
    if (!kv.key.starts_with("leases/")) out[kv.key] = {kv.value, kv.mod_revision};
  }
  return out;
}

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = RandomKey();
    ASSERT_TRUE(key.ok());
    root_ = *key;
    ::ocisecrets::testing::SeedStore(dir_ / "source.db", root_);
  }

  std::unique_ptr<SqliteKvStore> Open(const std::string& name) {
    auto store = SqliteKvStore::Open(dir_ / name);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }

  Result<MigrationReport> Run(KvStore* from, KvStore* to,
                              std::function<Status(const MigrationProgress&)> progress = {}) {
    MigrateOptions options;
    options.from = from;
    options.to = to;
    options.root_key = root_;
    options.progress = std::move(progress);
    options.progress_interval = std::chrono::milliseconds(0);
    return Migrate(options);
  }

  TempDir dir_;
  KeyBytes root_;
};

TEST_F(MigrationTest, CopiesEveryRecordButLeasesAtItsSourceRevision) {
  auto from = Open("source.db");
  auto to = Open("dest.db");
  auto report = Run(from.get(), to.get());
  ASSERT_TRUE(report.ok()) << report.status().message();

  auto want = Records(*from);
  EXPECT_EQ(Records(*to), want) << "same keys, values and mod_revisions";
  EXPECT_FALSE(to->Range("leases/")->size() > 0) << "leases are runtime state";
  EXPECT_TRUE(IsError(to->Get(kMigratePadKey), StatusCode::kNotFound, ""))
      << "the scratch key is gone";
  EXPECT_EQ(report->records, want.size());
  EXPECT_EQ(report->secrets, 12u);
  EXPECT_EQ(report->services, 1u);
  EXPECT_EQ(report->key_terms, 1u);
  EXPECT_EQ(report->resumed, 0u);
  EXPECT_GT(report->padding_txns, 0u) << "the removal and the lease left revisions to pad";

  // The copy serves: a keyring opens on it and a lease gets the payloads.
  auto ring = Keyring::Open(root_, *to);
  ASSERT_TRUE(ring.ok()) << ring.status().message();
  KeyringSealer sealer(ring->get());
  Registry copy(to.get(), &sealer, WithIds());
  auto secret = copy.InspectSecret("s4");
  auto original = Registry(from.get(), &sealer, WithIds()).InspectSecret("s4");
  ASSERT_TRUE(secret.ok() && original.ok());
  EXPECT_EQ(secret->version, original->version) << "Version.Index kept";
  auto lease = copy.Lease({"c2", "web"});
  ASSERT_TRUE(lease.ok()) << lease.status().message();
}

// A rotated secret's payload record payloads/ID.2 is copied and opens on the copy.
TEST_F(MigrationTest, CopiesARotatedSecretsPayloadsSoALeaseGetsTheNewValue) {
  auto from = Open("source.db");
  {
    auto ring = Keyring::Open(root_, *from);
    ASSERT_TRUE(ring.ok()) << ring.status().message();
    KeyringSealer sealer(ring->get());
    Registry source(from.get(), &sealer, WithIds());
    const std::string v2 = "rotated s3";
    auto rotated = source.RotateSecret("s3", SecretBytes(v2.begin(), v2.end()),
                                       std::chrono::seconds(0));
    ASSERT_TRUE(rotated.ok()) << rotated.status().message();
    ASSERT_TRUE(from->Get("payloads/" + rotated->id + ".2").ok());
  }
  auto to = Open("dest.db");
  auto report = Run(from.get(), to.get());
  ASSERT_TRUE(report.ok()) << report.status().message();
  auto ring = Keyring::Open(root_, *to);
  ASSERT_TRUE(ring.ok()) << ring.status().message();
  KeyringSealer sealer(ring->get());
  Registry copy(to.get(), &sealer, WithIds());
  auto lease = copy.Lease({"c2", "web"});
  ASSERT_TRUE(lease.ok()) << lease.status().message();
  bool found = false;
  for (const LeasedFile& f : lease->grant.files) {
    if (f.name != "s3") continue;
    found = true;
    EXPECT_EQ(std::string(f.data.begin(), f.data.end()), "rotated s3");
    EXPECT_EQ(f.version, 2u);
  }
  EXPECT_TRUE(found);
}

TEST_F(MigrationTest, ResumesAfterAnInterruption) {
  auto from = Open("source.db");
  auto to = Open("dest.db");
  std::size_t seen_total = 0;
  auto interrupted = Run(from.get(), to.get(), [&](const MigrationProgress& p) {
    seen_total = p.total;
    if (p.done > p.total / 2) return Status::Unavailable("stopped by the test");
    return Status::Ok();
  });
  EXPECT_TRUE(IsError(interrupted, StatusCode::kUnavailable, "interrupted: stopped by the test"));
  std::size_t partial = Records(*to).size();
  ASSERT_GT(partial, 0u);
  ASSERT_LT(partial, seen_total);

  auto resumed = Run(from.get(), to.get());
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(Records(*to), Records(*from));
  EXPECT_GT(resumed->resumed, 0u);
  EXPECT_LT(resumed->resumed, resumed->records);

  auto again = Run(from.get(), to.get());
  ASSERT_TRUE(again.ok()) << "a finished copy re-run: " << again.status().message();
  EXPECT_EQ(again->resumed, again->records);
}

TEST_F(MigrationTest, RefusesADestinationHoldingSomethingElse) {
  auto from = Open("source.db");
  auto to = Open("dest.db");
  Txn foreign;
  foreign.ops.push_back({Op::Kind::kPut, "secrets/foreign", "{}"});
  ASSERT_TRUE(to->Commit(foreign).ok());
  EXPECT_TRUE(IsError(Run(from.get(), to.get()), StatusCode::kFailedPrecondition,
                      "neither empty nor an earlier migration of this source: secrets/foreign is not in the source"));
  EXPECT_EQ(Records(*to).size(), 1u) << "nothing written";
}

TEST_F(MigrationTest, RefusesACopyThatDiffersFromTheSource) {
  auto from = Open("source.db");
  auto to = Open("dest.db");
  ASSERT_TRUE(Run(from.get(), to.get()).ok());
  auto term = to->Range("keyring/terms/");
  ASSERT_TRUE(term.ok() && term->size() == 1);
  Txn edit;
  edit.ops.push_back({Op::Kind::kPut, (*term)[0].key, "changed"});
  ASSERT_TRUE(to->Commit(edit).ok());
  EXPECT_TRUE(IsError(Run(from.get(), to.get()), StatusCode::kFailedPrecondition,
                      (*term)[0].key + " holds another value"));
}

TEST_F(MigrationTest, LeavesTheSourceFileUnchanged) {
  const std::string before = ReadBytes(dir_ / "source.db");
  ASSERT_FALSE(before.empty());
  {
    auto from = Open("source.db");
    auto to = Open("dest.db");
    ASSERT_TRUE(Run(from.get(), to.get()).ok());
  }
  EXPECT_TRUE(ReadBytes(dir_ / "source.db") == before) << "byte for byte";
}

TEST_F(MigrationTest, RefusesAnAutolockedSource) {
  auto from = Open("source.db");
  Txn lock;
  lock.ops.push_back({Op::Kind::kPut, "keyring/root", R"({"Wrapped":"AAAA"})"});
  ASSERT_TRUE(from->Commit(lock).ok());
  auto to = Open("dest.db");
  EXPECT_TRUE(IsError(Run(from.get(), to.get()), StatusCode::kFailedPrecondition,
                      "turn autolock off first: oci-secrets cluster update --autolock=false"));
}

TEST_F(MigrationTest, RefusesAWrongRootKeyBeforeWriting) {
  auto from = Open("source.db");
  auto to = Open("dest.db");
  auto other = RandomKey();
  ASSERT_TRUE(other.ok());
  root_ = *other;
  EXPECT_TRUE(IsError(Run(from.get(), to.get()), StatusCode::kDataLoss, "root key"));
  EXPECT_EQ(*to->Revision(), 0) << "nothing written";
}

TEST_F(MigrationTest, RefusesADestinationPastASecretsRevision) {
  auto from = Open("source.db");
  auto to = Open("dest.db");
  for (int i = 0; i < 8; ++i) {
    Txn t;
    t.ops.push_back({Op::Kind::kPut, "elsewhere", std::to_string(i)});
    ASSERT_TRUE(to->Commit(t).ok());
  }
  Txn clear;
  clear.ops.push_back({Op::Kind::kDelete, "elsewhere", {}});
  ASSERT_TRUE(to->Commit(clear).ok());
  EXPECT_TRUE(IsError(Run(from.get(), to.get()), StatusCode::kFailedPrecondition,
                      "its Version.Index would change"));
}

}  // namespace
}  // namespace ocisecrets
