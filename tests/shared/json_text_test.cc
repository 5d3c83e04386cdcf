#include "shared/json_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace ocisecrets {
namespace {

TEST(JsonTextTest, JsonStringsAreWhatNlohmannWrites) {
  const std::string cases[] = {"",           "plain-name_1.2", "q\"uote",     "back\\slash",
                               "tab\tnl\n",  "\x01\x1f\x7f",   "caf\xc3\xa9", "bad\xff utf8",
                               "\xe2\x82\xac", std::string("nul\0byte", 8)};
  for (const std::string& c : cases) {
    std::string out = "x";
    AppendJsonString(out, c);
    EXPECT_EQ(out, "x" + nlohmann::json(c).dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace))
        << c;
  }
}

TEST(JsonTextTest, UintsAreWhatNlohmannWrites) {
  const std::uint64_t cases[] = {0, 7, 10, 4294967294u, 18446744073709551615ull};
  for (std::uint64_t v : cases) {
    std::string out = "x";
    AppendJsonUint(out, v);
    EXPECT_EQ(out, "x" + nlohmann::json(v).dump()) << v;
  }
}

}  // namespace
}  // namespace ocisecrets
