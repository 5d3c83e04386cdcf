// The `oci-secrets` CLI driven as a user would, against a real oci-secretsd started per
// test in its own temp dir (harness Daemon).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace ocisecrets {
namespace {

using itest::BinPath;
using itest::CommandResult;
using itest::Daemon;
using itest::RunAs;
using itest::RunCommand;
using nlohmann::json;

const std::regex kIdLine("[0-9a-z]{25}\n");
const std::regex kRfc3339("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z");

std::string Describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// A failed command: exit 1 and exactly one line "Error: ..." containing `part`.
void ExpectError(const CommandResult& r, const std::string& part, const std::string& what) {
  EXPECT_EQ(r.exit_code, 1) << what << "\n" << Describe(r);
  EXPECT_EQ(r.err.rfind("Error: ", 0), 0u) << what << "\n" << Describe(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << "\n" << Describe(r);
  EXPECT_NE(r.err.find(part), std::string::npos) << what << "\n" << Describe(r);
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d_.Start().ok()) << d_.Log(); }

  // Runs a command that must succeed; returns its stdout.
  std::string Ok(const std::vector<std::string>& args, std::string_view in = {}) {
    CommandResult r = d_.Cli(args, in);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.err, "");
    return r.out;
  }

  std::string CreateSecret(const std::string& name, std::string_view payload) {
    std::string out = Ok({"secret", "create", name, "-"}, payload);
    EXPECT_TRUE(std::regex_match(out, kIdLine)) << out;
    return out.substr(0, 25);
  }

  // What the manager holds, to prove that a refused command changed nothing.
  std::string State() {
    return d_.Cli({"secret", "ls", "--format", "json"}).out + "|" +
           d_.Cli({"service", "ls", "--format", "json"}).out;
  }

  Daemon d_;
};

TEST_F(CliTest, CreatesFromStdinAndFileListsInspectsAndRemoves) {
  std::string pw_id = CreateSecret("redis_password", "mysecretpassword");
  std::string cert = d_.dir().WriteFile("cert.pem", "-----BEGIN CERTIFICATE-----\nxyz\n");
  std::string out = Ok({"secret", "create", "tls_cert", cert, "--label", "env=prod"});
  ASSERT_TRUE(std::regex_match(out, kIdLine)) << out;
  std::string cert_id = out.substr(0, 25);

  // ls: Docker's columns and widths, sorted by name, ages in words.
  std::vector<std::string> table = Lines(Ok({"secret", "ls"}));
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0].rfind("ID                          NAME             DRIVER    CREATED  ", 0),
            0u)
      << table[0];
  EXPECT_EQ(table[1].rfind(pw_id + "   redis_password             ", 0), 0u) << table[1];
  EXPECT_EQ(table[2].rfind(cert_id + "   tls_cert                   ", 0), 0u) << table[2];
  EXPECT_NE(table[1].find(" ago"), std::string::npos) << table[1];

  EXPECT_EQ(Ok({"secret", "ls", "-q"}), pw_id + "\n" + cert_id + "\n");
  EXPECT_EQ(Ok({"secret", "ls", "-q", "--filter", "label=env=prod"}), cert_id + "\n");
  EXPECT_EQ(Ok({"secret", "ls", "-q", "--filter", "name=redis_password"}), pw_id + "\n");
  std::vector<std::string> json_lines = Lines(Ok({"secret", "ls", "--format", "json"}));
  ASSERT_EQ(json_lines.size(), 2u);
  EXPECT_EQ(json::parse(json_lines[1])["Labels"]["env"], "prod");

  // inspect: a JSON array like Docker's; never the payload.
  std::string inspected = Ok({"secret", "inspect", "redis_password", cert_id});
  EXPECT_EQ(inspected.find("mysecretpassword"), std::string::npos);
  EXPECT_EQ(inspected.find("\"Data\""), std::string::npos);
  json j = json::parse(inspected);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["ID"], pw_id);
  EXPECT_GT(j[0]["Version"]["Index"].get<std::uint64_t>(), 0u);
  EXPECT_TRUE(std::regex_match(j[0]["CreatedAt"].get<std::string>(), kRfc3339)) << j[0];
  EXPECT_TRUE(std::regex_match(j[0]["UpdatedAt"].get<std::string>(), kRfc3339)) << j[0];
  EXPECT_EQ(j[0]["Spec"]["Name"], "redis_password");
  EXPECT_EQ(j[1]["Spec"]["Labels"]["env"], "prod");

  // An unknown name: the found ones are printed, the error is Docker's.
  CommandResult r = d_.Cli({"secret", "inspect", "redis_password", "nosuch"});
  ExpectError(r, "No such secret: nosuch", "inspect unknown");
  EXPECT_EQ(json::parse(r.out).size(), 1u);

  // update changes labels only.
  Ok({"secret", "update", "--label-add", "tier=db", "redis_password"});
  j = json::parse(Ok({"secret", "inspect", "redis_password"}));
  EXPECT_EQ(j[0]["Spec"]["Labels"]["tier"], "db");
  EXPECT_EQ(j[0]["ID"], pw_id);

  // rm by name and by unique ID prefix.
  EXPECT_EQ(Ok({"secret", "rm", "redis_password"}), "redis_password\n");
  EXPECT_EQ(Ok({"secret", "rm", cert_id.substr(0, 12)}), cert_id.substr(0, 12) + "\n");
  EXPECT_EQ(Ok({"secret", "ls", "-q"}), "");
  ExpectError(d_.Cli({"secret", "rm", "redis_password"}), "not found", "rm twice");
}

TEST_F(CliTest, PayloadMustBeOneTo511999Bytes) {
  std::string before = State();
  ExpectError(d_.Cli({"secret", "create", "empty", "-"}, ""),
              "secret data must be larger than 0 and less than 512000 bytes", "0 bytes");
  ExpectError(d_.Cli({"secret", "create", "big", "-"}, std::string(512000, 'x')),
              "less than 512000 bytes", "512,000 bytes");
  std::string big_file = d_.dir().WriteFile("big", std::string(512000, 'y'));
  ExpectError(d_.Cli({"secret", "create", "bigfile", big_file}), "less than 512000 bytes",
              "512,000-byte file");
  EXPECT_EQ(State(), before) << "a refused create changed something";
  CreateSecret("max", std::string(511999, 'z'));
  EXPECT_EQ(Ok({"secret", "ls", "--format", "json"}).find("\"Name\":\"max\"") != std::string::npos,
            true);
}

TEST_F(CliTest, BadSecretInputIsRefusedAndChangesNothing) {
  CreateSecret("redis_password", "pw");
  std::string before = State();
  struct Case {
    const char* description;
    std::vector<std::string> args;
    const char* error_part;
  } cases[] = {
      {"space in name", {"secret", "create", "bad name", "-"}, "invalid secret name"},
      {"leading dash-like char", {"secret", "create", "_x", "-"}, "invalid secret name"},
      {"trailing dot", {"secret", "create", "x.", "-"}, "invalid secret name"},
      {"65 characters", {"secret", "create", std::string(65, 'a'), "-"}, "invalid secret name"},
      {"slash", {"secret", "create", "a/b", "-"}, "invalid secret name"},
      {"same name in another case", {"secret", "create", "REDIS_password", "-"}, "already exists"},
      {"missing file",
       {"secret", "create", "x", "/nonexistent/cert.pem"},
       "open /nonexistent/cert.pem: No such file or directory"},
      {"empty label key", {"secret", "create", "x", "-", "--label", "=v"}, "empty key"},
      {"bad filter", {"secret", "ls", "--filter", "color=red"}, "invalid filter"},
  };
  for (const auto& c : cases) {
    ExpectError(d_.Cli(c.args, "payload"), c.error_part, c.description);
  }
  EXPECT_EQ(State(), before);
  // 64 characters is the longest name that passes.
  CreateSecret(std::string(64, 'a'), "pw");
}

TEST_F(CliTest, ServicesCreateUpdateAndRemove) {
  std::string pw_id = CreateSecret("redis_password", "pw");
  std::string cert_id = CreateSecret("tls_cert", "cert");
  std::string out = Ok({"service", "create", "--name", "redis", "--secret", "redis_password",
                        "--secret", "source=tls_cert,target=server.pem,uid=999,gid=999,mode=0400"});
  ASSERT_TRUE(std::regex_match(out, kIdLine)) << out;

  json svc = json::parse(Ok({"service", "inspect", "redis"}));
  ASSERT_EQ(svc.size(), 1u);
  json secrets = svc[0]["Spec"]["Secrets"];
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets[0]["SecretName"], "redis_password");
  EXPECT_EQ(secrets[0]["SecretID"], pw_id);
  EXPECT_EQ(secrets[0]["File"]["Name"], "redis_password");
  EXPECT_EQ(secrets[0]["File"]["UID"], "0");
  EXPECT_EQ(secrets[0]["File"]["Mode"], 0444);
  EXPECT_EQ(secrets[1]["SecretID"], cert_id);
  EXPECT_EQ(secrets[1]["File"]["Name"], "server.pem");
  EXPECT_EQ(secrets[1]["File"]["UID"], "999");
  EXPECT_EQ(secrets[1]["File"]["GID"], "999");
  EXPECT_EQ(secrets[1]["File"]["Mode"], 0400);

  std::vector<std::string> table = Lines(Ok({"service", "ls"}));
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[0].rfind("ID                          NAME      SECRETS   LEASES    CREATED", 0),
            0u)
      << table[0];
  EXPECT_NE(table[1].find("redis     2         0"), std::string::npos) << table[1];

  // A secret in use cannot go, with Docker's wording.
  ExpectError(d_.Cli({"secret", "rm", "redis_password"}),
              "secret 'redis_password' is in use by the following service: redis", "rm in use");

  // update: take one away, add another with the long syntax.
  CreateSecret("api_key", "k");
  EXPECT_EQ(Ok({"service", "update", "--secret-rm", "redis_password", "--secret-add",
                "source=api_key,target=keys/api,mode=440", "redis"}),
            "redis\n");
  secrets = json::parse(Ok({"service", "inspect", "redis"}))[0]["Spec"]["Secrets"];
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets[0]["SecretName"], "tls_cert");
  EXPECT_EQ(secrets[1]["SecretName"], "api_key");
  EXPECT_EQ(secrets[1]["File"]["Name"], "keys/api");
  EXPECT_EQ(secrets[1]["File"]["Mode"], 0440);

  EXPECT_EQ(Ok({"secret", "rm", "redis_password"}), "redis_password\n");
  EXPECT_EQ(Ok({"service", "rm", "redis"}), "redis\n");
  EXPECT_EQ(Ok({"service", "ls", "-q"}), "");
  EXPECT_EQ(Ok({"secret", "rm", "tls_cert", "api_key"}), "tls_cert\napi_key\n");
}

// Podman's --secret form is accepted, its type=env refused saying why; inspect shows
// where the files go, the default too.
TEST_F(CliTest, ServiceTakesPodmansSecretSyntaxAndInspectShowsTheSecretsDir) {
  CreateSecret("tls_cert", "cert");
  Ok({"service", "create", "--name", "web", "--secret",
      "tls_cert,type=mount,target=server.pem,uid=999,gid=998,mode=0400"});
  json svc = json::parse(Ok({"service", "inspect", "web"}))[0];
  EXPECT_EQ(svc["Spec"]["Secrets"][0]["SecretName"], "tls_cert");
  EXPECT_EQ(svc["Spec"]["Secrets"][0]["File"]["Name"], "server.pem");
  EXPECT_EQ(svc["Spec"]["Secrets"][0]["File"]["GID"], "998");
  EXPECT_EQ(svc["Spec"]["Secrets"][0]["File"]["Mode"], 0400);
  EXPECT_EQ(svc["Spec"]["SecretsDir"], "");
  EXPECT_EQ(svc["EffectiveSecretsDir"], "/run/secrets");
  EXPECT_EQ(svc["SecretsDirIsDefault"], true);
  Ok({"service", "update", "--secrets-dir", "/etc/web", "web"});
  svc = json::parse(Ok({"service", "inspect", "web"}))[0];
  EXPECT_EQ(svc["EffectiveSecretsDir"], "/etc/web");
  EXPECT_EQ(svc["SecretsDirIsDefault"], false);

  const std::string before = State();
  ExpectError(d_.Cli({"service", "create", "--name", "db", "--secret", "tls_cert,type=env"}),
              "type=env is not supported: a secret in the environment leaks into inspect "
              "output, logs and every child process (Docker refused it too, moby#31422)",
              "type=env");
  EXPECT_EQ(State(), before);
}

// A runtime bound to a service the manager does not know would fail at every start:
// install refuses it at once, and writes nothing.
TEST_F(CliTest, InstallDockerRefusesAnUnknownService) {
  itest::TempDir root;
  ExpectError(d_.Cli({"install", "docker", "--root", root.path(), "--service", "redis"}),
              "install docker: service redis not found: create it first (oci-secrets service "
              "create --name redis --secret ...)",
              "unknown service");
  EXPECT_TRUE(std::filesystem::is_empty(root.path()));
  std::string id = Ok({"service", "create", "--name", "redis"}).substr(0, 25);
  ExpectError(d_.Cli({"install", "docker", "--root", root.path(), "--service", id}),
              "service " + id + " not found", "a service's ID is not its name");
  std::string out = Ok({"install", "docker", "--root", root.path(), "--service", "redis"});
  EXPECT_NE(out.find("added runtimes.oci-secrets, runtimes.oci-secrets-redis"),
            std::string::npos)
      << out;
  EXPECT_EQ(Ok({"install", "docker", "--root", root.path(), "--service", "redis"}),
            "nothing changed\n");
  out = Ok({"uninstall", "docker", "--root", root.path()});
  EXPECT_NE(out.find("next: restart dockerd to drop the runtime"), std::string::npos) << out;
}

TEST_F(CliTest, BadServiceInputIsRefusedAndChangesNothing) {
  CreateSecret("redis_password", "pw");
  CreateSecret("tls_cert", "cert");
  Ok({"service", "create", "--name", "redis", "--secret", "redis_password"});
  std::string before = State() + d_.Cli({"service", "inspect", "redis"}).out;
  struct Case {
    const char* description;
    std::vector<std::string> args;
    const char* error_part;
  } cases[] = {
      {"unknown secret",
       {"service", "create", "--name", "web", "--secret", "nosuch"},
       "secret not found: nosuch"},
      {"unknown secret, long syntax",
       {"service", "create", "--name", "web", "--secret", "source=nosuch,target=x"},
       "secret not found: nosuch"},
      {"duplicate target",
       {"service", "create", "--name", "web", "--secret", "redis_password", "--secret",
        "source=tls_cert,target=redis_password"},
       "duplicate secret target"},
      {"dotdot in target",
       {"service", "create", "--name", "web", "--secret", "source=tls_cert,target=../../etc/x"},
       "\"..\""},
      {"bad mode",
       {"service", "create", "--name", "web", "--secret", "source=tls_cert,mode=0999"},
       "invalid mode '0999'"},
      {"setuid mode",
       {"service", "create", "--name", "web", "--secret", "source=tls_cert,mode=4444"},
       "setuid"},
      {"bad uid",
       {"service", "create", "--name", "web", "--secret", "source=tls_cert,uid=x"},
       "invalid uid 'x'"},
      {"unknown field",
       {"service", "create", "--name", "web", "--secret", "source=tls_cert,own=1"},
       "unknown field 'own'"},
      {"bad service name",
       {"service", "create", "--name", "bad name", "--secret", "tls_cert"},
       "invalid service name"},
      {"relative secrets dir",
       {"service", "create", "--name", "web", "--secrets-dir", "run/s", "--secret", "tls_cert"},
       "must be an absolute path"},
      {"service name taken",
       {"service", "create", "--name", "REDIS", "--secret", "tls_cert"},
       "already exists"},
      {"update: unknown secret",
       {"service", "update", "--secret-add", "nosuch", "redis"},
       "secret not found: nosuch"},
      {"update: duplicate target",
       {"service", "update", "--secret-add", "source=tls_cert,target=redis_password", "redis"},
       "duplicate secret target"},
      {"update: removing what is not there",
       {"service", "update", "--secret-rm", "tls_cert", "redis"},
       "has no secret tls_cert"},
      {"update: unknown service",
       {"service", "update", "--secret-add", "tls_cert", "nosuch"},
       "not found"},
  };
  for (const auto& c : cases) {
    ExpectError(d_.Cli(c.args), c.error_part, c.description);
  }
  EXPECT_EQ(State() + d_.Cli({"service", "inspect", "redis"}).out, before);
}

TEST_F(CliTest, ServiceConstraintsShowInInspectAndUpdateAddsAndRemovesThem) {
  CreateSecret("redis_password", "pw");
  EXPECT_TRUE(std::regex_match(
      Ok({"service", "create", "--name", "redis", "--secret", "redis_password", "--constraint",
          "node.labels.zone == eu", "--constraint", "node.role!=worker"}),
      kIdLine));
  auto constraints = [&] {
    json spec = json::parse(Ok({"service", "inspect", "redis"}))[0]["Spec"];
    return spec.contains("Placement") ? spec["Placement"]["Constraints"] : json::array();
  };
  EXPECT_EQ(constraints(), json({"node.labels.zone==eu", "node.role!=worker"}))
      << "shown in their canonical text";

  EXPECT_EQ(Ok({"service", "update", "--constraint-rm", "node.labels.zone==eu", "--constraint-add",
                "node.labels.zone==us", "--constraint-add", "node.role != worker", "redis"}),
            "redis\n");
  EXPECT_EQ(constraints(), json({"node.role!=worker", "node.labels.zone==us"}))
      << "removed by its canonical text; one already there is not added twice";

  EXPECT_EQ(Ok({"service", "update", "--constraint-rm", " node.role != worker ", "--constraint-rm",
                "node.labels.zone==us", "redis"}),
            "redis\n");
  EXPECT_EQ(constraints(), json::array());
  EXPECT_EQ(Ok({"service", "update", "--constraint", "node.labels.zone==eu", "redis"}), "redis\n");
  EXPECT_EQ(constraints(), json({"node.labels.zone==eu"})) << "--constraint adds, as --constraint-add";
  EXPECT_EQ(Ok({"service", "update", "--constraint-rm", "node.labels.zone==eu", "redis"}), "redis\n");
  json spec = json::parse(Ok({"service", "inspect", "redis"}))[0]["Spec"];
  EXPECT_FALSE(spec.contains("Placement")) << "no constraints, no Placement: " << spec.dump();
}

TEST_F(CliTest, BadConstraintsAreRefusedBeforeAnyCallAndChangeNothing) {
  CreateSecret("redis_password", "pw");
  Ok({"service", "create", "--name", "redis", "--secret", "redis_password", "--constraint",
      "node.labels.zone==eu"});
  std::string before = State() + d_.Cli({"service", "inspect", "redis"}).out;
  const std::string unknown_key =
      "constraint \"node.zone==eu\": unknown key node.zone; use node.id, node.hostname, "
      "node.role or node.labels.KEY";
  struct Case {
    const char* description;
    std::vector<std::string> args;
    std::string error_part;
  };
  const std::vector<Case> cases = {
      {"create: unknown key",
       {"service", "create", "--name", "web", "--secret", "redis_password", "--constraint",
        "node.zone==eu"},
       unknown_key},
      {"create: no operator",
       {"service", "create", "--name", "web", "--constraint", "node.labels.zone=eu"},
       "constraint \"node.labels.zone=eu\": no operator: use KEY==VALUE or KEY!=VALUE"},
      {"update: add an unknown key",
       {"service", "update", "--constraint-add", "node.zone==eu", "redis"},
       unknown_key},
      {"update: rm a malformed one",
       {"service", "update", "--constraint-rm", "node.labels.zone", "redis"},
       "constraint \"node.labels.zone\": no operator"},
      {"update: rm one the service does not have",
       {"service", "update", "--constraint-rm", "node.labels.zone==us", "redis"},
       "service redis has no constraint node.labels.zone==us"},
  };
  for (const Case& c : cases) ExpectError(d_.Cli(c.args), c.error_part, c.description);
  EXPECT_EQ(State() + d_.Cli({"service", "inspect", "redis"}).out, before);

  // With no manager to reach, the constraint's own error still comes first: it is
  // checked before any call.
  itest::TempDir dir;
  const std::string nowhere = "unix://" + dir.File("none.sock");
  for (const Case& c : {cases[0], cases[2]}) {
    std::vector<std::string> argv = {BinPath("oci-secrets"), "--host", nowhere};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ExpectError(RunCommand(argv), c.error_part, std::string(c.description) + ", no manager");
  }
}

TEST_F(CliTest, EverythingSurvivesARestart) {
  std::string id = CreateSecret("redis_password", "pw");
  Ok({"secret", "create", "tls_cert", "-", "--label", "env=prod"}, "cert");
  Ok({"service", "create", "--name", "redis", "--secret", "redis_password", "--secret",
      "source=tls_cert,target=server.pem,mode=0400"});
  std::string secrets = Ok({"secret", "inspect", "redis_password", "tls_cert"});
  std::string service = Ok({"service", "inspect", "redis"});

  EXPECT_EQ(d_.Stop(), 0) << d_.Log();
  ASSERT_TRUE(d_.Start().ok()) << d_.Log();

  EXPECT_EQ(Ok({"secret", "inspect", "redis_password", "tls_cert"}), secrets);
  EXPECT_EQ(Ok({"service", "inspect", "redis"}), service);
  ExpectError(d_.Cli({"secret", "rm", id}), "in use by the following service: redis",
              "still in use after restart");
}

TEST_F(CliTest, NonAdminCallerIsRefused) {
  CreateSecret("redis_password", "pw");
  std::string before = State();
  // The socket (0660 root) keeps others out before any HTTP.
  ExpectError(d_.CliAs(RunAs{}, {"secret", "ls"}), "Permission denied (EACCES)",
              "connect as nobody");
  // With the socket opened up, the manager's own check (peer uid) answers 403.
  ASSERT_EQ(::chmod(d_.socket_path().c_str(), 0666), 0);
  ExpectError(d_.CliAs(RunAs{}, {"secret", "create", "x", "-"}, "payload"),
              "permission denied: uid 65534 is not root", "create as nobody");
  ExpectError(d_.CliAs(RunAs{}, {"secret", "rm", "redis_password"}), "permission denied: uid 65534",
              "rm as nobody");
  ExpectError(d_.CliAs(RunAs{}, {"service", "create", "--name", "s", "--secret", "redis_password"}),
              "permission denied: uid 65534", "service create as nobody");
  EXPECT_EQ(State(), before);
}

TEST_F(CliTest, UsageErrorsExitTwoAndChangeNothing) {
  std::string before = State();
  struct Case {
    const char* description;
    std::vector<std::string> args;
  } cases[] = {
      {"no command", {}},
      {"missing file argument", {"secret", "create", "x"}},
      {"unknown flag", {"secret", "ls", "--colour"}},
      {"bad format", {"secret", "ls", "--format", "yaml"}},
      {"unknown command", {"secret", "frobnicate"}},
      {"service create without --name", {"service", "create", "--secret", "x"}},
  };
  for (const auto& c : cases) {
    CommandResult r = d_.Cli(c.args, "payload");
    EXPECT_EQ(r.exit_code, 2) << c.description << "\n" << Describe(r);
    EXPECT_EQ(r.err.rfind("Error: ", 0), 0u) << c.description << "\n" << Describe(r);
    EXPECT_NE(r.err.find("--help"), std::string::npos) << c.description;
  }
  EXPECT_EQ(State(), before);
}

TEST_F(CliTest, EveryCommandHasHelpWithAnExample) {
  std::vector<std::vector<std::string>> commands = {
      {},
      {"secret"},
      {"secret", "create"},
      {"secret", "ls"},
      {"secret", "inspect"},
      {"secret", "update"},
      {"secret", "rm"},
      {"service"},
      {"service", "create"},
      {"service", "update"},
      {"service", "ls"},
      {"service", "inspect"},
      {"service", "rm"},
      {"cluster"},
      {"cluster", "init"},
      {"cluster", "join-token"},
      {"cluster", "inspect"},
      {"cluster", "update"},
      {"cluster", "admin-cert"},
      {"node"},
      {"node", "ls"},
      {"node", "inspect"},
      {"node", "update"},
      {"node", "rm"},
  };
  for (auto args : commands) {
    std::string what = "oci-secrets";
    for (const auto& a : args) what += " " + a;
    args.push_back("--help");
    CommandResult r = RunCommand([&] {
      std::vector<std::string> argv = {BinPath("oci-secrets")};
      argv.insert(argv.end(), args.begin(), args.end());
      return argv;
    }());
    EXPECT_EQ(r.exit_code, 0) << what << "\n" << Describe(r);
    EXPECT_NE(r.out.find("Usage: " + what), std::string::npos) << what << "\n" << r.out;
    if (args.size() > 2) {
      EXPECT_NE(r.out.find("oci-secrets " + args[0] + " " + args[1]), std::string::npos)
          << what << " has no example\n"
          << r.out;
    }
  }
  for (const char* command : {"create", "update"}) {
    CommandResult r = RunCommand({BinPath("oci-secrets"), "service", command, "--help"});
    EXPECT_NE(r.out.find("node.labels.zone=="), std::string::npos)
        << "service " << command << " shows a constraint example\n"
        << r.out;
    EXPECT_NE(r.out.find(std::string(command) == "create" ? "--constraint" : "--constraint-rm"),
              std::string::npos)
        << r.out;
  }
}

// What works on any Docker comes first: the environment opt-in, then annotations, then
// the default runtime.
TEST(CliHelpTest, InstallHelpLeadsWithWhatWorksOnAnyDocker) {
  CommandResult r = RunCommand({BinPath("oci-secrets"), "install", "--help"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::size_t env = r.out.find("docker run --runtime oci-secrets -e OCI_SECRETS_SERVICE=S IMAGE");
  std::size_t annotation =
      r.out.find("docker run --runtime oci-secrets --annotation org.oci-secrets.service=S");
  std::size_t dflt = r.out.find("--default-runtime makes it dockerd's default");
  ASSERT_NE(env, std::string::npos) << r.out;
  ASSERT_NE(annotation, std::string::npos) << r.out;
  ASSERT_NE(dflt, std::string::npos) << r.out;
  EXPECT_LT(env, annotation) << r.out;
  EXPECT_LT(annotation, dflt) << r.out;
  EXPECT_NE(r.out.find("any Docker (20.10 too) and in Compose files"), std::string::npos)
      << r.out;
}

TEST(CliHostTest, UnreachableManagerIsAClearError) {
  itest::TempDir dir;
  std::string host = "unix://" + dir.File("none.sock");
  CommandResult r = RunCommand({BinPath("oci-secrets"), "--host", host, "secret", "ls"});
  ExpectError(r, "cannot reach the manager at " + host + ": No such file or directory (ENOENT)",
              "no manager");
  r = RunCommand({BinPath("oci-secrets"), "--host", "tcp://1.2.3.4:1", "secret", "ls"});
  ExpectError(r, "want unix:///PATH or https://HOST:PORT", "bad host");
  r = RunCommand({BinPath("oci-secrets"), "--host", "https://manager:2377", "secret", "ls"});
  ExpectError(r, "https://manager:2377 needs the cluster's CA and an admin certificate: "
                 "--tlscacert, --tlscert and --tlskey", "https host without certificates");
  r = RunCommand({BinPath("oci-secrets"), "--host", "https://manager:2377", "--tlscacert",
                  dir.File("none.pem"), "--tlscert", dir.File("none.pem"), "--tlskey",
                  dir.File("none.pem"), "secret", "ls"});
  ExpectError(r, "--tlscacert " + dir.File("none.pem"), "https host with a missing CA file");
}

TEST_F(CliTest, HostComesFromTheEnvironment) {
  CreateSecret("redis_password", "pw");
  CommandResult r = RunCommand({BinPath("oci-secrets"), "secret", "ls", "-q"}, {},
                               {"OCI_SECRETS_HOST=" + d_.host()});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out.size(), 26u) << r.out;
}

// A loopback port free right now (bound to port 0, then closed), for a cluster listener.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

class CliClusterTest : public CliTest {
 protected:
  // cluster init on a free loopback port; returns ADDR:PORT.
  std::string Init() {
    std::string addr = "127.0.0.1:" + std::to_string(FreePort());
    std::string out = Ok({"cluster", "init", "--listen-addr", addr, "--cert-expiry", "2h"});
    EXPECT_NE(out.find("Cluster initialized: "), std::string::npos) << out;
    EXPECT_NE(out.find("To add a worker to this cluster, run the following command:\n\n"
                       "    oci-secrets cluster join --token OCSTKN-1-"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(" " + addr + "\n"), std::string::npos) << out;
    return addr;
  }
};

TEST_F(CliClusterTest, InitJoinTokenInspectAndNodeLs) {
  ExpectError(d_.Cli({"node", "ls"}), "this node is not part of a cluster: run `oci-secrets "
                                      "cluster init`", "node ls before init");
  std::string addr = Init();
  ExpectError(d_.Cli({"cluster", "init"}), "this node is already part of a cluster", "init twice");

  std::string token = Ok({"cluster", "join-token", "node", "-q"});
  EXPECT_TRUE(std::regex_match(token, std::regex("OCSTKN-1-[0-9a-z]{50}-[0-9a-z]{25}\n"))) << token;
  EXPECT_EQ(Ok({"cluster", "join-token", "node", "-q"}), token);
  std::string text = Ok({"cluster", "join-token", "node"});
  EXPECT_EQ(text, "To add a worker to this cluster, run the following command:\n\n"
                  "    oci-secrets cluster join --token " +
                      token.substr(0, token.size() - 1) + " " + addr + "\n");
  std::string rotated = Ok({"cluster", "join-token", "node", "--rotate"});
  EXPECT_EQ(rotated.rfind("Successfully rotated worker join token.\n\n", 0), 0u) << rotated;
  EXPECT_EQ(rotated.find(token.substr(0, token.size() - 1)), std::string::npos);
  std::string manager = Ok({"cluster", "join-token", "manager"});
  EXPECT_EQ(manager.rfind("To add a manager to this cluster", 0), 0u) << manager;

  json info = json::parse(Ok({"cluster", "inspect"}));
  ASSERT_TRUE(info.is_array() && info.size() == 1) << info;
  EXPECT_EQ(info[0]["Role"], "manager");
  EXPECT_EQ(info[0]["CertExpiry"], 7200);
  EXPECT_EQ(info[0]["Managers"], json::array({addr}));
  EXPECT_EQ(info[0]["CACertDigest"].get<std::string>(), token.substr(9, 50));
  std::string node_id = info[0]["NodeID"];

  std::vector<std::string> rows = Lines(Ok({"node", "ls"}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(std::regex_search(rows[0], std::regex("^ID +HOSTNAME +ROLE +STATUS +CERT EXPIRES +LAST SEEN$")))
      << rows[0];
  EXPECT_TRUE(std::regex_search(rows[1], std::regex("^" + node_id + " \\* +\\S+ +manager +ready +in ")))
      << rows[1];
  EXPECT_EQ(Ok({"node", "ls", "-q"}), node_id + "\n");
  json line = json::parse(Ok({"node", "ls", "--format", "json"}));
  EXPECT_EQ(line["ID"], node_id);
  EXPECT_EQ(line["Status"]["State"], "ready");

  Ok({"node", "update", "--label-add", "zone=eu", node_id});
  json node = json::parse(Ok({"node", "inspect", node_id}));
  EXPECT_EQ(node[0]["Spec"]["Labels"]["zone"], "eu");
  ExpectError(d_.Cli({"node", "inspect", "nosuchnode"}), "No such node: nosuchnode", "inspect");
  ExpectError(d_.Cli({"node", "rm", node_id}),
              "node " + node_id + " is this manager; it cannot remove itself", "rm self");
  Ok({"cluster", "update", "--cert-expiry", "3h"});
  EXPECT_EQ(json::parse(Ok({"cluster", "inspect"}))[0]["CertExpiry"], 10800);
  ExpectError(d_.Cli({"cluster", "update", "--cert-expiry", "soon"}),
              "--cert-expiry: invalid duration 'soon'", "bad duration");

  // A restart keeps the cluster, its CA and its tokens.
  std::string now_token = Ok({"cluster", "join-token", "node", "-q"});
  EXPECT_EQ(d_.Stop(), 0) << d_.Log();
  ASSERT_TRUE(d_.Start().ok()) << d_.Log();
  EXPECT_EQ(Ok({"cluster", "join-token", "node", "-q"}), now_token);
  // Once at init, once again at the restart.
  const std::string log = d_.Log();
  const std::string serving = "serving mutual TLS on " + addr;
  const std::size_t first = log.find(serving);
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_NE(log.find(serving, first + 1), std::string::npos) << log;
}

TEST_F(CliClusterTest, InitRefusesABadListenAddress) {
  ExpectError(d_.Cli({"cluster", "init", "--listen-addr", "127.0.0.1:99999"}),
              "invalid listen address '127.0.0.1:99999': the port must be a number from 1 to 65535",
              "bad port");
  ExpectError(d_.Cli({"node", "ls"}), "this node is not part of a cluster", "nothing made");
}

TEST_F(CliClusterTest, AdminCertWritesItsFilesAndNeverOverwrites) {
  Init();
  std::string out_dir = d_.dir().path() + "/admin";
  std::string out = Ok({"cluster", "admin-cert", "--out", out_dir});
  EXPECT_NE(out.find("Admin certificate admin-"), std::string::npos) << out;
  struct Want {
    const char* name;
    mode_t mode;
    const char* header;
  };
  for (const Want& w : {Want{"ca.pem", 0644, "-----BEGIN CERTIFICATE-----"},
                        Want{"cert.pem", 0644, "-----BEGIN CERTIFICATE-----"},
                        Want{"key.pem", 0600, "-----BEGIN PRIVATE KEY-----"}}) {
    std::string path = out_dir + "/" + w.name;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 07777, w.mode) << path;
    CommandResult cat = RunCommand({"/bin/cat", path});
    EXPECT_EQ(cat.out.rfind(w.header, 0), 0u) << path;
  }
  std::string key_before = RunCommand({"/bin/cat", out_dir + "/key.pem"}).out;
  ExpectError(d_.Cli({"cluster", "admin-cert", "--out", out_dir}),
              out_dir + "/ca.pem already exists: refusing to overwrite it", "second admin-cert");
  EXPECT_EQ(RunCommand({"/bin/cat", out_dir + "/key.pem"}).out, key_before);
}

}  // namespace
}  // namespace ocisecrets
