#include "manager/cluster/autolock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "manager/store/memory_kv_store.h"
#include "manager/store/sqlite_kv_store.h"
#include "shared/unlock_key.h"
#include "tests/manager/store_test_util.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using testing::IsError;
using testing::TempDir;
using testing_util::ReadFileBytes;

bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// One manager's process: a store (opened from its file, or shared), a keyring that
// starts locked and the Autolock over both. Destroying it is the process stopping.
struct Manager {
  Manager(const TempDir& dir, KvStore* shared = nullptr, std::string key_file = "root.key")
      : root_key_path(dir.File(key_file)) {
    if (shared == nullptr) {
      auto opened = SqliteKvStore::Open(dir.File("store.db"));
      EXPECT_TRUE(opened.ok()) << opened.status().message();
      owned = std::move(*opened);
      shared = owned.get();
    }
    kv = shared;
    keyring = Keyring::Locked(*kv);
    autolock = std::make_unique<Autolock>(kv, keyring.get(), root_key_path);
  }
  bool locked() const { return autolock->locked(); }
  LockReason Start() {
    auto reason = autolock->Start();
    EXPECT_TRUE(reason.ok()) << reason.status().message();
    return reason.ok() ? *reason : LockReason::kLocked;
  }

  std::string root_key_path;
  std::unique_ptr<KvStore> owned;
  KvStore* kv = nullptr;
  std::unique_ptr<Keyring> keyring;
  std::unique_ptr<Autolock> autolock;
};

std::string SealSample(Keyring& keyring) {
  auto sealed = keyring.SealPayload("payloads/s1", "s1", 1, AsBytes("PAYLOAD-MARKER"));
  EXPECT_TRUE(sealed.ok()) << sealed.status().message();
  return sealed.ok() ? *sealed : "";
}

// A manager that started on a new store in dir, sealed a sample payload (*sealed), turned
// autolock on and stopped. Returns the unlock key; *root gets the root key's bytes.
std::string EnableAndStop(const TempDir& dir, std::string* root = nullptr,
                          std::string* sealed = nullptr) {
  Manager m(dir);
  m.Start();
  if (root != nullptr) *root = ReadFileBytes(m.root_key_path);
  if (sealed != nullptr) *sealed = SealSample(*m.keyring);
  auto key = m.autolock->Enable();
  EXPECT_TRUE(key.ok()) << key.status().message();
  return key.ok() ? *key : "";
}

std::string OtherUnlockKey() { return *FormatUnlockKey(SecretBytes(kUnlockKeySize, 0x33)); }

TEST(AutolockTest, NewStoreMakesRootKeyFileAndStartsUnlocked) {
  TempDir dir;
  Manager m(dir);
  EXPECT_EQ(m.Start(), LockReason::kUnlocked);
  EXPECT_FALSE(m.keyring->locked());
  EXPECT_TRUE(Exists(m.root_key_path));
  EXPECT_FALSE(m.autolock->autolock());
  EXPECT_TRUE(IsError(m.autolock->CurrentUnlockKey(), StatusCode::kFailedPrecondition,
                      "autolock is off: run oci-secrets cluster update --autolock=true"));
}

TEST(AutolockTest, EnableDeletesRootKeyFileAndStoresOnlyTheWrappedKey) {
  TempDir dir;
  Manager m(dir);
  m.Start();
  const std::string root = ReadFileBytes(m.root_key_path);
  ASSERT_EQ(root.size(), 32u);
  auto key = m.autolock->Enable();
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_TRUE(key->starts_with("OCSKEY-1-"));
  EXPECT_FALSE(Exists(m.root_key_path));
  EXPECT_TRUE(m.autolock->autolock());
  auto wrapped = m.kv->Get(std::string(kWrappedRootKey));
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().message();
  const SecretBytes unlock = *ParseUnlockKey(*key);
  auto everything = m.kv->Range("");
  ASSERT_TRUE(everything.ok());
  for (const KeyValue& kv : *everything) {
    EXPECT_EQ(kv.value.find(root), std::string::npos) << kv.key << " holds the root key";
    EXPECT_EQ(kv.value.find(*key), std::string::npos) << kv.key << " holds the unlock key";
    EXPECT_EQ(kv.value.find(std::string(unlock.begin(), unlock.end())), std::string::npos)
        << kv.key << " holds the unlock key's bytes";
  }
  EXPECT_EQ(*m.autolock->CurrentUnlockKey(), *key);
  EXPECT_TRUE(IsError(m.autolock->Enable(), StatusCode::kFailedPrecondition,
                      "autolock is already on"));
}

TEST(AutolockTest, RestartIsLockedUntilTheRightKeyUnlocks) {
  TempDir dir;
  std::string sealed;
  const std::string key = EnableAndStop(dir, nullptr, &sealed);
  Manager m(dir);
  EXPECT_EQ(m.Start(), LockReason::kLocked);
  EXPECT_TRUE(m.keyring->locked());
  int ran = 0;
  ASSERT_TRUE(m.autolock->OnUnlocked([&] { ++ran; return Status::Ok(); }).ok());
  EXPECT_EQ(ran, 0);
  EXPECT_TRUE(IsError(m.autolock->CurrentUnlockKey(), StatusCode::kUnavailable,
                      "the manager is locked: run oci-secrets cluster unlock"));

  EXPECT_TRUE(IsError(m.autolock->Unlock(std::string_view(OtherUnlockKey())),
                      StatusCode::kPermissionDenied, "invalid unlock key"));
  EXPECT_TRUE(IsError(m.autolock->Unlock(std::string_view("OCSKEY-1-nope")),
                      StatusCode::kInvalidArgument, "invalid unlock key: want 52 characters"));
  EXPECT_TRUE(m.locked());
  EXPECT_EQ(ran, 0);

  ASSERT_TRUE(m.autolock->Unlock(std::string_view(key)).ok());
  EXPECT_FALSE(m.locked());
  EXPECT_EQ(ran, 1);
  auto opened = m.keyring->OpenPayload("payloads/s1", "s1", 1, sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(std::string(opened->begin(), opened->end()), "PAYLOAD-MARKER");
  EXPECT_FALSE(Exists(m.root_key_path)) << "unlocking must not write the root key file";
  EXPECT_EQ(*m.autolock->CurrentUnlockKey(), key);
  EXPECT_TRUE(IsError(m.autolock->Unlock(std::string_view(key)), StatusCode::kFailedPrecondition,
                      "the manager is not locked"));
  // A callback given once unlocked runs at once.
  ASSERT_TRUE(m.autolock->OnUnlocked([&] { ++ran; return Status::Ok(); }).ok());
  EXPECT_EQ(ran, 2);
}

TEST(AutolockTest, DisableWritesRootKeyFileBack) {
  TempDir dir;
  std::string root;
  {
    Manager m(dir);
    m.Start();
    root = ReadFileBytes(m.root_key_path);
    ASSERT_TRUE(m.autolock->Enable().ok());
    ASSERT_TRUE(m.autolock->Disable().ok());
    EXPECT_EQ(ReadFileBytes(m.root_key_path), root);
    EXPECT_TRUE(IsError(m.kv->Get(std::string(kWrappedRootKey)), StatusCode::kNotFound, ""));
    EXPECT_FALSE(m.autolock->autolock());
    EXPECT_TRUE(IsError(m.autolock->UnlockKey(false), StatusCode::kFailedPrecondition,
                        "autolock is off"));
    EXPECT_TRUE(IsError(m.autolock->Disable(), StatusCode::kFailedPrecondition,
                        "autolock is off"));
  }
  Manager m(dir);
  EXPECT_EQ(m.Start(), LockReason::kUnlocked);
}

TEST(AutolockTest, SetAutolockChangesOnlyWhatDiffers) {
  TempDir dir;
  Manager m(dir);
  m.Start();
  auto off = m.autolock->SetAutolock(false);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->has_value());
  auto on = m.autolock->SetAutolock(true);
  ASSERT_TRUE(on.ok() && on->has_value());
  auto again = m.autolock->SetAutolock(true);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value()) << "no new key when autolock is already on";
  EXPECT_EQ(*m.autolock->CurrentUnlockKey(), **on);
}

TEST(AutolockTest, RotateMakesTheOldKeyUseless) {
  TempDir dir;
  std::string old_key, new_key;
  {
    Manager m(dir);
    m.Start();
    old_key = *m.autolock->Enable();
    auto rotated = m.autolock->UnlockKey(/*rotate=*/true);
    ASSERT_TRUE(rotated.ok()) << rotated.status().message();
    new_key = *rotated;
    EXPECT_NE(new_key, old_key);
    EXPECT_EQ(*m.autolock->CurrentUnlockKey(), new_key);
  }
  Manager m(dir);
  EXPECT_EQ(m.Start(), LockReason::kLocked);
  EXPECT_TRUE(IsError(m.autolock->Unlock(std::string_view(old_key)),
                      StatusCode::kPermissionDenied, "invalid unlock key"));
  EXPECT_TRUE(m.autolock->Unlock(std::string_view(new_key)).ok());
}

TEST(AutolockTest, FollowsAnotherManagerTurningAutolockOnAndOff) {
  TempDir dir;
  InMemoryKvStore store;
  Manager a(dir, &store, "a.key");
  a.Start();
  // b has the same root key in its own file (as after a join).
  ASSERT_TRUE(WriteRootKey(dir.File("b.key"), *a.keyring->RootKey()).ok());
  Manager b(dir, &store, "b.key");
  EXPECT_EQ(b.Start(), LockReason::kUnlocked);

  ASSERT_TRUE(a.autolock->Enable().ok());
  ASSERT_TRUE(b.autolock->Maintain().ok());
  EXPECT_FALSE(Exists(b.root_key_path)) << "autolock on: no manager keeps its root key file";
  EXPECT_TRUE(b.autolock->autolock());
  EXPECT_TRUE(IsError(b.autolock->CurrentUnlockKey(), StatusCode::kFailedPrecondition,
                      "this manager does not know the unlock key"));
  // A rotation on b makes a's key stale there too.
  auto rotated = b.autolock->RotateUnlockKey();
  ASSERT_TRUE(rotated.ok());
  ASSERT_TRUE(a.autolock->Maintain().ok());
  EXPECT_TRUE(IsError(a.autolock->CurrentUnlockKey(), StatusCode::kFailedPrecondition,
                      "does not know the unlock key"));

  ASSERT_TRUE(a.autolock->Disable().ok());
  ASSERT_TRUE(b.autolock->Maintain().ok());
  EXPECT_EQ(ReadFileBytes(b.root_key_path), ReadFileBytes(a.root_key_path));
  EXPECT_FALSE(b.autolock->autolock());
}

TEST(AutolockTest, SharedStoreOfAnotherClusterIsNotJoinedUntilGivenTheRootKey) {
  TempDir dir;
  InMemoryKvStore store;
  Manager first(dir, &store, "first.key");
  first.Start();
  const std::string sealed = SealSample(*first.keyring);

  Manager joiner(dir, &store, "joiner.key");
  EXPECT_EQ(joiner.Start(), LockReason::kNotJoined);
  EXPECT_FALSE(Exists(joiner.root_key_path));
  EXPECT_TRUE(IsError(joiner.autolock->Unlock(std::string_view(OtherUnlockKey())),
                      StatusCode::kFailedPrecondition,
                      "this manager shares a store with a cluster it has not joined"));
  int ran = 0;
  ASSERT_TRUE(joiner.autolock->OnUnlocked([&] { ++ran; return Status::Ok(); }).ok());
  ASSERT_TRUE(joiner.autolock->UnlockWithRootKey(*first.keyring->RootKey()).ok());
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(joiner.locked());
  EXPECT_EQ(ReadFileBytes(joiner.root_key_path), ReadFileBytes(first.root_key_path));
  EXPECT_TRUE(joiner.keyring->OpenPayload("payloads/s1", "s1", 1, sealed).ok());
}

TEST(AutolockTest, SqliteStoreWithAKeyringButNoRootKeyFileRefusesToStart) {
  TempDir dir;
  {
    Manager m(dir);
    m.Start();
  }
  ASSERT_EQ(unlink(dir.File("root.key").c_str()), 0);
  Manager m(dir);
  EXPECT_TRUE(IsError(m.autolock->Start(), StatusCode::kFailedPrecondition,
                      "root.key is missing: restore it from backup"));
  EXPECT_FALSE(Exists(m.root_key_path)) << "no new root key over an existing keyring";
}

TEST(AutolockTest, LeftoverRootKeyFileUnderAutolockIsRemovedAtStart) {
  TempDir dir;
  std::string root;
  EnableAndStop(dir, &root);
  ASSERT_TRUE(WriteRootKey(dir.File("root.key"), AsBytes(root)).ok());  // e.g. a crash
  Manager m(dir);
  EXPECT_EQ(m.Start(), LockReason::kUnlocked);
  EXPECT_FALSE(Exists(m.root_key_path));
  EXPECT_TRUE(m.autolock->autolock());
}

}  // namespace
}  // namespace ocisecrets
