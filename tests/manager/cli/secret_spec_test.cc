#include "manager/cli/secret_spec.h"

#include <gtest/gtest.h>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TEST(SecretSpecTest, ShortSyntaxIsSourceAndTarget) {
  auto r = ParseSecretReference("redis_password");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->secret_name, "redis_password");
  EXPECT_EQ(r->file.name, "redis_password");
  EXPECT_EQ(r->file.uid, 0u);
  EXPECT_EQ(r->file.gid, 0u);
  EXPECT_EQ(r->file.mode, 0444u);
  EXPECT_TRUE(r->secret_id.empty());
}

TEST(SecretSpecTest, LongSyntaxReadsEveryField) {
  struct Case {
    const char* description;
    const char* spec;
    const char* name;
    const char* target;
    std::uint32_t uid, gid, mode;
  } cases[] = {
      {"all fields", "source=tls_cert,target=server.pem,uid=999,gid=998,mode=0400", "tls_cert",
       "server.pem", 999, 998, 0400},
      {"defaults", "source=tls_cert", "tls_cert", "tls_cert", 0, 0, 0444},
      {"src alias", "src=a,target=b", "a", "b", 0, 0, 0444},
      {"mode without leading zero is octal", "source=a,mode=440", "a", "a", 0, 0, 0440},
      {"mode 0o prefix", "source=a,mode=0o600", "a", "a", 0, 0, 0600},
      {"absolute target", "source=a,target=/etc/app/key", "a", "/etc/app/key", 0, 0, 0444},
      {"nested relative target", "source=a,target=app/key.pem", "a", "app/key.pem", 0, 0, 0444},
      {"fields in any order", "mode=0,uid=4294967294,source=a", "a", "a", 4294967294u, 0, 0},
      {"Podman's form: name first, type=mount",
       "tls_cert,type=mount,target=server.pem,uid=999,gid=998,mode=0400", "tls_cert",
       "server.pem", 999, 998, 0400},
      {"Podman's form without type", "tls_cert,target=server.pem", "tls_cert", "server.pem", 0,
       0, 0444},
      {"type=mount in the long form", "source=a,type=mount", "a", "a", 0, 0, 0444},
  };
  for (const auto& c : cases) {
    auto r = ParseSecretReference(c.spec);
    ASSERT_TRUE(r.ok()) << c.description << ": " << r.status().message();
    EXPECT_EQ(r->secret_name, c.name) << c.description;
    EXPECT_EQ(r->file.name, c.target) << c.description;
    EXPECT_EQ(r->file.uid, c.uid) << c.description;
    EXPECT_EQ(r->file.gid, c.gid) << c.description;
    EXPECT_EQ(r->file.mode, c.mode) << c.description;
  }
}

TEST(SecretSpecTest, RefusesBadSpecsWithAClearMessage) {
  struct Case {
    const char* description;
    const char* spec;
    const char* message_part;
  } cases[] = {
      {"empty", "", "secret name must be provided"},
      {"bad short name", "bad name", "invalid secret name"},
      {"missing source", "target=x", "source is required"},
      {"dotdot target", "source=a,target=../etc/passwd", "must not contain a \"..\" component"},
      {"dotdot inside target", "source=a,target=x/../../y", "\"..\""},
      {"empty target", "source=a,target=", "must not be empty"},
      {"mode not octal", "source=a,mode=0999", "invalid mode '0999'"},
      {"mode words", "source=a,mode=rw", "invalid mode 'rw'"},
      {"mode setuid", "source=a,mode=4755", "setuid"},
      {"mode too big", "source=a,mode=77777", "invalid file mode"},
      {"empty mode", "source=a,mode=", "invalid mode ''"},
      {"negative uid", "source=a,uid=-1", "invalid uid '-1'"},
      {"uid out of range", "source=a,uid=4294967295", "must be 0..4294967294"},
      {"gid not a number", "source=a,gid=root", "invalid gid 'root'"},
      {"unknown key", "source=a,owner=1", "unknown field 'owner'"},
      {"repeated key", "source=a,source=b", "field 'source' is given twice"},
      {"field without =", "source=a,target", "field 'target' must be a key=value pair"},
      {"empty field", "source=a,,target=b", "field '' must be a key=value pair"},
      {"bad source name", "source=-a", "invalid secret name"},
      {"name first and source= too", "a,source=b", "field 'source' is given twice"},
      {"bad name first", "-a,target=b", "invalid secret name"},
      {"unknown type", "a,type=file", "invalid type 'file': want mount"},
  };
  for (const auto& c : cases) {
    auto r = ParseSecretReference(c.spec);
    ASSERT_FALSE(r.ok()) << c.description;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.description;
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.description << ": " << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << c.description;
  }
}

TEST(SecretSpecTest, ErrorNamesTheWholeSpec) {
  auto r = ParseSecretReference("source=a,mode=9");
  ASSERT_TRUE(IsError(r, StatusCode::kInvalidArgument, "invalid --secret 'source=a,mode=9': "));
  EXPECT_EQ(r.status().message().rfind("invalid --secret 'source=a,mode=9': ", 0), 0u)
      << r.status().message();
}

// Podman accepts type=env; a secret in the environment leaks, so we refuse it and say so.
TEST(SecretSpecTest, RefusesTypeEnvSayingWhy) {
  for (const char* spec : {"db_pw,type=env", "source=db_pw,type=env,target=DB_PW"}) {
    auto r = ParseSecretReference(spec);
    EXPECT_TRUE(IsError(r, StatusCode::kInvalidArgument, "type=env is not supported"))
        << spec;
    ASSERT_FALSE(r.ok());
    for (const char* why : {"leaks into inspect output, logs and every child process",
                            "moby#31422", "use type=mount"}) {
      EXPECT_NE(r.status().message().find(why), std::string::npos)
          << spec << ": " << r.status().message();
    }
  }
}

TEST(LabelTest, ParsesKeyValueAndBareKey) {
  auto l = ParseLabels({"env=prod", "team", "url=a=b", "env=dev"});
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->at("env"), "dev");
  EXPECT_EQ(l->at("team"), "");
  EXPECT_EQ(l->at("url"), "a=b");
}

TEST(LabelTest, RefusesAnEmptyKey) {
  auto l = ParseLabels({"=x"});
  ASSERT_TRUE(IsError(l, StatusCode::kInvalidArgument, "empty key"));
  EXPECT_EQ(l.status().message(), "invalid label '=x': empty key");
}

}  // namespace
}  // namespace ocisecrets
