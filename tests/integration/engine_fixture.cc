#include "tests/integration/engine_fixture.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {

std::string WriteHooksDir(const EngineWorld& world, const std::string& name, bool shipped_args) {
  std::ifstream in(std::string(OCI_SECRETS_SOURCE_DIR) + "/runtime-config/hooks.d/oci-secrets.json");
  nlohmann::json hook = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (hook.is_discarded()) {
    ADD_FAILURE() << "runtime-config/hooks.d/oci-secrets.json does not parse";
    return "";
  }
  hook["hook"]["path"] = BinPath("oci-secrets-hook");
  if (!shipped_args) hook["hook"]["args"] = {"oci-secrets-hook", "--config", world.hook_config};
  std::string dir = world.dir.File(name);
  mkdir(dir.c_str(), 0755);
  world.dir.WriteFile(name + "/oci-secrets.json", hook.dump(1), 0644);
  return dir;
}

bool WaitUntilAnswers(const std::vector<std::string>& argv, int seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (RunCommand(argv, {}, {}, std::chrono::seconds(10)).exit_code == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

void EngineWorld::WriteHookConfig(const std::string& manager_host) const {
  dir.WriteFile("hook.json",
                nlohmann::json{{"manager", manager_host}, {"deadline_ms", 3000}}.dump(), 0644);
}

std::string EngineWorld::ReadFile(const std::string& path) const { return itest::ReadFile(path); }

bool EngineWorld::Init() {
  Status started = daemon.Start();
  if (!started.ok()) {
    ADD_FAILURE() << "manager: " << started.ToString() << daemon.Log();
    return false;
  }
  payload = UniquePayload();
  CreateSecretAndService(daemon, kEngineSecret, payload, kEngineService,
                         {kEngineSecret, 0, 0, 0444});
  hook_config = dir.File("hook.json");
  WriteHookConfig(daemon.host());
  // The rootfs the hook tests use, as a tarball engines import as an image.
  Bundle bundle(dir, "");
  rootfs_tar = dir.File("rootfs.tar");
  CommandResult tar =
      RunCommand({"/bin/tar", "-C", bundle.rootfs(), "-cf", rootfs_tar, "."});
  if (tar.exit_code != 0) {
    ADD_FAILURE() << "tar rootfs: " << tar.err;
    return false;
  }
  return !::testing::Test::HasFailure();
}

std::string ContainerdSocket(const EngineWorld& world) {
  return EngineLayout(world).ContainerdSocket();
}

std::unique_ptr<Background> StartContainerd(const EngineWorld& world) {
  const ::ocisecrets::testing::DockerEngineLayout layout = EngineLayout(world);
  world.dir.WriteFile("containerd.toml", layout.ContainerdToml(), 0644);
  std::string shim_config = WriteShimConfig(world, kRuncTool);
  auto containerd = std::make_unique<Background>(
      layout.ContainerdArgv(), layout.ContainerdLog(),
      std::vector<std::string>{"OCI_SECRETS_RUNTIME_CONFIG=" + shim_config});
  if (!WaitUntilAnswers({kCtr, "-a", ContainerdSocket(world), "version"}, 30)) {
    ADD_FAILURE() << "containerd did not answer: " << world.ReadFile(layout.ContainerdLog());
    return nullptr;
  }
  return containerd;
}

std::string DockerHost(const EngineWorld& world) { return EngineLayout(world).Host(); }

std::string WriteShippedDaemonJson(const EngineWorld& world, const nlohmann::json& extra) {
  std::ifstream in(std::string(OCI_SECRETS_SOURCE_DIR) + "/runtime-config/docker/daemon.json");
  nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config["runtimes"].is_object()) {
    ADD_FAILURE() << "runtime-config/docker/daemon.json does not parse or has no runtimes";
    return "";
  }
  for (auto& [name, runtime] : config["runtimes"].items()) {
    runtime["path"] = BinPath("oci-secrets-runtime");
  }
  config.update(extra);
  return world.dir.WriteFile("daemon.json", config.dump(1), 0644);
}

std::unique_ptr<Background> StartDockerd(const EngineWorld& world, const std::string& config_path) {
  const ::ocisecrets::testing::DockerEngineLayout layout = EngineLayout(world);
  auto dockerd = std::make_unique<Background>(layout.DockerdArgv(config_path), layout.DockerdLog());
  if (!WaitUntilAnswers(layout.DockerArgv({"version"}), 60)) {
    ADD_FAILURE() << "dockerd did not answer: " << world.ReadFile(layout.DockerdLog());
    return nullptr;
  }
  CommandResult imported = RunDocker(world, {"import", world.rootfs_tar, kDockerImage});
  if (imported.exit_code != 0) {
    ADD_FAILURE() << "docker import: " << imported.err;
    return nullptr;
  }
  return dockerd;
}

CommandResult RunDocker(const EngineWorld& world, const std::vector<std::string>& args) {
  return RunCommand(EngineLayout(world).DockerArgv(args), {}, {}, std::chrono::seconds(120));
}

std::vector<std::string> PodmanArgv(const EngineWorld& world,
                                    const std::vector<std::string>& args,
                                    const std::string& hooks_dir) {
  std::vector<std::string> argv = {kPodman,
                                   "--root",
                                   world.dir.File("podman/root"),
                                   "--runroot",
                                   world.dir.File("podman/runroot"),
                                   "--tmpdir",
                                   world.dir.File("podman/tmp"),
                                   "--storage-driver",
                                   "vfs",
                                   "--cgroup-manager",
                                   "cgroupfs",
                                   "--events-backend",
                                   "file"};
  if (!hooks_dir.empty()) argv.insert(argv.end(), {"--hooks-dir", hooks_dir});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult RunPodman(const EngineWorld& world, const std::vector<std::string>& args,
                        const std::string& hooks_dir) {
  return RunCommand(PodmanArgv(world, args, hooks_dir), {}, {}, std::chrono::seconds(120));
}

bool ImportEngineImage(const EngineWorld& world) {
  CommandResult imported = RunPodman(world, {"import", world.rootfs_tar, "ocs-busybox"});
  if (imported.exit_code != 0) {
    ADD_FAILURE() << "podman import: " << imported.err;
    return false;
  }
  return true;
}

std::string SaveEngineImageArchive(const EngineWorld& world) {
  if (!ImportEngineImage(world)) return "";
  std::string archive = world.dir.File("image.tar");
  CommandResult saved =
      RunPodman(world, {"save", "--format", "oci-archive", "-o", archive, kEngineImage});
  if (saved.exit_code != 0) {
    ADD_FAILURE() << "podman save: " << saved.err;
    return "";
  }
  return archive;
}

std::vector<std::string> WithServiceAnnotation(std::vector<std::string> args,
                                               const std::string& service) {
  if (!service.empty()) {
    args.push_back("--annotation");
    args.push_back(std::string(kEngineAnnotation) + "=" + service);
  }
  return args;
}

EngineWorld* EngineTest::world_ = nullptr;
bool EngineTest::arranged_ = false;
bool EngineTest::ready_ = false;

void EngineTest::SetUp() {
  bool first = !arranged_;
  if (first) {
    arranged_ = true;
    ArrangeSuite();
    ready_ = !HasFailure();
  }
  // Fatal, so that the test body never runs on a world that is not there.
  ASSERT_TRUE(ready_) << (first ? "the suite's arrange step failed (above)"
                                : "the suite's arrange step failed in its first test");
}

bool EngineTest::StartWorld(const std::vector<Tool>& tools) {
  ::testing::AssertionResult root = testing::IsRoot("an engine");
  EXPECT_TRUE(root);
  bool have_all = root;
  for (const Tool& tool : tools) {
    ::testing::AssertionResult installed = testing::IsInstalled(tool.path, tool.package);
    EXPECT_TRUE(installed);
    have_all = have_all && installed;
  }
  if (!have_all) return false;
  world_ = new EngineWorld();
  return world_->Init();
}

void EngineTest::StopWorld() {
  arranged_ = false;
  ready_ = false;
  delete world_;
  world_ = nullptr;
}

Background* DockerEngineTest::containerd_ = nullptr;
Background* DockerEngineTest::dockerd_ = nullptr;

void DockerEngineTest::ArrangeSuite() {
  if (!StartWorld({kDockerdTool, kDockerTool, kContainerdTool, kCtrTool, kRuncTool})) return;
  containerd_ = StartContainerd(*world_).release();
  ASSERT_NE(containerd_, nullptr);
  std::string config_path =
      WriteDaemonJson(::ocisecrets::testing::DockerEngineLayout::Hermetic(nlohmann::json::object()));
  ASSERT_FALSE(config_path.empty());
  dockerd_ = StartDockerd(*world_, config_path).release();
  ASSERT_NE(dockerd_, nullptr);
}

CommandResult DockerEngineTest::Docker(const std::vector<std::string>& args) {
  return RunDocker(*world_, args);
}

void DockerEngineTest::TearDownTestSuite() {
  delete dockerd_;
  dockerd_ = nullptr;
  delete containerd_;
  containerd_ = nullptr;
  StopWorld();
}

::testing::AssertionResult ReadsTheSecretWithItsMode(const CommandResult& r,
                                                     const EngineWorld& world) {
  if (r.exit_code != 0 || r.out != world.payload + "\n444 0 0\n") {
    // The payload is the test's own marker (UniquePayload), not a user's secret.
    return ::testing::AssertionFailure() << "exit " << r.exit_code << ", out \"" << r.out
                                         << "\", want the payload and \"444 0 0\"; err: " << r.err;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult FindsNoSecretsDir(const CommandResult& r) {
  if (r.exit_code != 0 || r.out != "absent\n") {
    return ::testing::AssertionFailure() << "exit " << r.exit_code << ", out \"" << r.out
                                         << "\", want exit 0 and \"absent\"; err: " << r.err;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult RefusedByTheHookManagerDown(const CommandResult& r, int exit_code) {
  constexpr char kLine[] = "oci-secrets-hook: prestart: lease: cannot reach the manager";
  if (r.exit_code != exit_code || r.out.find("started") != std::string::npos ||
      r.err.find(kLine) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "exit " << r.exit_code << " (want " << exit_code << "), out \"" << r.out
           << "\" (want no \"started\"), err (want \"" << kLine << "\"): " << r.err;
  }
  return ::testing::AssertionSuccess();
}

std::string WriteShimConfig(const EngineWorld& world, const Tool& runtime) {
  std::string name = std::filesystem::path(runtime.path).filename().string();
  return world.dir.WriteFile("runtime-" + name + ".json",
                             nlohmann::json{{"runtime_path", runtime.path},
                                            {"hook_path", BinPath("oci-secrets-hook")},
                                            {"hook_config", world.hook_config}}
                                 .dump(),
                             0644);
}

EngineWorld::ManagerDown::ManagerDown(EngineWorld* w) : world(w) {
  world->WriteHookConfig("unix://" + world->dir.File("nobody.sock"));
}
EngineWorld::ManagerDown::~ManagerDown() { world->WriteHookConfig(world->daemon.host()); }

}  // namespace ocisecrets::itest
