#include "shared/base64.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ocisecrets {
namespace {

TEST(Base64Test, RoundTripsEveryLength) {
  for (int n = 0; n < 70; ++n) {
    std::string raw;
    for (int i = 0; i < n; ++i) raw += static_cast<char>(i * 37 + n);
    std::string enc = Base64Encode(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.ok()) << "length " << n;
    EXPECT_EQ(std::string(dec->begin(), dec->end()), raw) << "length " << n;
  }
}

TEST(Base64Test, RejectsGarbage) {
  struct Case {
    const char* description;
    const char* text;
    const char* error;
  } cases[] = {
      {"a length that is not a multiple of 4", "abc", "invalid base64: length"},
      {"padding before the end", "ab=c", "invalid base64: bad character"},
      {"a line break", "a\nbc", "invalid base64: bad character"},
  };
  for (const Case& c : cases) {
    auto r = Base64Decode(c.text);
    ASSERT_FALSE(r.ok()) << c.description;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.description;
    EXPECT_EQ(r.status().message(), c.error) << c.description;
  }
}

TEST(Base64Test, EncodesKnownVectors) {
  // RFC 4648 section 10.
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [raw, want] : cases) {
    std::string r(raw);
    EXPECT_EQ(Base64Encode(reinterpret_cast<const std::uint8_t*>(r.data()), r.size()), want) << raw;
  }
}

TEST(Base64Test, RejectsEveryByteOutsideTheAlphabetAndMisplacedPadding) {
  for (int b = 0; b < 256; ++b) {
    const bool alphabet = std::isalnum(b) != 0 || b == '+' || b == '/';
    std::string text = "QUJD";
    text[1] = static_cast<char>(b);
    EXPECT_EQ(Base64Decode(text).ok(), alphabet) << "byte " << b;
  }
  EXPECT_FALSE(Base64Decode("=AAA").ok());
  EXPECT_FALSE(Base64Decode("A===").ok());
  EXPECT_FALSE(Base64Decode("AA=A").ok());
  EXPECT_FALSE(Base64Decode("AA==AAAA").ok());
  auto two = Base64Decode("QUI=");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(std::string(two->begin(), two->end()), "AB");
}

// A caller sizes its buffer with Base64EncodedSize and writes into it with Base64EncodeTo
// (the lease grant does): exactly that many characters, the same as Base64Encode's.
TEST(Base64Test, EncodeToWritesExactlyTheEncodedSize) {
  for (std::size_t n = 0; n < 20; ++n) {
    std::vector<std::uint8_t> raw(n);
    for (std::size_t i = 0; i < n; ++i) raw[i] = static_cast<std::uint8_t>(i * 53 + 1);
    const std::size_t size = Base64EncodedSize(n);
    std::string buf(size + 2, '#');
    Base64EncodeTo(buf.data() + 1, raw.data(), n);
    EXPECT_EQ(buf.front(), '#') << "length " << n;
    EXPECT_EQ(buf.back(), '#') << "length " << n;
    EXPECT_EQ(buf.substr(1, size), Base64Encode(raw.data(), n)) << "length " << n;
  }
}

TEST(Base64Test, DecodeIntoAgreesWithDecode) {
  const char* cases[] = {"", "QUI=", "QUJD", "Zm9vYmE=", "QU=I", "QUJ", "Q\nJD"};
  for (const char* text : cases) {
    SecretBytes into;
    const bool ok = Base64DecodeInto(text, &into);
    auto decoded = Base64Decode(text);
    ASSERT_EQ(ok, decoded.ok()) << text;
    if (ok) {
      EXPECT_EQ(into, *decoded) << text;
    }
  }
}

}  // namespace
}  // namespace ocisecrets
