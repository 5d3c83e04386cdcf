#include "tests/integration/engine_fixture.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {

Background::Background(const std::vector<std::string>& argv, const std::string& log_path,
                       const std::vector<std::string>& env) {
  std::vector<std::string> owned_env = env;
  pid_ = fork();
  if (pid_ == 0) {
    setsid();
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (null_fd >= 0) dup2(null_fd, 0);
    for (const std::string& kv : owned_env) putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  EXPECT_GT(pid_, 0) << "fork " << argv[0];
}

Background::~Background() { Stop(); }

void Background::Stop() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      kill(-pid_, SIGKILL);  // anything it left behind in its group
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(-pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
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

std::string EngineWorld::ReadFile(const std::string& path) const {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool EngineWorld::Init() {
  Status started = daemon.Start();
  if (!started.ok()) {
    ADD_FAILURE() << "manager: " << started.ToString() << daemon.Log();
    return false;
  }
  payload = UniquePayload();
  CreateSecretAndService(daemon, kEngineSecret, payload, kEngineService,
                         {kEngineSecret, 0, 0, 0444});
  hook_config = dir.Join("hook.json");
  WriteHookConfig(daemon.host());
  // The rootfs the hook tests use, as a tarball engines import as an image.
  Bundle bundle(dir, "");
  rootfs_tar = dir.Join("rootfs.tar");
  CommandResult tar =
      RunCommand({"/bin/tar", "-C", bundle.rootfs(), "-cf", rootfs_tar, "."});
  if (tar.exit_code != 0) {
    ADD_FAILURE() << "tar rootfs: " << tar.err;
    return false;
  }
  return !::testing::Test::HasFailure();
}

std::string ContainerdSocket(const EngineWorld& world) { return world.dir.Join("c.sock"); }

std::unique_ptr<Background> StartContainerd(const EngineWorld& world) {
  std::string base = world.dir.Join("containerd");
  mkdir(base.c_str(), 0700);
  std::string config = world.dir.WriteFile(
      "containerd.toml",
      "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\nroot = \"" + base + "/root\"\nstate = \"" + base + "/state\"\n" +
          "[grpc]\n  address = \"" + ContainerdSocket(world) + "\"\n",
      0644);
  std::string shim_config = world.dir.WriteFile(
      "runtime.json",
      nlohmann::json{{"runtime_path", "/usr/sbin/runc"},
                     {"hook_path", BinPath("oci-secrets-hook")},
                     {"hook_config", world.hook_config}}
          .dump(),
      0644);
  auto containerd = std::make_unique<Background>(
      std::vector<std::string>{"/usr/bin/containerd", "--config", config},
      world.dir.Join("containerd.log"), std::vector<std::string>{"OCI_SECRETS_RUNTIME_CONFIG=" + shim_config});
  if (!WaitUntilAnswers({kCtr, "-a", ContainerdSocket(world), "version"}, 30)) {
    ADD_FAILURE() << "containerd did not answer: " << world.ReadFile(world.dir.Join("containerd.log"));
    return nullptr;
  }
  return containerd;
}

std::vector<std::string> PodmanArgv(const EngineWorld& world,
                                    const std::vector<std::string>& args,
                                    const std::string& hooks_dir) {
  std::vector<std::string> argv = {kPodman,
                                   "--root", world.dir.Join("podman/root"),
                                   "--runroot", world.dir.Join("podman/runroot"),
                                   "--tmpdir", world.dir.Join("podman/tmp"),
                                   "--storage-driver", "vfs",
                                   "--cgroup-manager", "cgroupfs",
                                   "--events-backend", "file"};
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
  std::string archive = world.dir.Join("image.tar");
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

EngineWorld::ManagerDown::ManagerDown(EngineWorld* w) : world(w) {
  world->WriteHookConfig("unix://" + world->dir.Join("nobody.sock"));
}
EngineWorld::ManagerDown::~ManagerDown() { world->WriteHookConfig(world->daemon.host()); }

}  // namespace ocisecrets::itest
