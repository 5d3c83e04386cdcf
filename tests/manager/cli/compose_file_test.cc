#include "manager/cli/compose/compose_file.h"

#include <gtest/gtest.h>

#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::compose {
namespace {

using ::ocisecrets::testing::IsError;

// The seed's example: short syntax, a file next to the Compose file.
constexpr char kSeed[] = R"(version: "3.8"
services:
  redis:
    image: redis:latest
    secrets:
      - my_secret
secrets:
  my_secret:
    file: ./my_secret.txt
)";

Result<ComposeProject> Parse(const std::string& text) {
  return ParseComposeTexts({{"docker-compose.yml", text}}, "/srv/app");
}

TEST(ComposeFileTest, SeedFileGivesOneFileSecretAndOneGrantWithComposesDefaults) {
  auto p = Parse(kSeed);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->secrets.size(), 1u);
  const ComposeSecret& s = p->secrets.at("my_secret");
  EXPECT_EQ(s.source, ComposeSecret::Source::kFile);
  EXPECT_EQ(s.file, "/srv/app/my_secret.txt") << "relative to the project dir";
  EXPECT_EQ(s.where, "docker-compose.yml:9");
  ASSERT_EQ(p->services.size(), 1u);
  const ComposeService& redis = p->services.at("redis");
  ASSERT_EQ(redis.grants.size(), 1u);
  EXPECT_EQ(redis.grants[0].source, "my_secret");
  EXPECT_EQ(redis.grants[0].file.name, "my_secret");
  EXPECT_EQ(redis.grants[0].file.uid, 0u);
  EXPECT_EQ(redis.grants[0].file.mode, 0444u);
}

TEST(ComposeFileTest, LongSyntaxReadsTargetUidGidAndAnOctalMode) {
  auto p = Parse(R"(services:
  app:
    image: x
    secrets:
      - source: db
        target: /run/secrets/db.pw
        uid: "1000"
        gid: "1001"
        mode: 0400
      - source: api
        mode: 0o440
secrets:
  db:
    environment: DB_PASSWORD
  api:
    external: true
    name: shared_api_key
)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const auto& grants = p->services.at("app").grants;
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[0].file.name, "db.pw") << "under /run/secrets, made relative";
  EXPECT_EQ(grants[0].file.uid, 1000u);
  EXPECT_EQ(grants[0].file.gid, 1001u);
  EXPECT_EQ(grants[0].file.mode, 0400u) << "YAML 1.1: 0400 is octal, 256";
  EXPECT_EQ(grants[1].file.mode, 0440u);
  EXPECT_EQ(p->secrets.at("db").source, ComposeSecret::Source::kEnvironment);
  EXPECT_EQ(p->secrets.at("db").variable, "DB_PASSWORD");
  EXPECT_EQ(p->secrets.at("api").source, ComposeSecret::Source::kExternal);
  EXPECT_EQ(SecretName("proj", p->secrets.at("api")), "shared_api_key");
  EXPECT_EQ(SecretName("proj", p->secrets.at("db")), "proj_db");
  EXPECT_EQ(ServiceName("proj", "app"), "proj_app");
}

TEST(ComposeFileTest, WhatComposeAcceptsButWeCannotHonourIsAnErrorNamingTheKeyAndLine) {
  struct Case {
    const char* description;
    std::string text;
    std::string words;
  };
  const std::string head = "services:\n  app:\n    image: x\n    secrets:\n";
  const Case cases[] = {
      {"a secret driver", "secrets:\n  s:\n    file: ./s\n    driver: vault\n",
       "docker-compose.yml:4: secrets.s.driver: secret drivers are Swarm's"},
      {"a template driver", "secrets:\n  s:\n    file: ./s\n    template_driver: golang\n",
       "secrets.s.template_driver: templated secrets are Swarm's"},
      {"a target outside /run/secrets",
       head + "      - source: s\n        target: /etc/s\nsecrets:\n  s:\n    file: ./s\n",
       "docker-compose.yml:5: services.app.secrets[0].target: \"/etc/s\" is outside /run/secrets"},
      {"a quoted mode", head + "      - source: s\n        mode: \"0400\"\nsecrets:\n  s:\n    file: ./s\n",
       "services.app.secrets[0].mode: want an octal number like 0400 (without quotes)"},
      {"a setuid mode", head + "      - source: s\n        mode: 04755\nsecrets:\n  s:\n    file: ./s\n",
       "services.app.secrets[0].mode"},
      {"a uid that is not a number", head + "      - source: s\n        uid: root\nsecrets:\n  s:\n    file: ./s\n",
       "services.app.secrets[0].uid: want a number like \"1000\""},
      {"an unknown grant key", head + "      - source: s\n        size: 1\nsecrets:\n  s:\n    file: ./s\n",
       "services.app.secrets[0].size: want source, target, uid, gid or mode"},
      {"a secret that is not defined", head + "      - nope\n",
       "docker-compose.yml:5: services.app.secrets: secret \"nope\" is not defined"},
      {"two sources", "secrets:\n  s:\n    file: ./s\n    environment: S\n",
       "secrets.s: want exactly one of file, environment or external: true"},
      {"no source", "secrets:\n  s:\n    name: x\n", "secrets.s: want exactly one of"},
      {"a target given twice", head + "      - a\n      - source: b\n        target: a\nsecrets:\n  a:\n    file: ./a\n  b:\n    file: ./b\n",
       "target \"a\" given twice"},
      {"broken YAML", "services: [\n", "docker-compose.yml:2:"},
      {"a key given twice", "services: {}\nsecrets: {}\nservices: x\n",
       "docker-compose.yml: line 3: key \"services\" given twice in one mapping"},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(IsError(Parse(c.text), StatusCode::kInvalidArgument, c.words)) << c.description;
  }
}

TEST(ComposeFileTest, AliasesThatExpandBeyondTheBoundAreRefused) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'h'; ++c) {
    text += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) text += std::string(i ? ", *" : "*") + prev;
    text += "]\n";
    prev = c;
  }
  EXPECT_TRUE(IsError(Parse(text), StatusCode::kInvalidArgument, "YAML nodes"));
}

TEST(ComposeFileTest, ControlCharactersAndBytesThatAreNotUtf8AreRefusedWithTheirPlace) {
  // What the fuzzer found: a NUL the YAML reader took, which the rendered file then lost.
  const std::string nul("services:\n sier: \xf6\xderedis:\0r", 27);
  EXPECT_TRUE(IsError(Parse(nul), StatusCode::kInvalidArgument,
                      "docker-compose.yml:2:8: not UTF-8: a Compose file is UTF-8 text"));
  EXPECT_TRUE(IsError(Parse(std::string("services:\n  a: x\0y\n", 19)), StatusCode::kInvalidArgument,
                      "docker-compose.yml:2:7: control character 0x00: a Compose file is YAML text"));
  EXPECT_TRUE(IsError(Parse("a: \x1b[31m\n"), StatusCode::kInvalidArgument,
                      "docker-compose.yml:1:4: control character 0x1B"));
  EXPECT_TRUE(IsError(Parse("a: \xed\xa0\x80\n"), StatusCode::kInvalidArgument, "1:4: not UTF-8"))
      << "a surrogate";
  EXPECT_TRUE(IsError(Parse("a: \xc0\xaf\n"), StatusCode::kInvalidArgument, "1:4: not UTF-8"))
      << "an overlong form";
  // Tabs, CRLF and text beyond ASCII are YAML text.
  auto p = Parse("services:\r\n  redis:\r\n    image: \"caf\xc3\xa9\t\xf0\x9f\x94\x91\"\r\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->services.empty());
}

TEST(ComposeFileTest, LaterFilesOverrideEarlierOnesKeyByKeyAndGrantsBySource) {
  auto p = ParseComposeTexts(
      {{"a.yml", std::string(kSeed)},
       {"b.yml", R"(services:
  redis:
    environment:
      - B=2
    secrets:
      - source: my_secret
        mode: 0400
      - other
secrets:
  other:
    environment: OTHER
)"}},
      "/srv/app");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const auto& grants = p->services.at("redis").grants;
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[0].file.mode, 0400u) << "b.yml's my_secret replaced a.yml's";
  EXPECT_EQ(grants[1].source, "other");
  EXPECT_EQ(p->secrets.size(), 2u);
  EXPECT_EQ(p->document["services"]["redis"]["image"].Scalar(), "redis:latest") << "kept";
}

TEST(ComposeFileTest, MergeKeysAreAppliedAsComposeAppliesThem) {
  auto p = Parse(R"(x-base: &base
  image: x
  environment: {B: "2"}
  secrets: [s]
services:
  a:
    <<: *base
    image: mine
secrets:
  s:
    file: s.txt
)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->services.count("a"), 1u) << "the secrets came through <<";
  EXPECT_EQ(p->services.at("a").grants[0].source, "s");
  auto text = RenderRuntimeFile(*p, "app", "c.yml");
  ASSERT_TRUE(text.ok()) << text.status().message();
  YAML::Node a = YAML::Load(*text)["services"]["a"];
  EXPECT_EQ(a["image"].Scalar(), "mine") << "the mapping's own key wins: " << *text;
  EXPECT_FALSE(a["secrets"].IsDefined()) << *text;
  EXPECT_FALSE(a["<<"].IsDefined()) << *text;
  EXPECT_EQ(a["environment"]["B"].Scalar(), "2");
}

TEST(ComposeFileTest, RuntimeFileSwapsSecretsForTheOptInAndKeepsEverythingElse) {
  auto p = Parse(std::string(kSeed) + "  unused:\n    external: true\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto text = RenderRuntimeFile(*p, "app", "docker-compose.yml");
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_TRUE(text->starts_with(
      "# generated by oci-secrets compose import from docker-compose.yml; edit "
      "docker-compose.yml and re-run\n"))
      << *text;
  YAML::Node out = YAML::Load(*text);
  EXPECT_EQ(out["version"].Scalar(), "3.8");
  EXPECT_NE(text->find("\"3.8\""), std::string::npos) << "still a string for Compose: " << *text;
  EXPECT_FALSE(out["secrets"].IsDefined()) << *text;
  YAML::Node redis = out["services"]["redis"];
  EXPECT_FALSE(redis["secrets"].IsDefined());
  EXPECT_EQ(redis["runtime"].Scalar(), "oci-secrets");
  EXPECT_EQ(redis["environment"]["OCI_SECRETS_SERVICE"].Scalar(), "app_redis");
  EXPECT_EQ(redis["image"].Scalar(), "redis:latest");
}

TEST(ComposeFileTest, RuntimeFileKeepsValuesWithLineBreaksAndControlCharactersWhole) {
  // Escaped in the source, or a lone CR (which the YAML reader keeps in a plain value):
  // written raw, it would make another document.
  auto p = Parse(std::string(kSeed) + "x-note: \"one\\rtwo\\tthree\\nfour\\u0001\"\n"
                                      "\"x-k\\re\\ry\": plain\n"
                                      "x-raw: one\rtwo\n");
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto text = RenderRuntimeFile(*p, "app", "docker-compose.yml");
  ASSERT_TRUE(text.ok()) << text.status().message();
  YAML::Node out = YAML::Load(*text);
  EXPECT_EQ(out["x-note"].Scalar(), "one\rtwo\tthree\nfour\x01") << *text;
  EXPECT_EQ(out["x-k\re\ry"].Scalar(), "plain") << *text;
  EXPECT_EQ(out["x-raw"].Scalar(), p->document["x-raw"].Scalar()) << *text;
  EXPECT_EQ(text->find('\r'), std::string::npos) << "no raw CR: " << *text;
}

TEST(ComposeFileTest, RuntimeFileAddsTheOptInToAListEnvironmentAndRefusesAnotherService) {
  const std::string list = R"(services:
  web:
    image: x
    environment:
      - A=1
    secrets: [s]
secrets:
  s:
    file: s.txt
)";
  auto p = Parse(list);
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto text = RenderRuntimeFile(*p, "app", "c.yml");
  ASSERT_TRUE(text.ok()) << text.status().message();
  YAML::Node env = YAML::Load(*text)["services"]["web"]["environment"];
  ASSERT_TRUE(env.IsSequence()) << *text;
  ASSERT_EQ(env.size(), 2u);
  EXPECT_EQ(env[0].Scalar(), "A=1");
  EXPECT_EQ(env[1].Scalar(), "OCI_SECRETS_SERVICE=app_web");

  auto other = Parse(R"(services:
  web:
    image: x
    environment: {OCI_SECRETS_SERVICE: db}
    secrets: [s]
secrets:
  s:
    file: s.txt
)");
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_TRUE(IsError(RenderRuntimeFile(*other, "app", "c.yml"), StatusCode::kInvalidArgument,
                      "services.web.environment: OCI_SECRETS_SERVICE already names another service"));
  auto runtime = Parse("services:\n  web:\n    runtime: runc\n    secrets: [s]\nsecrets:\n  s:\n    file: s\n");
  ASSERT_TRUE(runtime.ok()) << runtime.status().message();
  EXPECT_TRUE(IsError(RenderRuntimeFile(*runtime, "app", "c.yml"), StatusCode::kInvalidArgument,
                      "services.web.runtime: already set"));
}

TEST(ComposeFileTest, DefaultProjectNameFollowsComposesRules) {
  EXPECT_EQ(*DefaultProjectName("/home/me/My App.v2"), "myappv2");
  EXPECT_EQ(*DefaultProjectName("/srv/_web-1/"), "web-1");
  EXPECT_TRUE(IsError(DefaultProjectName("/srv/..."), StatusCode::kInvalidArgument, "give one with -p"));
}

TEST(ComposeFileTest, LoadReadsFilesRelativeToTheFirstFilesDirectory) {
  ::ocisecrets::testing::TempDir dir;
  const std::string path = dir.WriteFile("docker-compose.yml", kSeed, 0644);
  auto p = LoadComposeFiles({path});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->secrets.at("my_secret").file, dir.File("my_secret.txt"));
  EXPECT_EQ(p->secrets.at("my_secret").where, path + ":9");
  EXPECT_FALSE(LoadComposeFiles({dir.File("missing.yml")}).ok());
}

}  // namespace
}  // namespace ocisecrets::compose
