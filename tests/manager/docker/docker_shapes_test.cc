#include "manager/api/docker/docker_shapes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/testing/status_assert.h"

namespace ocisecrets::docker {
namespace {

using ::ocisecrets::testing::IsError;

Secret Named(std::string name, std::string id, Labels labels = {}) {
  Secret s;
  s.id = std::move(id);
  s.version = 12;
  s.spec.name = std::move(name);
  s.spec.labels = std::move(labels);
  return s;
}

TEST(DockerPathTest, StripsTheVersionAndLeavesOurOwnApiAlone) {
  struct Case {
    const char* description;
    std::string path;
    std::optional<std::string> want;
  };
  const std::vector<Case> cases = {
      {"versioned secrets", "/v1.41/secrets", "/secrets"},
      {"versioned item", "/v1.25/secrets/abc/update", "/secrets/abc/update"},
      {"unversioned", "/secrets/create", "/secrets/create"},
      {"ping", "/_ping", "/_ping"},
      {"version only", "/v1.41", "/"},
      {"our API", "/v1/secrets", std::nullopt},
      {"our API root", "/v1", std::nullopt},
      {"our metrics", "/metrics", std::nullopt},
      {"no path at all", "http://x/v1/health", std::nullopt},
      {"not a version: no dot", "/v141/secrets", "/v141/secrets"},
      {"not a version: letters", "/v1.x/secrets", "/v1.x/secrets"},
      {"not a version: empty minor", "/v1./secrets", "/v1./secrets"},
  };
  for (const auto& c : cases) {
    auto got = DockerPath(c.path);
    ASSERT_EQ(got.has_value(), c.want.has_value()) << c.description;
    if (got) {
      EXPECT_EQ(std::string(*got), *c.want) << c.description;
    }
  }
}

TEST(DockerFiltersTest, ReadsTheCliAndTheSdkShapes) {
  auto cli = ParseSecretFilters(R"({"name":{"my_":true,"off":false},"label":{"env=prod":true}})");
  ASSERT_TRUE(cli.ok()) << cli.status().message();
  EXPECT_EQ(cli->name_prefixes, std::vector<std::string>{"my_"});
  EXPECT_EQ(cli->labels, std::vector<std::string>{"env=prod"});
  auto sdk = ParseSecretFilters(R"({"id":["abc"],"names":["x","y"]})");
  ASSERT_TRUE(sdk.ok()) << sdk.status().message();
  EXPECT_EQ(sdk->id_prefixes, std::vector<std::string>{"abc"});
  EXPECT_EQ(sdk->names, (std::vector<std::string>{"x", "y"}));
  auto none = ParseSecretFilters("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(Matches(Named("anything", "id1"), *none));
}

TEST(DockerFiltersTest, RefusesUnknownKeysAndOtherShapes) {
  EXPECT_TRUE(IsError(ParseSecretFilters(R"({"driver":{"x":true}})"),
                      StatusCode::kInvalidArgument, "invalid filter 'driver'"));
  EXPECT_TRUE(IsError(ParseSecretFilters("name=x"), StatusCode::kInvalidArgument,
                      "invalid filters"));
  EXPECT_TRUE(IsError(ParseSecretFilters(R"({"name":"x"})"), StatusCode::kInvalidArgument,
                      "'name' must be an object or an array"));
  EXPECT_TRUE(IsError(ParseSecretFilters(R"({"name":[1]})"), StatusCode::kInvalidArgument,
                      "must be strings"));
}

TEST(DockerFiltersTest, MatchesAsDocker) {
  const Secret secret = Named("My_Secret", "abc123", {{"env", "prod"}, {"team", "a"}});
  struct Case {
    const char* description;
    std::string filters;
    bool want;
  };
  const std::vector<Case> cases = {
      {"name prefix ignoring case", R"({"name":{"my_":true}})", true},
      {"name prefixes are ORed", R"({"name":{"zzz":true,"my":true}})", true},
      {"name prefix that is not one", R"({"name":{"secret":true}})", false},
      {"names are exact", R"({"names":{"My_Secret":true}})", true},
      {"names: another case is another name", R"({"names":{"my_secret":true}})", false},
      {"id prefix", R"({"id":{"abc":true}})", true},
      {"id prefix that is not one", R"({"id":{"bc":true}})", false},
      {"label key", R"({"label":{"env":true}})", true},
      {"label key and value", R"({"label":{"env=prod":true}})", true},
      {"label with another value", R"({"label":{"env=dev":true}})", false},
      {"labels must all match", R"({"label":{"env=prod":true,"team=b":true}})", false},
      {"keys are ANDed", R"({"name":{"my":true},"id":{"zz":true}})", false},
  };
  for (const auto& c : cases) {
    auto filters = ParseSecretFilters(c.filters);
    ASSERT_TRUE(filters.ok()) << c.description << ": " << filters.status().message();
    EXPECT_EQ(Matches(secret, *filters), c.want) << c.description;
  }
}

TEST(DockerSecretJsonTest, HasDockersFieldsOnly) {
  auto j = nlohmann::json::parse(SecretJson(Named("pw", "id1", {{"env", "prod"}})));
  EXPECT_EQ(j["ID"], "id1");
  EXPECT_EQ(j["Version"]["Index"], 12);
  EXPECT_EQ(j["Spec"]["Name"], "pw");
  EXPECT_EQ(j["Spec"]["Labels"]["env"], "prod");
  EXPECT_TRUE(j["CreatedAt"].is_string());
  EXPECT_TRUE(j["UpdatedAt"].is_string());
  EXPECT_FALSE(j.contains("DataVersion"));
  EXPECT_FALSE(j["Spec"].contains("Data"));
  EXPECT_EQ(nlohmann::json::parse(SecretJson(Named("pw", "id1")))["Spec"]["Labels"],
            nlohmann::json::object());
  EXPECT_EQ(SecretListJson({}), "[]");
}

TEST(DockerSpecTest, RefusesADriverOrTemplatingWithoutEchoingData) {
  EXPECT_TRUE(CheckSecretSpecExtras(R"({"Name":"a","Data":"aGk="})").ok());
  EXPECT_TRUE(CheckSecretSpecExtras(R"({"Name":"a","Data":"aGk=","Driver":null})").ok());
  Status driver = CheckSecretSpecExtras(R"({"Name":"a","Data":"aGk=","Driver":{"Name":"vault"}})");
  EXPECT_TRUE(IsError(driver, StatusCode::kInvalidArgument, "Driver is not supported"));
  EXPECT_EQ(driver.message().find("aGk="), std::string::npos);
  EXPECT_TRUE(IsError(CheckSecretSpecExtras(R"({"Name":"a","Templating":{"Name":"golang"}})"),
                      StatusCode::kInvalidArgument, "Templating is not supported"));
}

TEST(DockerErrorTest, BodyHasTheMessageOnly) {
  EXPECT_EQ(ErrorBody("secret x not found"), R"({"message":"secret x not found"})");
  EXPECT_EQ(MessageOf(R"({"message":"m","code":"NotFound"})"), "m");
  EXPECT_EQ(MessageOf("plain"), "plain");
}

TEST(DockerPingTest, SaysApiVersionAndAnActiveSwarmManager) {
  auto headers = PingHeaders();
  auto has = [&](const std::string& name, const std::string& value) {
    for (const auto& [n, v] : headers) {
      if (n == name && v == value) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("API-Version", "1.41"));
  EXPECT_TRUE(has("OSType", "linux"));
  EXPECT_TRUE(has("Swarm", "active/manager"));
  auto info = nlohmann::json::parse(InfoJson("0.1.0", "node1"));
  EXPECT_EQ(info["Swarm"]["LocalNodeState"], "active");
  EXPECT_EQ(info["Swarm"]["ControlAvailable"], true);
  EXPECT_EQ(info["ServerVersion"], "0.1.0");
  auto version = nlohmann::json::parse(VersionJson("0.1.0"));
  EXPECT_EQ(version["ApiVersion"], "1.41");
  EXPECT_EQ(version["Os"], "linux");
}

}  // namespace
}  // namespace ocisecrets::docker
