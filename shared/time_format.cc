#include "shared/time_format.h"

#include <cstdio>
#include <ctime>

namespace ocisecrets {
namespace {

// FormatTime by way of gmtime and printf: for the years AppendTime does not write itself.
std::string FormatTimeSlow(TimePoint t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto nanos = (t - secs).count();
  std::time_t tt = Clock::to_time_t(std::chrono::time_point_cast<Clock::duration>(secs));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(nanos));
  return buf;
}

// Writes v as `width` decimal digits, zero-padded, ending just before end.
void PutDigits(char* end, unsigned long long v, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

void AppendTime(std::string& out, TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    out += FormatTimeSlow(t);
    return;
  }
  const auto in_day = duration_cast<nanoseconds>(t - day).count();  // [0, 86400e9)
  const auto sec_of_day = static_cast<unsigned long long>(in_day / 1'000'000'000);
  const auto nanos = static_cast<unsigned long long>(in_day % 1'000'000'000);
  char buf[] = "YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ";
  PutDigits(buf + 4, static_cast<unsigned>(year), 4);
  PutDigits(buf + 7, static_cast<unsigned>(ymd.month()), 2);
  PutDigits(buf + 10, static_cast<unsigned>(ymd.day()), 2);
  PutDigits(buf + 13, sec_of_day / 3600, 2);
  PutDigits(buf + 16, sec_of_day / 60 % 60, 2);
  PutDigits(buf + 19, sec_of_day % 60, 2);
  PutDigits(buf + 29, nanos, 9);
  out.append(buf, sizeof(buf) - 1);
}

std::string FormatTime(TimePoint t) {
  std::string out;
  out.reserve(30);
  AppendTime(out, t);
  return out;
}

Result<TimePoint> ParseTime(std::string_view str) {
  // Fixed layout YYYY-MM-DDTHH:MM:SS, digits only (no sign, no blanks), then fields in range.
  // The input is never echoed: it is untrusted and may be long or hold line breaks.
  static constexpr char kLayout[] = "dddd-dd-ddTdd:dd:dd";
  if (str.size() < 20) return Status::InvalidArgument("bad time: want RFC 3339 UTC");
  for (std::size_t k = 0; k < 19; ++k) {
    bool ok = kLayout[k] == 'd' ? (str[k] >= '0' && str[k] <= '9') : str[k] == kLayout[k];
    if (!ok) return Status::InvalidArgument("bad time: want RFC 3339 UTC");
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t k = pos; k < pos + len; ++k) v = v * 10 + (str[k] - '0');
    return v;
  };
  int year = num(0, 4), mon = num(5, 2), day = num(8, 2);
  int hour = num(11, 2), min = num(14, 2), sec = num(17, 2);
  // TimePoint counts nanoseconds in 64 bits: it ends in April 2262.
  if (year < 1970 || year > 2261 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
      min > 59 || sec > 59) {
    return Status::InvalidArgument("bad time: field out of range");
  }
  long long nanos = 0;
  std::size_t i = 19;
  if (i < str.size() && str[i] == '.') {
    ++i;
    int digits = 0;
    while (i < str.size() && str[i] >= '0' && str[i] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (str[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return Status::InvalidArgument("bad time: empty fraction");
    for (; digits < 9; ++digits) nanos *= 10;
  }
  if (i + 1 != str.size() || str[i] != 'Z') {
    return Status::InvalidArgument("bad time: want a trailing Z");
  }
  // The civil calendar of <chrono> (timegm's locking and normalising cost more than the
  // rest of a listing's parse). As with timegm, a day past the month's end rolls over.
  using namespace std::chrono;
  const sys_days first{year_month_day{std::chrono::year(year), month(static_cast<unsigned>(mon)),
                                      std::chrono::day(1)}};
  const seconds since_epoch = (first + days(day - 1)).time_since_epoch() + hours(hour) +
                              minutes(min) + seconds(sec);
  return TimePoint(since_epoch) + nanoseconds(nanos);
}

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty duration");
  std::uint64_t n = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (n > 1'000'000'000ULL) return Status::InvalidArgument("duration " + std::string(text) + " is too long");
    n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  std::string_view unit = text.substr(i);
  std::uint64_t scale = 0;
  if (i == 0) scale = 0;
  else if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "m") scale = 60;
  else if (unit == "h") scale = 3600;
  else if (unit == "d") scale = 86400;
  if (scale == 0 || n == 0) {
    return Status::InvalidArgument("invalid duration '" + std::string(text) +
                                   "': want a positive number with s, m, h or d (e.g. 24h)");
  }
  return std::chrono::seconds(static_cast<std::int64_t>(n * scale));
}

}  // namespace ocisecrets
