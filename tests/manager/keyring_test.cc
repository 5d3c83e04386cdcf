#include "manager/store/keyring.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "manager/store/sqlite_kv_store.h"
#include "manager/store/state_dir.h"
#include "tests/manager/store_test_util.h"
#include "tests/testing/requirements.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

using testing_util::TempDir;

std::string ToString(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

// A store and keyring in a fresh temp dir.
class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqliteKvStore>> kv = SqliteKvStore::Open(tmp_.File("store.db"));
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    kv_ = std::move(*kv);
    Result<std::unique_ptr<Keyring>> ring = Keyring::Open(tmp_.File("root.key"), *kv_);
    ASSERT_TRUE(ring.ok()) << ring.status().ToString();
    ring_ = std::move(*ring);
  }

  std::string SealOrDie(std::string_view record_key, std::string_view id, std::uint64_t version,
                        std::string_view payload) {
    Result<std::string> sealed = ring_->SealPayload(record_key, id, version, AsBytes(payload));
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return sealed.ok() ? *sealed : std::string();
  }

  TempDir tmp_;
  std::unique_ptr<SqliteKvStore> kv_;
  std::unique_ptr<Keyring> ring_;
};

TEST_F(KeyringTest, FirstStartMakesARootKeyAndTermOne) {
  struct stat st {};
  ASSERT_EQ(stat(tmp_.File("root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(ring_->current_term(), 1u);
  Result<std::vector<KeyValue>> records = kv_->Range(std::string(kKeyringPrefix));
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].key, "keyring/terms/0000000001");
  EXPECT_EQ(access(tmp_.File("root.key.tmp").c_str(), F_OK), -1) << "no temp file left";
}

TEST_F(KeyringTest, RootKeyIsReadBackUnchanged) {
  std::string before = testing_util::ReadFileBytes(tmp_.File("root.key"));
  Result<KeyBytes> key = LoadOrCreateRootKey(tmp_.File("root.key"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(std::string(key->begin(), key->end()), before);
}

TEST_F(KeyringTest, PayloadRoundTrip) {
  std::string sealed = SealOrDie("secrets/abc", "abc", 3, "mysecretpassword");
  EXPECT_EQ(sealed.find("mysecretpassword"), std::string::npos);
  Result<SecretBytes> plain = ring_->OpenPayload("secrets/abc", "abc", 3, sealed);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(ToString(*plain), "mysecretpassword");
  EXPECT_EQ(*Keyring::TermOf(sealed), 1u);
}

TEST_F(KeyringTest, PayloadsStillOpenAfterRestart) {
  std::string sealed = SealOrDie("secrets/abc", "abc", 1, "persisted");
  ring_.reset();
  kv_.reset();
  Result<std::unique_ptr<SqliteKvStore>> kv = SqliteKvStore::Open(tmp_.File("store.db"));
  ASSERT_TRUE(kv.ok());
  Result<std::unique_ptr<Keyring>> ring = Keyring::Open(tmp_.File("root.key"), **kv);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ((*ring)->current_term(), 1u) << "a restart makes no new term";
  Result<SecretBytes> plain = (*ring)->OpenPayload("secrets/abc", "abc", 1, sealed);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(ToString(*plain), "persisted");
}

TEST_F(KeyringTest, EveryFlippedBitOfASealedPayloadIsDataLoss) {
  std::string sealed = SealOrDie("secrets/abc", "abc", 1, "tamper");
  for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    std::string bad = sealed;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    Result<SecretBytes> r = ring_->OpenPayload("secrets/abc", "abc", 1, bad);
    ASSERT_FALSE(r.ok()) << "bit " << bit;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << "bit " << bit << ": "
                                                         << r.status().ToString();
  }
}

// Opens reuse the record key derived by an earlier open: that must change nothing about
// what opens and what is refused.
TEST_F(KeyringTest, APayloadOpenedBeforeStillRefusesEveryFlippedBit) {
  std::string sealed = SealOrDie("secrets/abc", "abc", 1, "warm");
  ASSERT_TRUE(ring_->OpenPayload("secrets/abc", "abc", 1, sealed).ok());
  for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    std::string bad = sealed;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    Result<SecretBytes> r = ring_->OpenPayload("secrets/abc", "abc", 1, bad);
    ASSERT_FALSE(r.ok()) << "bit " << bit;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << "bit " << bit;
  }
  EXPECT_TRUE(IsError(ring_->OpenPayload("secrets/abd", "abc", 1, sealed), StatusCode::kDataLoss,
                      "authentication failed"))
      << "moved record";
  Result<SecretBytes> again = ring_->OpenPayload("secrets/abc", "abc", 1, sealed);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ToString(*again), "warm");
}

TEST_F(KeyringTest, MorePayloadsThanCachedKeysAllOpenTwice) {
  std::vector<std::string> sealed;
  for (int i = 0; i < 1500; ++i) {
    std::string id = "id" + std::to_string(i);
    sealed.push_back(SealOrDie("payloads/" + id, id, 1, "payload " + std::to_string(i)));
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 1500; ++i) {
      std::string id = "id" + std::to_string(i);
      Result<SecretBytes> r = ring_->OpenPayload("payloads/" + id, id, 1, sealed[i]);
      ASSERT_TRUE(r.ok()) << "round " << round << " payload " << i << ": " << r.status().ToString();
      ASSERT_EQ(ToString(*r), "payload " + std::to_string(i));
    }
  }
}

TEST_F(KeyringTest, TruncatedOrEmptyPayloadIsDataLoss) {
  std::string sealed = SealOrDie("secrets/abc", "abc", 1, "x");
  for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{5}, sealed.size() - 1}) {
    EXPECT_EQ(ring_->OpenPayload("secrets/abc", "abc", 1, sealed.substr(0, len)).status().code(),
              StatusCode::kDataLoss)
        << "length " << len;
  }
}

TEST_F(KeyringTest, APayloadMovedToAnotherRecordDoesNotOpen) {
  std::string sealed = SealOrDie("secrets/abc", "abc", 2, "bound");
  struct Case {
    const char* description;
    std::string record_key;
    std::string id;
    std::uint64_t version;
  };
  std::vector<Case> cases = {
      {"another record key", "secrets/abd", "abc", 2},
      {"another secret ID", "secrets/abc", "abd", 2},
      {"an older version", "secrets/abc", "abc", 1},
      {"a newer version", "secrets/abc", "abc", 3},
      {"fields shifted between key and ID", "secrets/ab", "cabc", 2},
  };
  for (const Case& c : cases) {
    Result<SecretBytes> r = ring_->OpenPayload(c.record_key, c.id, c.version, sealed);
    ASSERT_FALSE(r.ok()) << c.description;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << c.description;
  }
}

TEST_F(KeyringTest, AWrongRootKeyCannotOpenTheKeyring) {
  Result<KeyBytes> other = RandomKey();
  ASSERT_TRUE(other.ok());
  Result<std::unique_ptr<Keyring>> ring = Keyring::Open(std::move(*other), *kv_);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(ring.status().message().find("wrong root.key"), std::string::npos)
      << ring.status().message();
  EXPECT_EQ(kv_->Range(std::string(kKeyringPrefix))->size(), 1u) << "refusal changed nothing";
}

TEST_F(KeyringTest, AKeyringRecordMovedToAnotherTermDoesNotOpen) {
  ASSERT_EQ(*ring_->Rotate(), 2u);
  Result<KeyValue> term1 = kv_->Get("keyring/terms/0000000001");
  Result<KeyValue> term2 = kv_->Get("keyring/terms/0000000002");
  ASSERT_TRUE(term1.ok() && term2.ok());
  Txn swap;
  swap.ops = {{Op::Kind::kPut, term2->key, term1->value}};
  ASSERT_TRUE(kv_->Commit(swap)->succeeded);
  Result<std::unique_ptr<Keyring>> ring = Keyring::Open(tmp_.File("root.key"), *kv_);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), StatusCode::kDataLoss);
}

TEST_F(KeyringTest, RotateAddsATermAndOldPayloadsStillOpen) {
  std::string old_sealed = SealOrDie("secrets/a", "a", 1, "old");
  Result<std::uint32_t> term = ring_->Rotate();
  ASSERT_TRUE(term.ok()) << term.status().ToString();
  EXPECT_EQ(*term, 2u);
  EXPECT_EQ(ring_->current_term(), 2u);
  std::string new_sealed = SealOrDie("secrets/b", "b", 1, "new");
  EXPECT_EQ(*Keyring::TermOf(old_sealed), 1u);
  EXPECT_EQ(*Keyring::TermOf(new_sealed), 2u);
  EXPECT_EQ(ToString(*ring_->OpenPayload("secrets/a", "a", 1, old_sealed)), "old");
  EXPECT_EQ(ToString(*ring_->OpenPayload("secrets/b", "b", 1, new_sealed)), "new");

  Result<std::unique_ptr<Keyring>> reopened = Keyring::Open(tmp_.File("root.key"), *kv_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->current_term(), 2u);
  EXPECT_EQ(ToString(*(*reopened)->OpenPayload("secrets/a", "a", 1, old_sealed)), "old");
}

TEST_F(KeyringTest, ResealMovesAnOldPayloadToTheCurrentTerm) {
  std::string old_sealed = SealOrDie("secrets/a", "a", 4, "rewrap me");
  Result<std::optional<std::string>> same = ring_->Reseal("secrets/a", "a", 4, old_sealed);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_FALSE(same->has_value()) << "already on the current term";

  ASSERT_EQ(*ring_->Rotate(), 2u);
  Result<std::optional<std::string>> moved = ring_->Reseal("secrets/a", "a", 4, old_sealed);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  ASSERT_TRUE(moved->has_value());
  EXPECT_EQ(*Keyring::TermOf(**moved), 2u);
  EXPECT_EQ(ToString(*ring_->OpenPayload("secrets/a", "a", 4, **moved)), "rewrap me");
  EXPECT_EQ(ring_->OpenPayload("secrets/b", "a", 4, **moved).status().code(),
            StatusCode::kDataLoss) << "still bound to its record";
  EXPECT_EQ(ring_->Reseal("secrets/b", "a", 4, old_sealed).status().code(),
            StatusCode::kDataLoss) << "a moved blob is not laundered by a reseal";
}

TEST_F(KeyringTest, AnotherManagersRotationIsPickedUpOnOpen) {
  // Two keyrings on one store stand for two managers sharing etcd.
  Result<std::unique_ptr<Keyring>> other = Keyring::Open(tmp_.File("root.key"), *kv_);
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(*(*other)->Rotate(), 2u);
  std::string sealed = (*(*other)->SealPayload("secrets/a", "a", 1, AsBytes("from other")));
  EXPECT_EQ(ring_->current_term(), 1u);
  Result<SecretBytes> plain = ring_->OpenPayload("secrets/a", "a", 1, sealed);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(ToString(*plain), "from other");
  EXPECT_EQ(ring_->current_term(), 2u);
}

TEST_F(KeyringTest, APayloadOfAnUnknownTermIsDataLoss) {
  std::string sealed = SealOrDie("secrets/a", "a", 1, "x");
  sealed[4] = 9;  // term 9 does not exist
  Result<SecretBytes> r = ring_->OpenPayload("secrets/a", "a", 1, sealed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("unknown keyring term 9"), std::string::npos)
      << r.status().message();
}

TEST_F(KeyringTest, ALockedKeyringRefusesEveryUseUntilUnlocked) {
  const std::string sealed = SealOrDie("payloads/a", "a", 1, "before the lock");
  std::unique_ptr<Keyring> locked = Keyring::Locked(*kv_);
  EXPECT_TRUE(locked->locked());
  EXPECT_EQ(locked->current_term(), 0u);
  EXPECT_TRUE(IsError(locked->OpenPayload("payloads/a", "a", 1, sealed), StatusCode::kUnavailable, "the keyring is locked"));
  EXPECT_TRUE(IsError(locked->SealPayload("payloads/a", "a", 1, AsBytes(std::string_view("x"))), StatusCode::kUnavailable, "the keyring is locked"));
  EXPECT_TRUE(IsError(locked->Rotate(), StatusCode::kUnavailable, "the keyring is locked"));
  EXPECT_TRUE(IsError(locked->RootKey(), StatusCode::kUnavailable, "the keyring is locked"));

  Result<KeyBytes> wrong = RandomKey();
  ASSERT_TRUE(wrong.ok());
  EXPECT_TRUE(IsError(locked->Unlock(std::move(*wrong)), StatusCode::kDataLoss, "wrong root.key"));
  EXPECT_TRUE(locked->locked()) << "a wrong key leaves it locked";

  Result<KeyBytes> root = ring_->RootKey();
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(locked->Unlock(KeyBytes(root->begin(), root->end())).ok());
  EXPECT_FALSE(locked->locked());
  EXPECT_EQ(locked->current_term(), 1u);
  Result<SecretBytes> plain = locked->OpenPayload("payloads/a", "a", 1, sealed);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(ToString(*plain), "before the lock");
  EXPECT_TRUE(IsError(locked->Unlock(std::move(*root)), StatusCode::kFailedPrecondition, "already unlocked"));
}

TEST(LockedKeyringTest, UnlockOnAnEmptyStoreMakesTermOne) {
  TempDir tmp;
  Result<std::unique_ptr<SqliteKvStore>> kv = SqliteKvStore::Open(tmp.File("store.db"));
  ASSERT_TRUE(kv.ok());
  std::unique_ptr<Keyring> ring = Keyring::Locked(**kv);
  Result<KeyBytes> root = RandomKey();
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(ring->Unlock(std::move(*root)).ok());
  EXPECT_EQ(ring->current_term(), 1u);
  EXPECT_EQ((*kv)->Range(std::string(kKeyringPrefix))->size(), 1u);
}

TEST(RootKeyTest, RefusesUnsafeOrDamagedRootKeys) {
  struct Case {
    const char* description;
    std::string content;
    mode_t mode;
    const char* want;  // in the message
  };
  std::vector<Case> cases = {
      {"group-readable", std::string(32, 'k'), 0640, "chmod 0600"},
      {"world-readable", std::string(32, 'k'), 0604, "chmod 0600"},
      {"group-writable", std::string(32, 'k'), 0620, "chmod 0600"},
      {"too short", std::string(31, 'k'), 0600, "31 bytes, want 32"},
      {"too long", std::string(33, 'k'), 0600, "33 bytes, want 32"},
      {"empty", "", 0600, "0 bytes, want 32"},
  };
  for (const Case& c : cases) {
    TempDir tmp;
    std::string path = tmp.File("root.key");
    testing_util::WriteFileBytes(path, c.content, c.mode);
    Result<KeyBytes> key = LoadOrCreateRootKey(path);
    ASSERT_FALSE(key.ok()) << c.description;
    EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition) << c.description;
    EXPECT_NE(key.status().message().find(c.want), std::string::npos)
        << c.description << ": " << key.status().message();
    EXPECT_EQ(testing_util::ReadFileBytes(path), c.content) << c.description << ": unchanged";
  }
}

TEST(RootKeyTest, RefusesASymlinkAndADirectory) {
  TempDir tmp;
  testing_util::WriteFileBytes(tmp.File("real.key"), std::string(32, 'k'), 0600);
  ASSERT_EQ(symlink(tmp.File("real.key").c_str(), tmp.File("link.key").c_str()), 0);
  Result<KeyBytes> link = LoadOrCreateRootKey(tmp.File("link.key"));
  ASSERT_TRUE(IsError(link, StatusCode::kFailedPrecondition, "symlink"));
  ASSERT_EQ(mkdir(tmp.File("dir.key").c_str(), 0700), 0);
  Result<KeyBytes> dir = LoadOrCreateRootKey(tmp.File("dir.key"));
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kFailedPrecondition);
}

TEST(RootKeyTest, RefusesARootKeyOwnedBySomeoneElse) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("chown"));
  TempDir tmp;
  std::string path = tmp.File("root.key");
  testing_util::WriteFileBytes(path, std::string(32, 'k'), 0600);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  Result<KeyBytes> key = LoadOrCreateRootKey(path);
  ASSERT_TRUE(IsError(key, StatusCode::kFailedPrecondition, "owned by uid 65534"));
}

TEST(RootKeyTest, ReplacesAStaleTempFileFromACrash) {
  TempDir tmp;
  testing_util::WriteFileBytes(tmp.File("root.key.tmp"), "half", 0600);
  Result<KeyBytes> key = LoadOrCreateRootKey(tmp.File("root.key"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->size(), 32u);
  EXPECT_EQ(access(tmp.File("root.key.tmp").c_str(), F_OK), -1);
}

// The issue's acceptance check: a payload written through keyring + store is nowhere in
// the state dir in plaintext: not in the database, not in the WAL, not in the shm file.
TEST(EncryptionAtRestTest, NoPayloadByteInPlaintextAnywhereInTheStateDir) {
  TempDir tmp;
  const std::string marker = "OCI-SECRETS-PLAINTEXT-MARKER-7f3a9c";
  std::string state = tmp.File("state");
  auto grep_state_dir = [&](const char* when) {
    DIR* d = opendir(state.c_str());
    ASSERT_NE(d, nullptr);
    int files = 0;
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string bytes = testing_util::ReadFileBytes(state + "/" + name);
      ++files;
      EXPECT_EQ(bytes.find(marker), std::string::npos) << when << ": marker found in " << name;
      // Also no 16-byte window of it (a partial leak).
      EXPECT_EQ(bytes.find(marker.substr(10, 16)), std::string::npos) << when << ": " << name;
    }
    closedir(d);
    EXPECT_GE(files, 3) << when;
  };

  Result<std::unique_ptr<StateDir>> dir = StateDir::Open(state);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  Result<std::unique_ptr<SqliteKvStore>> kv = SqliteKvStore::Open((*dir)->File("store.db"));
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  Result<std::unique_ptr<Keyring>> ring =
      Keyring::Open((*dir)->File(kRootKeyFileName), **kv);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  for (int i = 0; i < 50; ++i) {
    std::string id = NewObjectId();
    std::string key = "secrets/" + id;
    std::string payload = marker + " #" + std::to_string(i);
    Result<std::string> sealed = (*ring)->SealPayload(key, id, 1, AsBytes(payload));
    ASSERT_TRUE(sealed.ok());
    Txn txn;
    txn.compares = {{key, 0}};
    txn.ops = {{Op::Kind::kPut, key, *sealed}};
    ASSERT_TRUE((*kv)->Commit(txn)->succeeded);
    // Overwrite and delete some, so freed pages exist too.
    if (i % 5 == 0) {
      Txn del;
      del.ops = {{Op::Kind::kDelete, key, ""}};
      ASSERT_TRUE((*kv)->Commit(del)->succeeded);
    }
  }
  ASSERT_EQ(access((*dir)->File("store.db-wal").c_str(), F_OK), 0) << "WAL exists while open";
  grep_state_dir("while open");
  ring->reset();
  kv->reset();
  dir->reset();
  grep_state_dir("after close");
}

TEST_F(KeyringTest, RetireRefusesTheCurrentTermAndAnUnknownOne) {
  EXPECT_TRUE(IsError(ring_->Retire(1), StatusCode::kFailedPrecondition,
                      "cannot retire the current term 1"));
  EXPECT_TRUE(IsError(ring_->Retire(7), StatusCode::kNotFound, "term 7 is not in the keyring"));
  EXPECT_EQ(ring_->terms(), std::vector<std::uint32_t>{1});
  EXPECT_EQ(kv_->Range("keyring/terms/")->size(), 1u) << "a refusal deletes nothing";
}

TEST_F(KeyringTest, ARetiredTermIsGoneFromTheStoreAndItsPayloadsNoLongerOpen) {
  std::string old_sealed = SealOrDie("secrets/a", "a", 1, "old");
  ASSERT_EQ(*ring_->Rotate(), 2u);
  EXPECT_EQ(ring_->terms(), (std::vector<std::uint32_t>{1, 2}));
  ASSERT_TRUE(ring_->Retire(1).ok());
  EXPECT_EQ(ring_->terms(), std::vector<std::uint32_t>{2});
  EXPECT_TRUE(IsError(kv_->Get("keyring/terms/0000000001"), StatusCode::kNotFound, ""));
  EXPECT_TRUE(IsError(ring_->OpenPayload("secrets/a", "a", 1, old_sealed), StatusCode::kDataLoss,
                      "unknown keyring term 1"));
}

TEST_F(KeyringTest, RefreshSeesATermAnotherKeyringMade) {
  Result<KeyBytes> root = ring_->RootKey();
  ASSERT_TRUE(root.ok());
  Result<std::unique_ptr<Keyring>> other = Keyring::Open(std::move(*root), *kv_);
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(*(*other)->Rotate(), 2u);
  EXPECT_EQ(ring_->current_term(), 1u);
  ASSERT_TRUE(ring_->Refresh().ok());
  EXPECT_EQ(ring_->current_term(), 2u);
  EXPECT_TRUE(Keyring::Locked(*kv_)->Refresh().ok()) << "a locked keyring has nothing to read";
}

}  // namespace
}  // namespace ocisecrets
