// "oci-secrets install|uninstall ENGINE": writes (and removes exactly) the configuration
// that makes an engine run the oci-secrets hook. What was written is recorded in a
// manifest so that uninstall removes that and nothing else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/hook_entry.h"
#include "shared/names.h"
#include "shared/status.h"

namespace ocisecrets {

// kCdi is not written here: the daemon keeps the CDI spec (manager/cli/install_cdi.h);
// Install refuses it.
enum class Engine { kDocker, kContainerd, kPodman, kCrio, kRunc, kCdi };

// The manifest is kInstallManifestPath (shared/names.h) under the root prefix.

// "docker", "containerd", "podman", "crio", "runc", "cdi"; anything else is InvalidArgument.
Result<Engine> ParseEngine(std::string_view name);
std::string_view EngineName(Engine engine);

struct InstallOptions {
  // Prefix for every file written (tests use a temporary tree); empty means "/". The
  // paths written inside configuration files are the unprefixed ones.
  std::string root;
  std::string shim_path = std::string(kInstalledShimPath);
  std::string hook_path = std::string(kInstalledHookPath);
  // Passed to the hook as "--config FILE" by the hooks.d files and runc entries.
  std::string hook_config;
  int hook_timeout = kDefaultHookTimeoutSeconds;
  // docker: also one runtime "oci-secrets-NAME" per service, bound to it (kept for
  // existing setups; the one runtime "oci-secrets" with OCI_SECRETS_SERVICE serves every
  // service). Install checks only the names; the CLI asks the daemon that they exist.
  std::vector<std::string> services;
  // docker: also "default-runtime": "oci-secrets" in daemon.json, so containers and
  // Compose services need no --runtime / runtime: key. Replaces only "runc" (Docker's
  // own default, restored by uninstall); any other default is refused, naming it.
  bool default_runtime = false;
  // podman, crio: the hooks.d entries run the hook for every container (HooksDWhen::kAlways),
  // so that OCI_SECRETS_SERVICE in the environment (podman-compose) opts in too.
  bool env_opt_in = false;
  // runc: the bundle whose config.json gets the entries (runc has no global config).
  std::string bundle;
  // Say what would change, write nothing.
  bool dry_run = false;
};

struct InstallReport {
  std::vector<std::string> lines;  // one per file: what changed, or that nothing did
  bool changed = false;
  std::string restart;  // what the engine needs to see the change ("" if nothing)
};

// Writes the engine's configuration (every hook entry from shared/hook_entry.h), merging
// into files the user owns (daemon.json, containerd's config.toml) with a backup, writing
// our own drop-in files, and records it in the manifest. The report's lines name only
// what this run added (none when everything was there). Idempotent: a second run changes
// nothing. Fails, writing nothing more, when a file is malformed or holds a different
// definition under our names (or another default-runtime).
Result<InstallReport> Install(Engine engine, const InstallOptions& options);

// Removes what Install recorded for the engine: keys it added (if still as written; a
// replaced default-runtime gets its previous value back), files it created (if
// unchanged, and not also recorded for another engine), the backup when the file is back
// to its original JSON. Nothing recorded: nothing done. Docker's report says to restart
// dockerd: a reload (SIGHUP) of Docker 20.10 drops neither a runtime nor the
// default-runtime.
Result<InstallReport> Uninstall(Engine engine, const InstallOptions& options);

// The hooks.d JSON (Podman, CRI-O) for one stage ("prestart" or "poststop"): the
// shared builder's (shared/hook_entry.h HooksDJson) with the options' hook path, config
// and timeout, the entry naming the stage; for every container with env_opt_in, else for
// annotated ones.
std::string HooksDJson(const InstallOptions& options, std::string_view stage);

}  // namespace ocisecrets
