// `oci-secrets compose import|rm` with the real Compose implementations: docker-compose 1.29
// against a dockerd 20.10 of the suite's own (the shim registered as its runtime
// oci-secrets), and podman-compose 1.0.3 against Podman on the suite's own storage with a
// hooks.d entry that runs the hook for every container (the opt-in is the environment
// variable, which hooks.d cannot match). Each test has its own project directory.
// Needs root.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

namespace fs = std::filesystem;

const Tool kDockerComposeTool{"/usr/bin/docker-compose", "docker-compose"};
const Tool kPodmanComposeTool{"/usr/bin/podman-compose", "podman-compose"};
constexpr char kOut[] = "docker-compose.oci-secrets.yml";

// What each container prints: the file, its mode and owner, and the mount under it.
constexpr char kReadScript[] =
    "cat /run/secrets/my_secret; echo; stat -c '%a %u %g' /run/secrets/my_secret; "
    "grep ' /run/secrets ' /proc/mounts | cut -d' ' -f3,4 | cut -d, -f1";

// A Compose file of one service `redis` (busybox in place of redis, no network: the
// suite's dockerd has none; rlimits crun may set here) running kReadScript, with `service_keys` (indented for the
// service) and the top-level secret my_secret from `file: ./my_secret.txt`.
std::string ComposeFile(const std::string& service_keys) {
  return std::string("version: \"3.8\"\nservices:\n  redis:\n    image: ocs-busybox\n"
                     "    network_mode: none\n    ulimits: {nofile: 1024, nproc: 1024}\n    command: [\"sh\", \"-c\", \"") +
         kReadScript + "\"]\n" + service_keys + "secrets:\n  my_secret:\n    file: ./my_secret.txt\n";
}
// The seed's Compose file: the short syntax.
std::string SeedCompose() { return ComposeFile("    secrets:\n      - my_secret\n"); }
std::string LongSyntaxCompose() {
  return ComposeFile(
      "    environment:\n      - KEEP=me\n    secrets:\n      - source: my_secret\n"
      "        uid: \"1000\"\n        gid: \"1000\"\n        mode: 0400\n");
}

class ComposeTest : public EngineTest {
 protected:
  void ArrangeSuite() override {
    if (!StartWorld({kDockerdTool, kDockerTool, kContainerdTool, kCtrTool, kRuncTool,
                     kPodmanTool, kDockerComposeTool, kPodmanComposeTool})) {
      return;
    }
    containerd_ = StartContainerd(*world_).release();
    ASSERT_NE(containerd_, nullptr);
    dockerd_ = StartDockerd(
        *world_, WriteShippedDaemonJson(
                     *world_, ::ocisecrets::testing::DockerEngineLayout::Hermetic(nlohmann::json::object())))
                   .release();
    ASSERT_NE(dockerd_, nullptr);
    ASSERT_TRUE(ImportEngineImage(*world_));
    // The hooks.d entries `install podman --env-opt-in` writes, run for every container:
    // the hook itself looks for the opt-in (here OCI_SECRETS_SERVICE), none: exit 0.
    CommandResult installed = world_->daemon.Cli(
        {"install", "podman", "--env-opt-in", "--root", world_->dir.File("podman-root"), "--hook",
         BinPath("oci-secrets-hook"), "--hook-config", world_->hook_config});
    ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
    std::string hooks = world_->dir.File("podman-root/usr/share/containers/oci/hooks.d");
    ASSERT_NE(world_->ReadFile(hooks + "/oci-secrets-prestart.json").find("\"always\": true"),
              std::string::npos);
    // podman-compose runs `podman`: this one is Podman on the suite's storage, hooks and
    // network config dir (its `network create` never reaches the machine's). podman-compose
    // 1.0.3 adds `--net PROJECT_default --network-alias S` even to `network_mode: none`,
    // which Podman refuses; the suite has no network, so the wrapper drops those two.
    fs::create_directories(world_->dir.File("podman/net"));
    std::string argv;
    for (const std::string& a : PodmanArgv(*world_, {"--network-config-dir", world_->dir.File("podman/net")}, hooks)) {
      argv += "'" + a + "' ";
    }
    podman_ = world_->dir.WriteFile(
        "podman-wrapper",
        "#!/bin/sh\nskip=0\nfor a do\n  shift\n  if [ $skip = 1 ]; then skip=0; continue; fi\n"
        "  case \"$a\" in --net|--network-alias) skip=1; continue;; esac\n  set -- \"$@\" \"$a\"\n"
        "done\nexec " + argv + "\"$@\"\n",
        0755);
  }
  static void TearDownTestSuite() {
    delete dockerd_;
    dockerd_ = nullptr;
    delete containerd_;
    containerd_ = nullptr;
    StopWorld();
  }

  // A project dir NAME holding docker-compose.yml and my_secret.txt (a fresh payload).
  std::string MakeProject(const std::string& name, const std::string& compose) {
    dir_ = world_->dir.File(name);
    mkdir(dir_.c_str(), 0755);
    payload_ = UniquePayload();
    world_->dir.WriteFile(name + "/docker-compose.yml", compose, 0644);
    world_->dir.WriteFile(name + "/my_secret.txt", payload_, 0644);
    return dir_;
  }
  CommandResult Import() {
    return world_->daemon.Cli({"compose", "import", "-f", dir_ + "/docker-compose.yml"});
  }
  CommandResult DockerCompose(const std::string& file, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kDockerComposeTool.path, "--no-ansi", "-f", file};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {}, {"DOCKER_HOST=" + DockerHost(*world_)}, std::chrono::seconds(180));
  }
  CommandResult PodmanCompose(const std::string& file, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kPodmanComposeTool.path, "--podman-path", podman_, "-f", file};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {}, {}, std::chrono::seconds(180));
  }
  CommandResult RunWithDockerCompose() {
    return DockerCompose(dir_ + "/" + kOut, {"run", "--rm", "-T", "redis"});
  }
  CommandResult RunWithPodmanCompose() {
    return PodmanCompose(dir_ + "/" + kOut, {"run", "--rm", "-T", "redis"});
  }

  // The container printed the payload, `stat` (mode uid gid) and a read-only tmpfs.
  ::testing::AssertionResult ReadsFromAReadOnlyTmpfs(const CommandResult& r,
                                                     const std::string& stat) {
    const std::string want = payload_ + "\n" + stat + "\ntmpfs ro\n";
    if (r.exit_code != 0 || r.out.find(want) == std::string::npos) {
      // The payload is the test's own marker (UniquePayload), not a user's secret.
      return ::testing::AssertionFailure() << "exit " << r.exit_code << ", out \"" << r.out
                                           << "\", want \"" << want << "\"; err: " << r.err;
    }
    return ::testing::AssertionSuccess();
  }

  // Under the project dir: only the Compose file, OUT and the source file, and the payload
  // only in the source file.
  ::testing::AssertionResult HoldsNothingButTheSourceFile() {
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      std::string name = fs::relative(e.path(), dir_).string();
      if (name != "docker-compose.yml" && name != "my_secret.txt" && name != kOut) {
        found.push_back(name);
      } else if (name != "my_secret.txt" &&
                 world_->ReadFile(e.path().string()).find(payload_) != std::string::npos) {
        found.push_back(name + " (holds the payload)");
      }
    }
    if (!found.empty()) {
      std::string list;
      for (const auto& f : found) list += " " + f;
      return ::testing::AssertionFailure() << "the project dir holds:" << list;
    }
    return ::testing::AssertionSuccess();
  }

  std::string dir_;
  std::string payload_;
  static std::string podman_;
  static Background* containerd_;
  static Background* dockerd_;
};
std::string ComposeTest::podman_;
Background* ComposeTest::containerd_ = nullptr;
Background* ComposeTest::dockerd_ = nullptr;

TEST_F(ComposeTest, SeedFileRunsUnderDockerComposeAndPodmanComposeWithARealTmpfs) {
  MakeProject("seed", SeedCompose());
  // A user's file, imported under sudo: OUT is the user's too.
  ASSERT_EQ(chown((dir_ + "/docker-compose.yml").c_str(), 1000, 1000), 0);
  CommandResult imported = Import();
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.out.find("created secret seed_my_secret"), std::string::npos) << imported.out;
  EXPECT_NE(imported.out.find("created service seed_redis"), std::string::npos) << imported.out;
  struct stat st{};
  ASSERT_EQ(stat((dir_ + "/" + kOut).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(st.st_uid, 1000u) << "owned as the Compose file is";

  EXPECT_TRUE(ReadsFromAReadOnlyTmpfs(RunWithDockerCompose(), "444 0 0"));
  EXPECT_TRUE(ReadsFromAReadOnlyTmpfs(RunWithPodmanCompose(), "444 0 0"));
  EXPECT_TRUE(HoldsNothingButTheSourceFile());
}

TEST_F(ComposeTest, LongSyntaxGivesTheFileItsOwnerAndMode) {
  MakeProject("longsyntax", LongSyntaxCompose());
  CommandResult imported = Import();
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_TRUE(ReadsFromAReadOnlyTmpfs(RunWithDockerCompose(), "400 1000 1000"));
  EXPECT_TRUE(ReadsFromAReadOnlyTmpfs(RunWithPodmanCompose(), "400 1000 1000"));
  EXPECT_TRUE(HoldsNothingButTheSourceFile());
}

TEST_F(ComposeTest, ReimportChangesNothingAChangedFileRotatesAndRmRemovesItAll) {
  MakeProject("again", SeedCompose());
  ASSERT_EQ(Import().exit_code, 0);
  const std::string out_before = world_->ReadFile(dir_ + "/" + kOut);

  CommandResult again = Import();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("unchanged secret again_my_secret"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("unchanged service again_redis"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("nothing changed"), std::string::npos) << again.out;
  EXPECT_EQ(world_->ReadFile(dir_ + "/" + kOut), out_before);

  payload_ = UniquePayload();
  world_->dir.WriteFile("again/my_secret.txt", payload_, 0644);
  CommandResult rotated = Import();
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("rotated secret again_my_secret (data version 2)"), std::string::npos)
      << rotated.out;
  EXPECT_TRUE(ReadsFromAReadOnlyTmpfs(RunWithDockerCompose(), "444 0 0"));

  CommandResult removed = world_->daemon.Cli({"compose", "rm", "-f", dir_ + "/docker-compose.yml"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(removed.out.find("removed service again_redis"), std::string::npos) << removed.out;
  EXPECT_NE(removed.out.find("removed secret again_my_secret"), std::string::npos) << removed.out;
  EXPECT_FALSE(fs::exists(dir_ + "/" + kOut));
  CommandResult secrets = world_->daemon.Cli({"secret", "ls", "-q", "--filter", "name=again_my_secret"});
  EXPECT_EQ(secrets.out, "") << "the secret is gone";
  CommandResult services = world_->daemon.Cli({"service", "inspect", "again_redis"});
  EXPECT_NE(services.exit_code, 0) << "the service is gone: " << services.out;
  CommandResult nothing = world_->daemon.Cli({"compose", "rm", "-f", dir_ + "/docker-compose.yml"});
  EXPECT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_NE(nothing.out.find("nothing to remove"), std::string::npos) << nothing.out;
}

// Compose's own `file:` secrets are bind mounts under /run/secrets: under our opt-in they
// would be hidden by our tmpfs, so the start fails closed naming them.
TEST_F(ComposeTest, ServiceKeepingItsOwnFileSecretsUnderTheOptInFailsClosed) {
  MakeProject("trap", SeedCompose());
  ASSERT_EQ(Import().exit_code, 0);
  std::string own = SeedCompose();
  own.replace(own.find("    secrets:\n      - my_secret"), 0,
              "    runtime: oci-secrets\n    environment:\n      OCI_SECRETS_SERVICE: trap_redis\n");
  world_->dir.WriteFile("trap/own.yml", own, 0644);
  CommandResult r = DockerCompose(dir_ + "/own.yml", {"run", "--rm", "-T", "redis"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find(payload_), std::string::npos) << "the container never ran";
  EXPECT_NE(r.err.find("already holds mounts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/run/secrets/my_secret"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ocisecrets::itest
