// A hermetic Docker Engine for tests and benchmarks: its own containerd and dockerd, every
// file of theirs (configs, roots, state, sockets, pid file) under one directory, no
// network set-up, never the machine's /etc/docker or system daemons. Only the files and
// command lines live here; the caller starts them (e.g. as testing::Background).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ocisecrets::testing {

inline constexpr char kDockerdPath[] = "/usr/sbin/dockerd";
// The client that matches Debian's dockerd 20.10 (another one may come first on PATH).
inline constexpr char kDockerClientPath[] = "/usr/bin/docker";
inline constexpr char kContainerdPath[] = "/usr/bin/containerd";

// Where an engine in `dir` keeps its files. `dir` must be short: the sockets live in it.
struct DockerEngineLayout {
  std::string dir;

  std::string ContainerdConfig() const { return dir + "/containerd.toml"; }
  std::string ContainerdSocket() const { return dir + "/c.sock"; }
  std::string ContainerdLog() const { return dir + "/containerd.log"; }
  std::string DockerdConfig() const { return dir + "/daemon.json"; }
  std::string DockerdLog() const { return dir + "/dockerd.log"; }
  // dockerd's -H, as the client's -H takes it too.
  std::string Host() const { return "unix://" + dir + "/dk.sock"; }

  // containerd.toml: no CRI plugin, root and state under dir/containerd, our socket.
  std::string ContainerdToml() const {
    const std::string base = dir + "/containerd";
    return "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\nroot = \"" + base +
           "/root\"\nstate = \"" + base + "/state\"\n[grpc]\n  address = \"" +
           ContainerdSocket() + "\"\n";
  }
  std::vector<std::string> ContainerdArgv() const {
    return {kContainerdPath, "--config", ContainerdConfig()};
  }
  // `config` (daemon.json's content, e.g. its "runtimes") with what keeps dockerd off
  // the machine's network and storage set-up: no iptables, no bridge, vfs.
  static nlohmann::json Hermetic(nlohmann::json config) {
    config.update(nlohmann::json{{"iptables", false}, {"bridge", "none"}, {"ip-forward", false},
                                 {"ip-masq", false}, {"storage-driver", "vfs"}});
    return config;
  }
  // dockerd on DockerdConfig(), its data and exec roots in dir, on our containerd.
  std::vector<std::string> DockerdArgv() const {
    return {kDockerdPath, "--config-file", DockerdConfig(), "--data-root", dir + "/dk-root",
            "--exec-root", dir + "/dk-exec", "--pidfile", dir + "/dk.pid", "-H", Host(),
            "--containerd", ContainerdSocket()};
  }
  // The client's argv for `args` against this engine.
  std::vector<std::string> DockerArgv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {kDockerClientPath, "-H", Host()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

}  // namespace ocisecrets::testing
