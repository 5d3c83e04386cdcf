// Hostile service definitions and names, sent to a real oci-secretsd both raw over its
// socket (so the server's own validation is what is tested, whatever the CLI checks) and
// through the CLI. Each must be refused with a 400 / "Error: ..." line, and change nothing.
//
// Decision recorded here and in SECURITY.md: a mode with setuid, setgid or sticky bits is
// REFUSED, never silently stripped, so the operator learns that the file will not be what
// they asked for.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/api_client.h"
#include "tests/integration/harness.h"

namespace ocisecrets {
namespace {

using itest::CommandResult;
using itest::Daemon;

struct Case {
  const char* description;
  std::string body;  // a POST /v1/services body
};

std::string Service(const std::string& name, const std::string& secrets_dir,
                    const std::string& file_json) {
  nlohmann::json j = {{"Name", name}, {"SecretsDir", secrets_dir}};
  j["Secrets"] = nlohmann::json::array(
      {{{"SecretName", "pw"}, {"File", nlohmann::json::parse(file_json)}}});
  return j.dump();
}

std::string File(const std::string& name, const std::string& uid = "\"0\"",
                 const std::string& gid = "\"0\"", const std::string& mode = "292") {
  return "{\"Name\":" + nlohmann::json(name).dump() + ",\"UID\":" + uid + ",\"GID\":" + gid +
         ",\"Mode\":" + mode + "}";
}

std::vector<Case> HostileServices() {
  std::string long_component(256, 'a');
  std::string long_path;
  while (long_path.size() <= 4096) long_path += "abcdefghij/";
  long_path += "x";
  return {
      {"target is ..", Service("s", "", File(".."))},
      {"target climbs out: ../../etc/shadow", Service("s", "", File("../../etc/shadow"))},
      {"target climbs out in the middle: a/../../b", Service("s", "", File("a/../../b"))},
      {"target with .. as last component", Service("s", "", File("a/.."))},
      {"absolute target with ..", Service("s", "", File("/run/secrets/../../etc/passwd"))},
      {"target with a NUL byte", Service("s", "", File(std::string("pw\0.txt", 7)))},
      {"target with a newline", Service("s", "", File("pw\nx"))},
      {"target with an empty component", Service("s", "", File("a//b"))},
      {"target with a . component", Service("s", "", File("./pw"))},
      {"target component over 255 bytes", Service("s", "", File(long_component))},
      {"target over 4 KiB", Service("s", "", File(long_path))},
      {"uid 4294967295 ((uid_t)-1)", Service("s", "", File("pw", "\"4294967295\""))},
      {"uid 2^40", Service("s", "", File("pw", "\"1099511627776\""))},
      {"uid negative", Service("s", "", File("pw", "\"-1\""))},
      {"uid not a number", Service("s", "", File("pw", "\"root\""))},
      {"gid 4294967295", Service("s", "", File("pw", "\"0\"", "\"4294967295\""))},
      {"gid negative number", Service("s", "", File("pw", "\"0\"", "-5"))},
      {"mode with setuid (04755)", Service("s", "", File("pw", "\"0\"", "\"0\"", "2541"))},
      {"mode with setgid (02755)", Service("s", "", File("pw", "\"0\"", "\"0\"", "1517"))},
      {"mode with sticky (01777)", Service("s", "", File("pw", "\"0\"", "\"0\"", "1023"))},
      {"mode past 32 bits", Service("s", "", File("pw", "\"0\"", "\"0\"", "4294967588"))},
      {"mode negative", Service("s", "", File("pw", "\"0\"", "\"0\"", "-1"))},
      {"secrets dir relative", Service("s", "run/secrets", File("pw"))},
      {"secrets dir with ..", Service("s", "/run/../etc", File("pw"))},
      {"secrets dir with a newline", Service("s", "/run/sec\nrets", File("pw"))},
      {"secrets dir with a NUL", Service("s", std::string("/run/\0x", 7), File("pw"))},
      {"service name with a slash", Service("a/b", "", File("pw"))},
      {"service name ..", Service("..", "", File("pw"))},
      {"service name with a newline", Service("a\nb", "", File("pw"))},
      {"service name of 65 characters", Service(std::string(65, 'a'), "", File("pw"))},
      {"service name empty", Service("", "", File("pw"))},
  };
}

class HostileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(d_.Start().ok()) << d_.Log();
    CommandResult r = d_.Cli({"secret", "create", "pw", "-"}, "OCS-MARKER-hostile-service");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto t = MakeTransport(d_.host());
    ASSERT_TRUE(t.ok()) << t.status().message();
    transport_ = std::move(*t);
  }

  HttpResponse Post(const std::string& target, const std::string& body) {
    auto r = transport_->RoundTrip({"POST", target, body},
                                   std::chrono::steady_clock::now() + std::chrono::seconds(10));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : HttpResponse{};
  }

  std::string State() {
    return d_.Cli({"service", "ls", "--format", "json"}).out + "|" +
           d_.Cli({"secret", "ls", "--format", "json"}).out;
  }

  Daemon d_;
  std::unique_ptr<Transport> transport_;
};

TEST_F(HostileServiceTest, ServerRefusesEveryHostileDefinitionAndChangesNothing) {
  const std::string before = State();
  for (const auto& c : HostileServices()) {
    HttpResponse r = Post("/v1/services", c.body);
    EXPECT_EQ(r.status, 400) << c.description << ": " << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("message")) << c.description << ": " << r.body;
    std::string m = j["message"].get<std::string>();
    EXPECT_EQ(m.find('\n'), std::string::npos) << c.description << ": multi-line error";
  }
  EXPECT_EQ(State(), before);
}

TEST_F(HostileServiceTest, ServerRefusesHostileUpdatesOfAGoodService) {
  ASSERT_EQ(Post("/v1/services", Service("good", "", File("pw"))).status, 201);
  const std::string before = State();
  for (const auto& c : HostileServices()) {
    auto j = nlohmann::json::parse(c.body, nullptr, false);
    if (!j.is_object() || j["Name"] != "s") continue;  // name cases: update keeps the name
    j["Name"] = "good";
    HttpResponse r = Post("/v1/services/good/update?version=1", j.dump());
    EXPECT_TRUE(r.status == 400 || r.status == 409) << c.description << ": " << r.status << " " << r.body;
    EXPECT_NE(r.status / 100, 2) << c.description;
  }
  EXPECT_EQ(State(), before);
}

TEST_F(HostileServiceTest, SetuidModeIsRefusedNotStripped) {
  HttpResponse r = Post("/v1/services", Service("s", "", File("pw", "\"0\"", "\"0\"", "2541")));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("setuid"), std::string::npos) << r.body;
  CommandResult cli = d_.Cli({"service", "create", "--name", "s2", "--secret",
                              "source=pw,target=x,mode=04755"});
  EXPECT_EQ(cli.exit_code, 1) << cli.err;
  EXPECT_NE(cli.err.find("setuid"), std::string::npos) << cli.err;
  EXPECT_EQ(d_.Cli({"service", "inspect", "s2"}).exit_code, 1);
}

TEST_F(HostileServiceTest, CliRefusesHostileSpecsWithOneLine) {
  const std::string before = State();
  struct Case {
    const char* description;
    std::vector<std::string> args;
    const char* error_part;  // what the user reads after "Error: "
  };
  const std::vector<Case> cases = {
      {"target ..",
       {"--name", "s", "--secret", "source=pw,target=../../etc/shadow"},
       "must not contain a \"..\" component"},
      {"target with newline",
       {"--name", "s", "--secret", "source=pw,target=a\nb"},
       "contains a newline"},
      {"uid out of range",
       {"--name", "s", "--secret", "source=pw,uid=4294967295"},
       "invalid uid 4294967295: must be 0..4294967294"},
      {"gid negative",
       {"--name", "s", "--secret", "source=pw,gid=-1"},
       "invalid gid '-1': want a decimal number"},
      {"mode setgid",
       {"--name", "s", "--secret", "source=pw,mode=2755"},
       "setgid is not allowed on a secret file"},
      {"mode not octal",
       {"--name", "s", "--secret", "source=pw,mode=0999"},
       "invalid mode '0999': want octal permission bits"},
      {"name with slash", {"--name", "a/b", "--secret", "pw"}, "invalid service name \"a/b\""},
      {"secrets dir relative",
       {"--name", "s", "--secrets-dir", "run/x", "--secret", "pw"},
       "invalid secrets dir \"run/x\": must be an absolute path"},
      {"secrets dir ..",
       {"--name", "s", "--secrets-dir", "/run/../etc", "--secret", "pw"},
       "invalid secrets dir \"/run/../etc\": must not contain a \"..\" component"},
      {"long target",
       {"--name", "s", "--secret", "source=pw,target=" + std::string(4097, 'a')},
       "longer than 4096 bytes"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {"service", "create"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CommandResult r = d_.Cli(argv);
    EXPECT_EQ(r.exit_code, 1) << c.description;
    EXPECT_EQ(r.out, "") << c.description;
    EXPECT_EQ(r.err.rfind("Error: ", 0), 0u) << c.description << ": " << r.err;
    EXPECT_NE(r.err.find(c.error_part), std::string::npos) << c.description << ": " << r.err;
  }
  EXPECT_EQ(State(), before);
}

}  // namespace
}  // namespace ocisecrets
