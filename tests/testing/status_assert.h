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

// "kNotFound" for StatusCode::kNotFound, for failure messages.
inline const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "kOk";
    case StatusCode::kInvalidArgument:
      return "kInvalidArgument";
    case StatusCode::kNotFound:
      return "kNotFound";
    case StatusCode::kAlreadyExists:
      return "kAlreadyExists";
    case StatusCode::kFailedPrecondition:
      return "kFailedPrecondition";
    case StatusCode::kPermissionDenied:
      return "kPermissionDenied";
    case StatusCode::kUnavailable:
      return "kUnavailable";
    case StatusCode::kDeadlineExceeded:
      return "kDeadlineExceeded";
    case StatusCode::kIOError:
      return "kIOError";
    case StatusCode::kDataLoss:
      return "kDataLoss";
    case StatusCode::kInternal:
      return "kInternal";
  }
  return "an unknown code";
}

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
