#include "shared/status.h"

#include <gtest/gtest.h>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  ASSIGN_OR_RETURN(int h, Half(v), "first half");
  ASSIGN_OR_RETURN(int q, Half(h), "second half");
  return q;
}

TEST(StatusTest, ContextReadsLikeAPath) {
  Status s = Status::IOError("EBUSY").WithContext("move_mount").WithContext("prestart");
  EXPECT_EQ(s.message(), "prestart: move_mount: EBUSY");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
}

TEST(StatusTest, OkIgnoresContext) { EXPECT_TRUE(Status::Ok().WithContext("x").ok()); }

TEST(StatusTest, PosixErrorNamesErrno) {
  Status s = PosixError("open /x", ENOENT);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("open /x: "), std::string::npos);
  EXPECT_NE(s.message().find("(ENOENT)"), std::string::npos);
}

TEST(ResultTest, AssignOrReturnPropagatesWithContext) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_TRUE(IsError(r, StatusCode::kInvalidArgument, "second half: odd"));
  EXPECT_EQ(r.status().message(), "second half: odd");
}

TEST(StatusCodeNameTest, EveryCodeRoundTripsThroughItsName) {
  for (int i = 0; i <= static_cast<int>(StatusCode::kInternal); ++i) {
    auto code = static_cast<StatusCode>(i);
    std::string_view name = StatusCodeName(code);
    EXPECT_EQ(StatusCodeFromName(name), code) << name;
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "FailedPrecondition");
  EXPECT_EQ(StatusCodeName(StatusCode::kIOError), "IOError");
}

TEST(StatusCodeNameTest, UnknownOrMisspelledNamesAreNone) {
  for (const char* name : {"", "failedprecondition", "NotFound ", "Bogus", "kNotFound"}) {
    EXPECT_EQ(StatusCodeFromName(name), std::nullopt) << "'" << name << "'";
  }
}

}  // namespace
}  // namespace ocisecrets
