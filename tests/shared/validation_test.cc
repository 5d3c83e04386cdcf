#include "shared/validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

struct NameCase {
  const char* description;
  std::string name;
  bool valid;
};

TEST(ValidationTest, SecretNamesFollowDockersRule) {
  const std::vector<NameCase> cases = {
      {"simple", "redis_password", true},
      {"single character", "a", true},
      {"dots dashes underscores inside", "a.b-c_d", true},
      {"exactly 64 characters", std::string(64, 'x'), true},
      {"65 characters", std::string(65, 'x'), false},
      {"empty", "", false},
      {"leading dash", "-abc", false},
      {"trailing dot", "abc.", false},
      {"leading underscore", "_abc", false},
      {"slash", "a/b", false},
      {"space", "a b", false},
      {"newline", "a\nb", false},
      {"non-ascii", "caf\xc3\xa9", false},
  };
  for (const auto& c : cases) {
    Status s = ValidateSecretName(c.name);
    EXPECT_EQ(s.ok(), c.valid) << c.description << ": " << s.message();
  }
}

TEST(ValidationTest, BadSecretNameMessageNamesTheValueAndTheRule) {
  Status s = ValidateSecretName("bad name!");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("\"bad name!\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("only 64 [a-zA-Z0-9-_.] characters allowed"), std::string::npos);
  EXPECT_EQ(ValidateSecretName("").message(), "secret name must be provided");
}

TEST(ValidationTest, ServiceNamesUseTheSameRuleAndSayService) {
  EXPECT_TRUE(ValidateServiceName("redis").ok());
  Status s = ValidateServiceName("re dis");
  ASSERT_TRUE(IsError(s, StatusCode::kInvalidArgument, "invalid service name"));
}

TEST(ValidationTest, PayloadSizeBounds) {
  struct Case {
    const char* description;
    std::size_t size;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"empty payload", 0, false},
      {"one byte", 1, true},
      {"largest allowed", 511999, true},
      {"Docker's limit itself", 512000, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ValidatePayloadSize(c.size).ok(), c.valid) << c.description;
  }
  EXPECT_NE(ValidatePayloadSize(0).message().find("larger than 0 and less than 512000"),
            std::string::npos);
}

TEST(ValidationTest, SecretTargets) {
  const std::vector<NameCase> cases = {
      {"plain file", "server.pem", true},
      {"relative subdir", "tls/server.pem", true},
      {"absolute", "/etc/app/server.pem", true},
      {"dot-dot component", "../etc/passwd", false},
      {"dot-dot in the middle", "a/../b", false},
      {"dot-dot at the end", "a/..", false},
      {"dot component", "./a", false},
      {"dots inside a name are fine", "a..b", true},
      {"empty", "", false},
      {"root only", "/", false},
      {"double slash", "a//b", false},
      {"trailing slash", "a/", false},
      {"NUL byte", std::string("a\0b", 3), false},
      {"newline", "a\nb", false},
      {"255-byte component", std::string(255, 'c'), true},
      {"256-byte component", std::string(256, 'c'), false},
      {"4097 bytes total", std::string(4097 / 2, 'a') + "/" + std::string(4097 / 2 - 1 + 1, 'b'),
       false},
  };
  for (const auto& c : cases) {
    Status s = ValidateSecretTarget(c.name);
    EXPECT_EQ(s.ok(), c.valid) << c.description << ": " << s.message();
  }
}

TEST(ValidationTest, TargetErrorIsOneLineEvenForANewline) {
  Status s = ValidateSecretTarget("a\nb");
  ASSERT_TRUE(IsError(s, StatusCode::kInvalidArgument, "newline"));
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("newline"), std::string::npos);
}

TEST(ValidationTest, ModesOnlyPermissionBits) {
  struct Case {
    const char* description;
    std::uint32_t mode;
    bool valid;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"default 0444", 0444, true, ""},
      {"0400", 0400, true, ""},
      {"0777", 0777, true, ""},
      {"zero", 0, true, ""},
      {"setuid", 04755, false, "setuid"},
      {"setgid", 02755, false, "setgid"},
      {"sticky", 01755, false, "sticky"},
      {"beyond 07777", 010644, false, "only permission bits"},
  };
  for (const auto& c : cases) {
    Status s = ValidateMode(c.mode);
    EXPECT_EQ(s.ok(), c.valid) << c.description;
    if (!c.valid) {
      EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
    }
  }
}

TEST(ValidationTest, UnixIdRange) {
  EXPECT_TRUE(ValidateUnixId(0, "uid").ok());
  EXPECT_TRUE(ValidateUnixId(4294967294ULL, "uid").ok());
  Status s = ValidateUnixId(4294967295ULL, "gid");
  ASSERT_TRUE(IsError(s, StatusCode::kInvalidArgument, "gid"));
}

TEST(ValidationTest, SecretsDirs) {
  const std::vector<NameCase> cases = {
      {"empty means the default", "", true},
      {"default", "/run/secrets", true},
      {"relative", "run/secrets", false},
      {"dot-dot", "/run/../etc", false},
      {"trailing slash", "/run/secrets/", false},
      {"root alone", "/", false},
      {"windows default", "C:\\ProgramData\\Docker\\secrets", true},
      {"windows reserved name", "C:\\app\\CON", false},
  };
  for (const auto& c : cases) {
    Status s = ValidateSecretsDir(c.name);
    EXPECT_EQ(s.ok(), c.valid) << c.description << ": " << s.message();
  }
}

ServiceSpec SpecWith(std::vector<SecretReference> refs) {
  ServiceSpec spec;
  spec.name = "redis";
  spec.secrets = std::move(refs);
  return spec;
}

TEST(ValidationTest, ServiceSpecs) {
  struct Case {
    const char* description;
    ServiceSpec spec;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"no secrets", SpecWith({}), true},
      {"one by name, default target", SpecWith({{"", "pw", {"", 0, 0, 0444}}}), true},
      {"two targets", SpecWith({{"", "pw", {"a", 0, 0, 0444}}, {"", "pw", {"b", 0, 0, 0444}}}),
       true},
      {"duplicate explicit target",
       SpecWith({{"", "pw", {"a", 0, 0, 0444}}, {"", "other", {"a", 0, 0, 0444}}}), false},
      {"explicit target equal to another's default",
       SpecWith({{"", "pw", {"", 0, 0, 0444}}, {"", "other", {"pw", 0, 0, 0444}}}), false},
      {"neither name nor id", SpecWith({{"", "", {"a", 0, 0, 0444}}}), false},
      {"dot-dot target", SpecWith({{"", "pw", {"../x", 0, 0, 0444}}}), false},
      {"setuid mode", SpecWith({{"", "pw", {"x", 0, 0, 04444}}}), false},
      {"gid out of range", SpecWith({{"", "pw", {"x", 0, 4294967295u, 0444}}}), false},
  };
  for (const auto& c : cases) {
    Status s = ValidateServiceSpec(c.spec);
    EXPECT_EQ(s.ok(), c.valid) << c.description << ": " << s.message();
  }
  std::vector<SecretReference> most;
  for (std::size_t i = 0; i < kMaxServiceSecrets; ++i) {
    most.push_back({"", "pw", {"t" + std::to_string(i), 0, 0, 0444}});
  }
  EXPECT_TRUE(ValidateServiceSpec(SpecWith(most)).ok()) << "the most a service may grant";
  most.push_back({"", "pw", {"one-more", 0, 0, 0444}});
  EXPECT_TRUE(IsError(ValidateServiceSpec(SpecWith(most)), StatusCode::kInvalidArgument,
                      "service \"redis\" grants 41 secrets; a service may grant at most 40"));
  ServiceSpec bad_name = SpecWith({});
  bad_name.name = "";
  EXPECT_TRUE(IsError(ValidateServiceSpec(bad_name), StatusCode::kInvalidArgument,
                      "service name must be provided"));
  ServiceSpec placed = SpecWith({});
  placed.constraints = {"node.labels.zone==eu"};
  EXPECT_TRUE(ValidateServiceSpec(placed).ok());
  placed.constraints.push_back("node.zone==eu");
  EXPECT_TRUE(IsError(ValidateServiceSpec(placed), StatusCode::kInvalidArgument,
                      "constraint \"node.zone==eu\": unknown key node.zone"));
}

TEST(ValidationTest, ContainerIds) {
  const std::vector<NameCase> cases = {
      {"podman hex", std::string(64, 'f'), true},
      {"runc style", "my-container_1.2", true},
      {"empty", "", false},
      {"slash", "a/b", false},
      {"leading dash", "-a", false},
      {"too long", std::string(1025, 'a'), false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ValidateContainerId(c.name).ok(), c.valid) << c.description;
  }
}

}  // namespace
}  // namespace ocisecrets
