// FUZZ_CHECK(cond, what): an invariant of a fuzz target. On failure prints what broke and
// aborts, which libFuzzer reports as a crash (and the replay test as a death).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                   \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", what, __FILE__, \
                   __LINE__);                                                    \
      std::abort();                                                              \
    }                                                                            \
  } while (0)
