// Error codes in error bodies: what the router writes ({"message", "code"}) and what the
// client's StatusFromHttp makes of it, end to end without a socket.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "manager/api/router.h"
#include "shared/http_client.h"

namespace ocisecrets {
namespace {

std::string CodeOf(const Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("code") && j["code"].is_string()
             ? j["code"].get<std::string>()
             : "(no code)";
}

TEST(ErrorCodeTest, EveryCodeRoundTripsFromServerToClient) {
  for (int i = 1; i <= static_cast<int>(StatusCode::kInternal); ++i) {
    Status sent(static_cast<StatusCode>(i), "step: what went wrong");
    Response r = ErrorResponse(sent);
    EXPECT_EQ(r.status, HttpStatusOf(sent)) << StatusCodeName(sent.code());
    EXPECT_EQ(CodeOf(r), StatusCodeName(sent.code()));
    Status got = StatusFromHttp(r.status, r.body);
    EXPECT_EQ(got.code(), sent.code()) << StatusCodeName(sent.code()) << ": " << r.body;
    EXPECT_EQ(got.message(), sent.message());
  }
}

TEST(ErrorCodeTest, ErrorBodyPutsTheMessageFirstAndSurvivesBadUtf8) {
  EXPECT_EQ(ErrorResponse(Status::NotFound("secret x not found")).body,
            R"({"message":"secret x not found","code":"NotFound"})");
  Response r = ErrorResponse(400, "bad \xff byte");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["code"], "InvalidArgument");
}

TEST(ErrorCodeTest, ErrorsTheServerMakesItselfCarryTheCodeOfTheirStatus) {
  struct Case {
    const char* description;
    int status;
    const char* code;
  } cases[] = {
      {"malformed", 400, "InvalidArgument"}, {"not admin", 403, "PermissionDenied"},
      {"no route", 404, "NotFound"},         {"wrong method", 405, "InvalidArgument"},
      {"too large", 413, "InvalidArgument"}, {"headers too large", 431, "InvalidArgument"},
      {"a bug", 500, "Internal"},
  };
  for (const auto& c : cases) {
    Response r = ErrorResponse(c.status, "m");
    EXPECT_EQ(r.status, c.status) << c.description;
    EXPECT_EQ(CodeOf(r), c.code) << c.description;
  }
}

}  // namespace
}  // namespace ocisecrets
