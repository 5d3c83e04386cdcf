#include "shared/unlock_key.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using testing::IsError;

SecretBytes Bytes(std::uint8_t fill) { return SecretBytes(kUnlockKeySize, fill); }

TEST(UnlockKeyTest, FormatsWithPrefixAndFixedWidthAndParsesBack) {
  for (std::uint8_t fill : {0x00, 0x01, 0x7f, 0xff}) {
    auto text = FormatUnlockKey(Bytes(fill));
    ASSERT_TRUE(text.ok()) << text.status().message();
    EXPECT_TRUE(text->starts_with("OCSKEY-1-")) << *text;
    EXPECT_EQ(text->size(), kUnlockKeyTextSize) << "fill " << int{fill};
    auto parsed = ParseUnlockKey(*text);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, Bytes(fill));
  }
}

TEST(UnlockKeyTest, MadeKeysDifferAndRoundTrip) {
  auto a = MakeUnlockKey();
  auto b = MakeUnlockKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), kUnlockKeySize);
  EXPECT_NE(*a, *b);
  auto text = FormatUnlockKey(*a);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*ParseUnlockKey(*text), *a);
}

TEST(UnlockKeyTest, RefusesMalformedTextWithoutRepeatingIt) {
  const std::string good = *FormatUnlockKey(Bytes(0x42));
  std::string typo = good;
  typo[20] = typo[20] == 'a' ? 'b' : 'a';
  std::string upper = good;
  for (std::size_t i = kUnlockKeyPrefix.size(); i < upper.size(); ++i) upper[i] = 'Z';
  const std::string too_large = "OCSKEY-1-" + std::string(kUnlockKeyValueDigits, 'z') + "00";
  struct Case {
    const char* what;
    std::string text;
    const char* words;
  } cases[] = {
      {"empty", "", "invalid unlock key: it must start with OCSKEY-1-"},
      {"a join token", "OCSTKN-1-abc-def", "it must start with OCSKEY-1-"},
      {"another version", "OCSKEY-2-" + good.substr(9), "unknown key version (want OCSKEY-1-)"},
      {"too short", good.substr(0, good.size() - 1), "want 52 characters after OCSKEY-1-, got 51"},
      {"too long", good + "0", "want 52 characters after OCSKEY-1-, got 53"},
      {"a trailing newline", good.substr(0, good.size() - 1) + "\n", "only the characters 0-9"},
      {"upper case", upper, "only the characters 0-9 and a-z"},
      {"more than 256 bits", too_large, "the value is too large"},
      {"a typo", typo, "the check characters do not match"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseUnlockKey(c.text);
    EXPECT_TRUE(IsError(parsed, StatusCode::kInvalidArgument, c.words)) << c.what;
    if (!parsed.ok() && c.text.size() > kUnlockKeyPrefix.size()) {
      EXPECT_EQ(parsed.status().message().find(c.text.substr(kUnlockKeyPrefix.size())),
                std::string::npos)
          << c.what << ": the message repeats the key";
    }
  }
}

TEST(UnlockKeyTest, WrappedRootKeyOpensOnlyWithItsUnlockKey) {
  KeyBytes root(kAeadKeySize, 0x11);
  auto wrapped = WrapRootKey(root, Bytes(1));
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().message();
  EXPECT_EQ(wrapped->find(std::string(root.begin(), root.end())), std::string::npos);
  auto opened = UnwrapRootKey(*wrapped, Bytes(1));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(*opened, root);
  EXPECT_TRUE(IsError(UnwrapRootKey(*wrapped, Bytes(2)), StatusCode::kDataLoss,
                      "the unlock key does not open the root key"));
  std::string altered = *wrapped;
  altered[altered.size() / 2] ^= 1;
  EXPECT_TRUE(IsError(UnwrapRootKey(altered, Bytes(1)), StatusCode::kDataLoss,
                      "the unlock key does not open the root key"));
}

TEST(UnlockKeyTest, RefusesKeysOfTheWrongSize) {
  KeyBytes root(kAeadKeySize, 0x11);
  EXPECT_TRUE(IsError(WrapRootKey(root, SecretBytes(16, 1)), StatusCode::kInvalidArgument,
                      "an unlock key must be 32 bytes, not 16"));
  EXPECT_TRUE(IsError(WrapRootKey(KeyBytes(16, 1), Bytes(1)), StatusCode::kInvalidArgument,
                      "a root key must be 32 bytes"));
  EXPECT_TRUE(IsError(FormatUnlockKey(SecretBytes(31, 1)), StatusCode::kInvalidArgument,
                      "an unlock key must be 32 bytes, not 31"));
}

}  // namespace
}  // namespace ocisecrets
