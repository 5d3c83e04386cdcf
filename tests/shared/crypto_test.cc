#include "shared/crypto.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

std::vector<std::uint8_t> FromHex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

KeyBytes TestKey(std::uint8_t fill) { return KeyBytes(kAeadKeySize, fill); }

TEST(CryptoTest, RandomBytesHasRequestedSizeAndVaries) {
  Result<SecretBytes> a = RandomBytes(32);
  Result<SecretBytes> b = RandomBytes(32);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  Result<SecretBytes> empty = RandomBytes(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(CryptoTest, RandomKeyIs32Bytes) {
  Result<KeyBytes> k = RandomKey();
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->size(), kAeadKeySize);
  EXPECT_NE(*k, KeyBytes(kAeadKeySize, 0));
}

TEST(CryptoTest, ObjectIdsAre25LowercaseBase36AndUnique) {
  std::set<std::string> seen;
  std::set<char> chars;
  for (int i = 0; i < 2000; ++i) {
    std::string id = NewObjectId();
    ASSERT_EQ(id.size(), kObjectIdLength);
    for (char c : id) {
      ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) << id;
      chars.insert(c);
    }
    EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
  // 50,000 draws from 36 symbols: every symbol shows up (a biased generator would not).
  EXPECT_EQ(chars.size(), 36u);
}

TEST(CryptoTest, HkdfMatchesRfc5869TestCase1) {
  std::vector<std::uint8_t> ikm(22, 0x0b);
  std::vector<std::uint8_t> salt = FromHex("000102030405060708090a0b0c");
  std::vector<std::uint8_t> info_bytes = FromHex("f0f1f2f3f4f5f6f7f8f9");
  std::string info(info_bytes.begin(), info_bytes.end());
  Result<KeyBytes> okm = HkdfSha256(ikm, salt, info, 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  std::vector<std::uint8_t> want = FromHex(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  EXPECT_EQ(std::vector<std::uint8_t>(okm->begin(), okm->end()), want);
}

TEST(CryptoTest, HkdfOutputDependsOnSaltAndInfo) {
  KeyBytes ikm = TestKey(7);
  auto a = HkdfSha256(ikm, AsBytes("salt-a"), "info");
  auto b = HkdfSha256(ikm, AsBytes("salt-b"), "info");
  auto c = HkdfSha256(ikm, AsBytes("salt-a"), "other");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->size(), kAeadKeySize);
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(CryptoTest, HkdfRejectsBadArguments) {
  KeyBytes ikm = TestKey(1);
  EXPECT_EQ(HkdfSha256({}, AsBytes("s"), "i").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, AsBytes("s"), "i", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, AsBytes("s"), "i", 255 * 32 + 1).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CryptoTest, OpenMatchesGcmKnownAnswer) {
  // AES-256-GCM, zero key, zero 96-bit IV, 16 zero bytes of plaintext, no AAD
  // (test case 14 of the GCM specification).
  std::vector<std::uint8_t> blob = {kSealFormatV1};
  blob.resize(1 + kAeadNonceSize, 0);
  for (std::uint8_t b : FromHex("cea7403d4d606b6e074ec5d3baf39d18")) blob.push_back(b);
  for (std::uint8_t b : FromHex("d0d1c8a799996bf0265b98b5d48ab919")) blob.push_back(b);
  Result<SecretBytes> plain = Open(TestKey(0), {}, blob);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(*plain, SecretBytes(16, 0));
}

struct RoundTripCase {
  const char* description;
  std::size_t size;
};

class SealRoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(SealRoundTripTest, OpenReturnsWhatWasSealed) {
  Result<SecretBytes> plain = RandomBytes(GetParam().size);
  ASSERT_TRUE(plain.ok());
  KeyBytes key = TestKey(42);
  Result<std::string> blob = Seal(key, AsBytes("record/1"), *plain);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(blob->size(), kSealOverhead + plain->size());
  EXPECT_EQ(static_cast<std::uint8_t>((*blob)[0]), kSealFormatV1);
  Result<SecretBytes> back = Open(key, AsBytes("record/1"), AsBytes(*blob));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *plain);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, SealRoundTripTest,
    ::testing::Values(RoundTripCase{"empty plaintext", 0}, RoundTripCase{"one byte", 1},
                      RoundTripCase{"one block", 16}, RoundTripCase{"odd size", 1001},
                      RoundTripCase{"largest secret payload", 511999}),
    [](const ::testing::TestParamInfo<RoundTripCase>& info) {
      std::string name;
      for (const char* p = info.param.description; *p != '\0'; ++p) {
        if (std::isalnum(static_cast<unsigned char>(*p))) name += *p;
      }
      return name;
    });

TEST(CryptoTest, SealUsesAFreshNonceEachTime) {
  KeyBytes key = TestKey(3);
  auto a = Seal(key, {}, AsBytes("same plaintext"));
  auto b = Seal(key, {}, AsBytes("same plaintext"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find("same plaintext"), std::string::npos);
}

TEST(CryptoTest, EveryFlippedBitIsDetected) {
  KeyBytes key = TestKey(9);
  Result<std::string> blob = Seal(key, AsBytes("aad"), AsBytes("tamper me"));
  ASSERT_TRUE(blob.ok());
  for (std::size_t bit = 0; bit < blob->size() * 8; ++bit) {
    std::string bad = *blob;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    Result<SecretBytes> r = Open(key, AsBytes("aad"), AsBytes(bad));
    ASSERT_FALSE(r.ok()) << "bit " << bit;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << "bit " << bit;
  }
}

TEST(CryptoTest, OpenFailsWithOtherAadOrKey) {
  KeyBytes key = TestKey(9);
  Result<std::string> blob = Seal(key, AsBytes("secrets/a|id|1"), AsBytes("payload"));
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(Open(key, AsBytes("secrets/b|id|1"), AsBytes(*blob)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(Open(key, {}, AsBytes(*blob)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Open(TestKey(10), AsBytes("secrets/a|id|1"), AsBytes(*blob)).status().code(),
            StatusCode::kDataLoss);
}

TEST(CryptoTest, OpenRejectsMalformedBlobs) {
  KeyBytes key = TestKey(9);
  Result<std::string> blob = Seal(key, {}, AsBytes("payload"));
  ASSERT_TRUE(blob.ok());
  struct Case {
    const char* description;
    std::string blob;
  };
  std::string wrong_version = *blob;
  wrong_version[0] = 2;
  std::vector<Case> cases = {
      {"empty", ""},
      {"shorter than the overhead", blob->substr(0, kSealOverhead - 1)},
      {"tag cut off", blob->substr(0, blob->size() - 1)},
      {"unknown format version", wrong_version},
      {"extra trailing byte", *blob + "x"},
  };
  for (const Case& c : cases) {
    Result<SecretBytes> r = Open(key, {}, AsBytes(c.blob));
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << c.description;
  }
}

TEST(CryptoTest, SealAndOpenRejectWrongKeySize) {
  KeyBytes short_key(16, 1);
  EXPECT_EQ(Seal(short_key, {}, AsBytes("x")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Open(short_key, {}, AsBytes(std::string(40, 'x'))).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CryptoTest, ErrorsNeverContainThePlaintext) {
  KeyBytes key = TestKey(9);
  Result<std::string> blob = Seal(key, {}, AsBytes("very-secret-marker"));
  ASSERT_TRUE(blob.ok());
  Result<SecretBytes> r = Open(TestKey(8), {}, AsBytes(*blob));
  ASSERT_TRUE(IsError(r, StatusCode::kDataLoss, "authentication failed"));
  EXPECT_EQ(r.status().message().find("very-secret-marker"), std::string::npos);
}

// The secure heap needs locked memory (mlock within RLIMIT_MEMLOCK, or CAP_IPC_LOCK) that
// the machine's limits may refuse; the daemon runs on without it by design (KeyBytes then
// fall back to the ordinary heap), so its absence is the environment's, not a defect.
TEST(CryptoTest, KeysLiveInTheSecureHeapOnceItIsSetUp) {
  Status s = InitSecureHeap();
  if (!s.ok()) GTEST_SKIP() << "no secure heap here: " << s.ToString();
  EXPECT_TRUE(InitSecureHeap().ok()) << "a second call must be a no-op";
  Result<KeyBytes> key = RandomKey();
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(CRYPTO_secure_allocated(key->data()));
}

TEST(CryptoTest, KeyBytesFallBackToTheOrdinaryHeapWhenTheSecureHeapIsFull) {
  Status s = InitSecureHeap();
  // Kept for the same reason as above: locked memory is the machine's to give.
  if (!s.ok()) GTEST_SKIP() << "no secure heap here: " << s.ToString();
  // Larger than the whole secure heap: must still allocate, outside it.
  KeyBytes big(1 << 20, 0x5a);
  EXPECT_FALSE(CRYPTO_secure_allocated(big.data()));
  EXPECT_EQ(big[(1 << 20) - 1], 0x5a);
  Result<KeyBytes> key = RandomKey();
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(CRYPTO_secure_allocated(key->data())) << "small keys still go to the secure heap";
}

TEST(CryptoTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals(AsBytes("abc"), AsBytes("abc")));
  EXPECT_FALSE(ConstantTimeEquals(AsBytes("abc"), AsBytes("abd")));
  EXPECT_FALSE(ConstantTimeEquals(AsBytes("abc"), AsBytes("ab")));
  EXPECT_TRUE(ConstantTimeEquals({}, {}));
}

}  // namespace
}  // namespace ocisecrets
