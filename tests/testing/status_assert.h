// An error pinned, not just "not ok": the code a caller branches on and the words a user
// reads.
//
//   EXPECT_TRUE(testing::IsError(LoadHookConfig(path), StatusCode::kNotFound, "absent.json"));
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "shared/status.h"

namespace ocisecrets::testing {

// Success when `status` carries `code` and its message contains `part`; otherwise a
// failure showing the code and message it has.
inline ::testing::AssertionResult IsError(const Status& status, StatusCode code,
                                          std::string_view part) {
  if (status.code() == code && status.message().find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << StatusCodeName(status.code()) << " \"" << status.message() << "\", want "
         << StatusCodeName(code) << " with \"" << std::string(part) << "\"";
}

// The same for a Result: a value is a failure.
template <typename T>
::testing::AssertionResult IsError(const Result<T>& result, StatusCode code,
                                   std::string_view part) {
  if (result.ok()) {
    return ::testing::AssertionFailure()
           << "succeeded, want " << StatusCodeName(code) << " with \"" << std::string(part) << "\"";
  }
  return IsError(result.status(), code, part);
}

}  // namespace ocisecrets::testing
