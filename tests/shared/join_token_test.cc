#include "shared/join_token.h"

#include <gtest/gtest.h>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

const std::string kDigest(50, 'a');
const std::string kSecret = "0123456789abcdefghijklmno";

TEST(JoinTokenTest, FormatAndParseRoundTrip) {
  std::string text = FormatJoinToken({kDigest, kSecret});
  EXPECT_EQ(text, "OCSTKN-1-" + kDigest + "-" + kSecret);
  auto token = ParseJoinToken(text);
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(token->ca_digest, kDigest);
  EXPECT_EQ(token->secret, kSecret);
}

TEST(JoinTokenTest, RefusesMalformedTokensWithoutRepeatingTheSecret) {
  EXPECT_TRUE(IsError(ParseJoinToken("SWMTKN-1-" + kDigest + "-" + kSecret),
                      StatusCode::kInvalidArgument, "must start with OCSTKN-1-"));
  EXPECT_TRUE(IsError(ParseJoinToken("OCSTKN-2-" + kDigest + "-" + kSecret),
                      StatusCode::kInvalidArgument, "unknown token version"));
  EXPECT_TRUE(IsError(ParseJoinToken("OCSTKN-1-" + kDigest), StatusCode::kInvalidArgument,
                      "missing the secret"));
  EXPECT_TRUE(IsError(ParseJoinToken("OCSTKN-1-" + kDigest.substr(1) + "-" + kSecret),
                      StatusCode::kInvalidArgument, "CA digest must be 50"));
  auto upper = ParseJoinToken("OCSTKN-1-" + kDigest + "-" + std::string(25, 'A'));
  EXPECT_TRUE(IsError(upper, StatusCode::kInvalidArgument, "secret must be 25"));
  EXPECT_EQ(upper.status().message().find("AAAA"), std::string::npos);
  EXPECT_TRUE(IsError(ParseJoinToken("OCSTKN-1-" + kDigest + "-" + kSecret + "x"),
                      StatusCode::kInvalidArgument, "secret must be 25"));
}

}  // namespace
}  // namespace ocisecrets
