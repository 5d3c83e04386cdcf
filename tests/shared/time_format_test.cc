#include "shared/time_format.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TEST(TimeFormatTest, TimeRoundTripsWithNanoseconds) {
  auto t = ParseTime("2026-11-29T23:41:07.123456789Z");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(FormatTime(*t), "2026-11-29T23:41:07.123456789Z");
}

TEST(TimeFormatTest, RejectsTimeWithoutZone) {
  auto no_zone = ParseTime("2026-11-29T23:41:07.5");
  ASSERT_FALSE(no_zone.ok());
  EXPECT_EQ(no_zone.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_zone.status().message(), "bad time: want a trailing Z");
  auto prose = ParseTime("yesterday");
  ASSERT_FALSE(prose.ok());
  EXPECT_EQ(prose.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(prose.status().message(), "bad time: want RFC 3339 UTC");
}

// Regression (found by fuzz_models): a year past 2261 overflowed the 64-bit nanosecond
// count (undefined behaviour); sscanf also let signs and blanks through.
TEST(TimeFormatTest, RejectsTimeOutsideNanosecondRangeOrLayout) {
  struct Case {
    const char* description;
    const char* text;
    const char* error;
  } cases[] = {
      {"year 4052 overflows int64 nanoseconds", "4052-11-29T23:41:07Z", "bad time: field out of range"},
      {"year 2262 is past the end of TimePoint", "2262-06-01T00:00:00Z", "bad time: field out of range"},
      {"year before the epoch", "1969-12-31T23:59:59Z", "bad time: field out of range"},
      {"leading blank", " 2026-11-29T23:41:07Z", "bad time: want RFC 3339 UTC"},
      {"signed field", "+026-11-29T23:41:07Z", "bad time: want RFC 3339 UTC"},
      {"month 13", "2026-13-29T23:41:07Z", "bad time: field out of range"},
      {"hour 24", "2026-11-29T24:41:07Z", "bad time: field out of range"},
      {"trailing garbage", "2026-11-29T23:41:07Zx", "bad time: want a trailing Z"},
      {"a dot without digits", "2026-11-29T23:41:07.Z", "bad time: empty fraction"},
  };
  for (const auto& c : cases) {
    auto t = ParseTime(c.text);
    ASSERT_FALSE(t.ok()) << c.description;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << c.description;
    EXPECT_EQ(t.status().message(), c.error) << c.description;
  }
  EXPECT_TRUE(ParseTime("2261-12-31T23:59:59.999999999Z").ok());
  EXPECT_TRUE(ParseTime("1970-01-01T00:00:00Z").ok());
}

// FormatTime writes the digits itself; gmtime and printf are the reference.
TEST(TimeFormatTest, FormatTimeMatchesGmtimeAcrossTheRange) {
  auto reference = [](TimePoint t) {
    auto secs = std::chrono::floor<std::chrono::seconds>(t);
    std::time_t tt = Clock::to_time_t(std::chrono::time_point_cast<Clock::duration>(secs));
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>((t - secs).count()));
    return std::string(buf);
  };
  std::vector<TimePoint> times = {TimePoint{}, *ParseTime("2000-02-29T23:59:59.999999999Z"),
                                  *ParseTime("2100-03-01T00:00:00Z"),
                                  *ParseTime("2261-12-31T23:59:59.5Z"),
                                  TimePoint(std::chrono::nanoseconds(-1))};
  std::uint64_t x = 88172645463325252ull;  // xorshift: many times, every field's digits
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    times.push_back(TimePoint(std::chrono::nanoseconds(static_cast<std::int64_t>(x >> 1))));
  }
  for (TimePoint t : times) {
    ASSERT_EQ(FormatTime(t), reference(t)) << t.time_since_epoch().count();
  }
}

// ParseTime computes the calendar itself; timegm is the reference, day overflow included.
TEST(TimeFormatTest, ParseTimeMatchesTimegm) {
  std::uint64_t x = 2463534242ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int year = 1970 + static_cast<int>(x % 292), mon = 1 + static_cast<int>((x >> 9) % 12);
    int day = 1 + static_cast<int>((x >> 13) % 31), hour = static_cast<int>((x >> 18) % 24);
    int min = static_cast<int>((x >> 23) % 60), sec = static_cast<int>((x >> 29) % 60);
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, mon, day, hour,
                  min, sec, static_cast<int>((x >> 35) % 1000));
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    TimePoint want = TimePoint(std::chrono::seconds(timegm(&tm))) +
                     std::chrono::milliseconds((x >> 35) % 1000);
    auto got = ParseTime(text);
    ASSERT_TRUE(got.ok()) << text;
    ASSERT_EQ(got->time_since_epoch().count(), want.time_since_epoch().count()) << text;
  }
}

TEST(TimeFormatTest, DurationsOfTheFlags) {
  struct Case {
    const char* description;
    std::string text;
    long long seconds;  // -1: refused
  };
  const std::vector<Case> cases = {
      {"bare seconds", "90", 90},
      {"seconds", "30s", 30},
      {"minutes", "15m", 900},
      {"hours (the default)", "24h", 86400},
      {"days", "7d", 604800},
      {"zero", "0s", -1},
      {"empty", "", -1},
      {"unit only", "h", -1},
      {"unknown unit", "5w", -1},
      {"words", "soon", -1},
      {"negative", "-5s", -1},
      {"overflowing", "99999999999999999999h", -1},
  };
  for (const auto& c : cases) {
    auto d = ParseDuration(c.text);
    if (c.seconds < 0) {
      // The flag's user reads the value back and the form it should have.
      EXPECT_TRUE(IsError(d, StatusCode::kInvalidArgument, "duration")) << c.description;
    } else {
      ASSERT_TRUE(d.ok()) << c.description << ": " << d.status().message();
      EXPECT_EQ(d->count(), c.seconds) << c.description;
    }
  }
}

}  // namespace
}  // namespace ocisecrets
