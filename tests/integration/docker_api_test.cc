// Docker's own clients against the daemon's unix socket: Debian's Docker CLI 20.10
// (/usr/bin/docker) and the Docker SDK for Python (python3-docker), unchanged, against a
// real oci-secretsd started per test (harness Daemon). No dockerd is involved: the CLI
// and the SDK speak Docker's Engine API to our socket.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace ocisecrets {
namespace {

using itest::CommandResult;
using itest::Daemon;
using itest::RunCommand;
using ::ocisecrets::testing::IsInstalled;
using ::ocisecrets::testing::IsRoot;

// Debian's 20.10 client, never the newer one that may come first on PATH.
constexpr const char* kDocker = "/usr/bin/docker";
constexpr const char* kPython = "/usr/bin/python3";

std::string Describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// Every answer a client printed must be free of the payload and of its base64.
void ExpectNoPayload(const CommandResult& r, const std::string& payload,
                     const std::string& payload_base64, const std::string& what) {
  for (const std::string* text : {&r.out, &r.err}) {
    EXPECT_EQ(text->find(payload), std::string::npos) << what << "\n" << Describe(r);
    EXPECT_EQ(text->find(payload_base64), std::string::npos) << what << "\n" << Describe(r);
  }
}

class DockerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(IsRoot("the Docker API test (an admin of the daemon's socket)"));
    ASSERT_TRUE(IsInstalled(kDocker, "docker.io"));
    ASSERT_TRUE(IsInstalled(kPython, "python3-docker"));
    Status started = daemon_.Start();
    ASSERT_TRUE(started.ok()) << started.message();
    config_dir_ = daemon_.dir().path() + "/docker-config";
  }

  // The environment of a Docker client: its own config dir, no other engine named.
  std::vector<std::string> ClientEnv() const {
    return {"DOCKER_CONFIG=" + config_dir_, "DOCKER_HOST=", "DOCKER_CONTEXT=",
            "DOCKER_API_VERSION="};
  }

  // /usr/bin/docker --host unix://SOCKET ARGS...
  CommandResult Docker(std::vector<std::string> args, std::string_view stdin_data = {}) const {
    args.insert(args.begin(), {kDocker, "--host", daemon_.host()});
    return RunCommand(args, stdin_data, ClientEnv());
  }

  // A shell command line as a user types it, with DOCKER_HOST set and `docker` being
  // Debian's client (PATH=/usr/bin:/bin).
  CommandResult Shell(const std::string& command_line) const {
    std::vector<std::string> env = ClientEnv();
    env.push_back("DOCKER_HOST=" + daemon_.host());
    env.push_back("PATH=/usr/bin:/bin");
    return RunCommand({"/bin/sh", "-c", command_line}, {}, env);
  }

  Daemon daemon_;
  std::string config_dir_;
};

TEST_F(DockerApiTest, DockerCliCreatesListsInspectsAndRemovesSecrets) {
  const std::string payload = "cli-payload-7f3a9";
  const std::string payload_base64 = "Y2xpLXBheWxvYWQtN2YzYTk=";
  const std::string file = daemon_.dir().path() + "/db_password.txt";
  std::ofstream(file) << payload;

  CommandResult from_file = Docker({"secret", "create", "db_password", file});
  ASSERT_EQ(from_file.exit_code, 0) << Describe(from_file);
  const std::string id = from_file.out.substr(0, from_file.out.find('\n'));
  EXPECT_EQ(id.size(), 25u) << Describe(from_file);
  CommandResult from_stdin = Docker({"secret", "create", "--label", "env=prod", "api_key", "-"},
                                    payload);
  ASSERT_EQ(from_stdin.exit_code, 0) << Describe(from_stdin);

  CommandResult ls = Docker({"secret", "ls", "--filter", "name=db_"});
  ASSERT_EQ(ls.exit_code, 0) << Describe(ls);
  EXPECT_NE(ls.out.find("db_password"), std::string::npos) << Describe(ls);
  EXPECT_EQ(ls.out.find("api_key"), std::string::npos) << Describe(ls);
  CommandResult by_label = Docker({"secret", "ls", "-q", "--filter", "label=env=prod"});
  EXPECT_EQ(by_label.exit_code, 0) << Describe(by_label);
  EXPECT_EQ(by_label.out, from_stdin.out) << Describe(by_label);

  CommandResult by_name = Docker({"secret", "inspect", "db_password"});
  ASSERT_EQ(by_name.exit_code, 0) << Describe(by_name);
  EXPECT_NE(by_name.out.find("\"ID\": \"" + id + "\""), std::string::npos) << Describe(by_name);
  CommandResult by_id = Docker({"secret", "inspect", "--format", "{{.Spec.Name}}", id});
  EXPECT_EQ(by_id.exit_code, 0) << Describe(by_id);
  EXPECT_EQ(by_id.out, "db_password\n");
  CommandResult taken = Docker({"secret", "create", "DB_PASSWORD", file});
  EXPECT_EQ(taken.exit_code, 1) << Describe(taken);
  EXPECT_NE(taken.err.find("Error response from daemon: secret DB_PASSWORD already exists"),
            std::string::npos)
      << Describe(taken);
  for (const CommandResult* r : {&from_file, &from_stdin, &ls, &by_name, &by_id, &taken}) {
    ExpectNoPayload(*r, payload, payload_base64, "docker secret");
  }

  ASSERT_EQ(daemon_.Cli({"service", "create", "--name", "web", "--secret", "api_key"}).exit_code, 0);
  CommandResult in_use = Docker({"secret", "rm", "api_key"});
  EXPECT_EQ(in_use.exit_code, 1) << Describe(in_use);
  EXPECT_NE(in_use.err.find("secret 'api_key' is in use by the following service: web"),
            std::string::npos)
      << Describe(in_use);

  CommandResult rm = Docker({"secret", "rm", "db_password"});
  EXPECT_EQ(rm.exit_code, 0) << Describe(rm);
  EXPECT_EQ(rm.out, "db_password\n");
  CommandResult gone = Docker({"secret", "inspect", "db_password"});
  EXPECT_EQ(gone.exit_code, 1) << Describe(gone);
  EXPECT_NE(gone.err.find("db_password"), std::string::npos) << Describe(gone);
}

TEST_F(DockerApiTest, OtherDockerCommandsAreToldToUseOurCli) {
  CommandResult ps = Docker({"ps"});
  EXPECT_EQ(ps.exit_code, 1) << Describe(ps);
  EXPECT_NE(ps.err.find("Error response from daemon: oci-secrets answers only Docker's secret "
                        "calls; use the oci-secrets CLI for services, containers and the rest"),
            std::string::npos)
      << Describe(ps);
}

TEST_F(DockerApiTest, TheSeedsCommandsRunVerbatimUnderDockerHost) {
  CommandResult create = Shell("printf 'This is a secret' | docker secret create my_secret -");
  ASSERT_EQ(create.exit_code, 0) << Describe(create);
  CommandResult ls = Shell("docker secret ls");
  EXPECT_EQ(ls.exit_code, 0) << Describe(ls);
  EXPECT_NE(ls.out.find("my_secret"), std::string::npos) << Describe(ls);
  CommandResult inspect = Shell("docker secret inspect my_secret");
  EXPECT_EQ(inspect.exit_code, 0) << Describe(inspect);
  EXPECT_NE(inspect.out.find("\"Name\": \"my_secret\""), std::string::npos) << Describe(inspect);
  for (const CommandResult* r : {&create, &ls, &inspect}) {
    ExpectNoPayload(*r, "This is a secret", "VGhpcyBpcyBhIHNlY3JldA==", "seed's command");
  }
  CommandResult rm = Shell("docker secret rm my_secret");
  EXPECT_EQ(rm.exit_code, 0) << Describe(rm);
  EXPECT_EQ(daemon_.Cli({"secret", "ls", "-q"}).out, "");
}

// The SDK's calls, and the raw bodies of its list and get, on stdout.
constexpr const char* kSdkScript = R"(import sys
import docker

client = docker.DockerClient(base_url='unix://' + sys.argv[1])
secret = client.secrets.create(name='sdk_secret', data=b'sdk-payload-41c2', labels={'team': 'a'})
print('created', secret.id, secret.name)
print('listed', [s.name for s in client.secrets.list()])
print('filtered', [s.name for s in client.secrets.list(filters={'name': 'nomatch'})])
got = client.secrets.get(secret.id)
print('got', got.name, got.attrs['Spec']['Labels'])
print('raw', client.api._get(client.api._url('/secrets')).text)
print('raw', client.api._get(client.api._url('/secrets/{0}', secret.id)).text)
got.remove()
print('left', len(client.secrets.list()))
try:
    client.secrets.get('sdk_secret')
except docker.errors.NotFound as e:
    print('notfound', e.explanation)
)";

TEST_F(DockerApiTest, PythonSdkCreatesListsGetsAndRemoves) {
  const std::string script = daemon_.dir().path() + "/sdk.py";
  std::ofstream(script) << kSdkScript;
  CommandResult r = RunCommand({kPython, script, daemon_.socket_path()}, {}, ClientEnv());
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("created "), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find(" sdk_secret\n"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("listed ['sdk_secret']"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("filtered []"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("got sdk_secret {'team': 'a'}"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("left 0"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("notfound secret sdk_secret not found"), std::string::npos) << Describe(r);
  ExpectNoPayload(r, "sdk-payload-41c2", "c2RrLXBheWxvYWQtNDFjMg==", "python sdk");
}

}  // namespace
}  // namespace ocisecrets
