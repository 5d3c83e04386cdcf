// FUZZ_CHECK(cond, what): an invariant of a fuzz target. On failure prints what broke and
// aborts, which libFuzzer reports as a crash (and the replay test as a death).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "shared/secure_buffer.h"

#define FUZZ_CHECK(cond, what)                                                   \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", what, __FILE__, \
                   __LINE__);                                                    \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

namespace ocisecrets {

// The JSON round trip of a parser and its ToJson (found by argument-dependent lookup):
// an input that parses must give the same JSON again after ToJson then parse, and a
// refusal must carry a message. The texts are wiped (they may hold payloads).
template <typename ParseFn>
void CheckJsonRoundTrip(std::string_view input, ParseFn parse) {
  auto first = parse(input);
  if (!first.ok()) {
    FUZZ_CHECK(!first.status().message().empty(), "an error carries a message");
    return;
  }
  std::string json = ToJson(*first);
  auto second = parse(json);
  FUZZ_CHECK(second.ok(), "ToJson output parses again");
  std::string again = ToJson(*second);
  FUZZ_CHECK(again == json, "round trip is stable");
  WipeString(json);
  WipeString(again);
}

}  // namespace ocisecrets
