// Times as the API writes them: RFC 3339 in UTC with nanoseconds. Every function here is
// pure (no locale, no time zone, no global state) and safe from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace ocisecrets {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::nanoseconds>;

// Returns t as "2026-11-29T23:41:07.123456789Z": always nine fraction digits and 'Z'.
// Any TimePoint can be formatted; ParseTime reads back those from 1970 to 2261.
std::string FormatTime(TimePoint t);

// Appends FormatTime(t) to out, without a temporary string of its own (for hand-written
// JSON on hot paths).
void AppendTime(std::string& out, TimePoint t);

// Reads "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (what FormatTime writes; the fraction is optional
// and may have 1 to any number of digits, those past nanoseconds ignored). Returns
// InvalidArgument "bad time: ..." for any other layout, a sign or blank, a field out of
// range, or a year outside 1970..2261 (TimePoint's 64-bit nanoseconds end in 2262); the
// message never echoes the input. A day past the month's end rolls over, as timegm does.
Result<TimePoint> ParseTime(std::string_view s);

// Parses a duration as the flags take it: "90s", "15m", "24h", "7d" or a bare number of
// seconds. InvalidArgument "invalid duration '...': want a positive number with s, m, h or
// d (e.g. 24h)" otherwise, for zero, or past about 31 years' worth of the unit.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

}  // namespace ocisecrets
