// What the hook's integration tests share: a busybox-static rootfs, a bundle whose
// config.json is what `runc spec` writes plus our hooks, and a run through real runc or
// crun. Every file lives in the test's TempDir.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "shared/api_client.h"
#include "tests/integration/harness.h"

namespace ocisecrets::itest {

// The runtimes the hook must work with.
struct Runtime {
  std::string name;  // "runc", "crun"
  std::string path;  // absolute path of the binary
  // What `run` exits with when a hook fails or dies: runc 1, crun 255 (its -1).
  int hook_failed_exit = 1;
};
// GoogleTest prints a Runtime parameter by its name (test lists read ".../runc").
inline void PrintTo(const Runtime& runtime, std::ostream* os) { *os << runtime.name; }

// runc and crun, both always: each as found on a fixed PATH, else at the path its Debian
// package installs (/usr/sbin/runc, /usr/bin/crun), so a missing one fails its tests
// (CanRun) instead of dropping out of the list.
std::vector<Runtime> Runtimes();
// runc, as Runtimes() lists it: the runtime the cluster tests start containers with.
Runtime Runc();

// Success when this process is root and `runtime` is installed; otherwise a failure that
// says which and how to get it (packaging/test.sh runs as root and installs both).
::testing::AssertionResult CanRun(const Runtime& runtime);

// crun refuses cgroup v1+v2 hybrids while the unified hierarchy holds controllers: moves
// hugetlb to a v1 mount, once, only when needed (idempotent).
void EnsureCrunCgroupFix();

// A bundle in `dir`: rootfs/ with /bin/busybox and links for sh, cat, ls, grep, ...
// (and no /run), and a config.json like `runc spec`'s, with our hooks.
class Bundle {
 public:
  Bundle(const TempDir& dir, std::string hook_config);

  const std::string& path() const { return path_; }
  std::string rootfs() const { return path_ + "/rootfs"; }
  nlohmann::json& config() { return config_; }

  // The command the container runs (through /bin/sh -c).
  void SetScript(const std::string& script);
  void SetUser(unsigned uid, unsigned gid);
  void SetAnnotation(const std::string& key, const std::string& value);
  // Adds a user namespace mapping container ids 0..65535 to host ids base.. .
  void UseUserNamespace(unsigned base);
  // Installs the hook at prestart (and poststop unless `poststop` is false), with an
  // explicit env and timeout, as the install commands do.
  void InstallHook(bool poststop = true);

  // Writes config.json and runs `RUNTIME --root STATE run --bundle PATH ID`.
  CommandResult Run(const Runtime& runtime, const std::string& id);
  // Writes config.json as config() holds it now.
  void WriteConfig() const;
  // The runtime's --root for this bundle's containers.
  const std::string& state_dir() const { return state_; }

 private:
  std::string path_;
  std::string state_;
  std::string hook_config_;
  nlohmann::json config_;
};

// Writes dir/hook.json, the hook's config: the daemon it asks (`manager_host`, e.g. a
// Daemon's host()), its deadline, and its log at dir/hook.log. Returns the file's path.
std::string WriteHookConfig(const TempDir& dir, const std::string& manager_host,
                            int deadline_ms = 3000);

// Lines of the host's /proc/self/mountinfo, minus the parts that differ between reads.
std::vector<std::string> HostMounts();
// The lines of HostMounts() that could be ours: our tmpfs ("oci-secrets" is its source)
// or anything under one of `roots`.
std::vector<std::string> OurMounts(const std::vector<std::string>& roots = {});
// The mounts in `after` and not in `before`.
std::vector<std::string> NewMounts(const std::vector<std::string>& before,
                                   const std::vector<std::string>& after);

// New mounts (in `after`, not in `before`) that could be ours: a tmpfs, anything named
// "secrets" or "oci-secrets", or anything under one of `paths`.
std::vector<std::string> SuspiciousNewMounts(const std::vector<std::string>& before,
                                             const std::vector<std::string>& after,
                                             const std::vector<std::string>& paths);

// Every entry under `dir` as a path relative to it ("a", "a/b"), sorted; symlinks are
// listed, not followed.
std::vector<std::string> ListTree(const std::string& dir);

// Paths of files under `roots` holding `needle` (grep -rlF, devices and /proc skipped).
std::vector<std::string> FilesHolding(const std::string& needle,
                                      const std::vector<std::string>& roots);

// An API client for the daemon (the tests set up secrets and services through the API,
// as `oci-secrets` does).
ApiClient ClientFor(const Daemon& daemon);

// Creates secret `name` with `payload`, and service `service` granting it as `file`.
// Fails the test on error.
void CreateSecretAndService(const Daemon& daemon, const std::string& name,
                            const std::string& payload, const std::string& service,
                            const SecretFile& file, const std::string& secrets_dir = "");

// A unique printable payload, so a search for it cannot hit anything else.
std::string UniquePayload();

// The start of a test on `runtime`: CanRun(runtime), crun's cgroup fix when needed, `daemon`
// started, and secret "pw" holding a fresh UniquePayload() granted by `service` as `file`. Returns
// the payload; fails the test on error (the caller checks HasFailure()).
std::string StartManagerWithSecret(const Runtime& runtime, Daemon& daemon,
                                   const std::string& service, const SecretFile& file);

}  // namespace ocisecrets::itest
