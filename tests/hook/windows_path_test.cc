#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shared/validation.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TEST(WindowsPathTest, Rules) {
  struct Case {
    const char* description;
    std::string path;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"docker's default", "C:\\ProgramData\\Docker\\secrets", true},
      {"lower-case drive, forward slashes", "d:/app/secrets", true},
      {"one trailing separator", "C:\\secrets\\", true},
      {"spaces inside a name", "C:\\Program Files\\app", true},
      {"empty", "", false},
      {"no drive letter", "\\ProgramData\\secrets", false},
      {"drive-relative", "C:secrets", false},
      {"drive root", "C:\\", false},
      {"digit as drive", "1:\\secrets", false},
      {"UNC", "\\\\server\\share\\secrets", false},
      {"doubled separator", "C:\\a\\\\b", false},
      {"dot-dot", "C:\\a\\..\\b", false},
      {"dot", "C:\\a\\.\\b", false},
      {"reserved CON", "C:\\app\\CON", false},
      {"reserved nul, lower case", "C:\\nul\\x", false},
      {"reserved with extension", "C:\\app\\aux.txt", false},
      {"reserved COM1", "C:\\COM1", false},
      {"reserved LPT9", "C:\\x\\lpt9", false},
      {"COM10 is not reserved", "C:\\COM10", true},
      {"CONFIG is not reserved", "C:\\CONFIG", true},
      {"less-than", "C:\\a<b", false},
      {"pipe", "C:\\a|b", false},
      {"question mark", "C:\\a?", false},
      {"star", "C:\\*", false},
      {"quote", "C:\\a\"b", false},
      {"colon inside", "C:\\a:b", false},
      {"control character", std::string("C:\\a\x01" "b"), false},
      {"newline", "C:\\a\nb", false},
      {"trailing dot", "C:\\secrets.", false},
      {"trailing space", "C:\\secrets ", false},
      {"component of 256 bytes", "C:\\" + std::string(256, 'a'), false},
      {"path of 260 bytes", "C:\\" + std::string(200, 'a') + "\\" + std::string(56, 'b'), false},
  };
  for (const auto& c : cases) {
    Status s = ValidateWindowsPath(c.path);
    EXPECT_EQ(s.ok(), c.valid) << c.description << ": " << s.message();
    if (!s.ok()) {
      EXPECT_EQ(s.message().find('\n'), std::string::npos) << c.description;
    }
  }
}

TEST(WindowsPathTest, DetectsWindowsStylePaths) {
  EXPECT_TRUE(LooksLikeWindowsPath("C:\\x"));
  EXPECT_TRUE(LooksLikeWindowsPath("c:/x"));
  EXPECT_TRUE(LooksLikeWindowsPath("\\\\server\\share"));
  EXPECT_FALSE(LooksLikeWindowsPath("/run/secrets"));
}

TEST(WindowsPathTest, SecretsDirAcceptsWindowsTargets) {
  EXPECT_TRUE(ValidateSecretsDir("C:\\ProgramData\\Docker\\secrets").ok());
  Status s = ValidateSecretsDir("C:\\app\\NUL");
  ASSERT_TRUE(IsError(s, StatusCode::kInvalidArgument, "reserved"));
}

}  // namespace
}  // namespace ocisecrets
