#include "shared/signal_name.h"

#include <gtest/gtest.h>

#include <csignal>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TEST(SignalNameTest, TakesNamesWithOrWithoutSigInAnyCaseAndNumbers) {
  struct Case {
    const char* description;
    const char* text;
    int want;
  } cases[] = {
      {"kill -l's name", "SIGHUP", SIGHUP},
      {"without SIG", "USR1", SIGUSR1},
      {"lower case", "sigterm", SIGTERM},
      {"a number", "10", SIGUSR1},
  };
  for (const Case& c : cases) {
    auto n = SignalNumber(c.text);
    ASSERT_TRUE(n.ok()) << c.description << ": " << n.status().message();
    EXPECT_EQ(*n, c.want) << c.description;
  }
  EXPECT_EQ(SignalName(SIGHUP), "SIGHUP");
  EXPECT_EQ(SignalName(SIGWINCH), "SIGWINCH");
  EXPECT_EQ(SignalName(0), "");
}

TEST(SignalNameTest, RefusesUnknownSignalsWithAHint) {
  for (const char* text : {"SIGFOO", "", "SIG", "0", "64", "1x", "SIGRTMIN"}) {
    EXPECT_TRUE(IsError(SignalNumber(text), StatusCode::kInvalidArgument,
                        std::string("unknown signal ") + text + " (use a name such as SIGHUP)"))
        << text;
  }
}

}  // namespace
}  // namespace ocisecrets
