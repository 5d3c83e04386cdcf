#include "manager/cli/install/install.h"

#include <string>
#include <vector>

#include "manager/cli/install/containerd_toml.h"
#include "manager/cli/install/json_edits.h"
#include "manager/cli/install/owned_files.h"
#include "manager/cli/install/session.h"
#include "shared/hook_entry.h"
#include "shared/names.h"
#include "shared/validation.h"

// What each engine gets: the plans of install and uninstall, on top of the edits of
// owned_files.h, json_edits.h and containerd_toml.h.

namespace ocisecrets {
namespace {

using install_internal::InstallContainerdBlock;
using install_internal::InstallJsonAdds;
using install_internal::InstallOwnedFile;
using install_internal::Json;
using install_internal::JsonAdd;
using install_internal::Session;
using install_internal::UninstallContainerdBlock;
using install_internal::UninstallContainerdImport;
using install_internal::UninstallJsonAdds;
using install_internal::UninstallOwnedFiles;

constexpr std::string_view kDaemonJson = "/etc/docker/daemon.json";
// The one Docker runtime for every service; "oci-secrets-S" are bound to a service.
constexpr std::string_view kDockerRuntime = "oci-secrets";
constexpr std::string_view kHooksDir = "/usr/share/containers/oci/hooks.d";

HookEntryOptions EntryOptions(const InstallOptions& o) {
  return {o.hook_path, o.hook_config, o.hook_timeout};
}

Status CheckOptions(const InstallOptions& o) {
  for (const std::string* p : {&o.shim_path, &o.hook_path}) {
    if (p->empty() || (*p)[0] != '/') {
      return Status::InvalidArgument("\"" + *p + "\": the shim and hook paths must be absolute");
    }
  }
  if (!o.hook_config.empty() && o.hook_config[0] != '/') {
    return Status::InvalidArgument("--hook-config must be an absolute path");
  }
  if (!o.root.empty() && o.root[0] != '/') {
    return Status::InvalidArgument("--root must be an absolute path");
  }
  if (o.hook_timeout < kMinHookTimeoutSeconds || o.hook_timeout > kMaxHookTimeoutSeconds) {
    return Status::InvalidArgument("--hook-timeout must be " +
                                   std::to_string(kMinHookTimeoutSeconds) + " to " +
                                   std::to_string(kMaxHookTimeoutSeconds) + " seconds");
  }
  for (const std::string& service : o.services) {
    RETURN_IF_ERROR(ValidateServiceName(service), "--service");
  }
  return Status::Ok();
}

std::string BundleConfigPath(const InstallOptions& o) {
  std::string bundle = o.bundle;
  while (bundle.size() > 1 && bundle.back() == '/') bundle.pop_back();
  return bundle + "/config.json";
}

}  // namespace

Result<Engine> ParseEngine(std::string_view name) {
  if (name == "docker") return Engine::kDocker;
  if (name == "containerd") return Engine::kContainerd;
  if (name == "podman") return Engine::kPodman;
  if (name == "crio" || name == "cri-o") return Engine::kCrio;
  if (name == "runc") return Engine::kRunc;
  if (name == "cdi") return Engine::kCdi;
  return Status::InvalidArgument("unknown engine \"" + std::string(name) +
                                 "\" (docker, containerd, podman, crio, runc, cdi)");
}

std::string_view EngineName(Engine engine) {
  switch (engine) {
    case Engine::kDocker:
      return "docker";
    case Engine::kContainerd:
      return "containerd";
    case Engine::kPodman:
      return "podman";
    case Engine::kCrio:
      return "crio";
    case Engine::kRunc:
      return "runc";
    case Engine::kCdi:
      return "cdi";
  }
  return "unknown";
}

std::string HooksDJson(const InstallOptions& options, std::string_view stage) {
  return ocisecrets::HooksDJson(EntryOptions(options), {std::string(stage)},
                                options.env_opt_in ? HooksDWhen::kAlways
                                                   : HooksDWhen::kAnnotated);
}

Result<InstallReport> Install(Engine engine, const InstallOptions& o) {
  RETURN_IF_ERROR(CheckOptions(o), "install");
  Session s(engine, o);
  std::string context = "install " + std::string(EngineName(engine));
  RETURN_IF_ERROR(s.LoadManifest(), context);
  switch (engine) {
    case Engine::kDocker: {
      std::vector<JsonAdd> adds;
      adds.push_back({"/runtimes", std::string(kDockerRuntime), Json{{"path", o.shim_path}}});
      for (const std::string& service : o.services) {
        adds.push_back({"/runtimes", std::string(kDockerRuntime) + "-" + service,
                        Json{{"path", o.shim_path},
                             {"runtimeArgs",
                              Json::array({std::string(kShimServiceFlag), service})}}});
      }
      if (o.default_runtime) {
        adds.push_back({"", "default-runtime", std::string(kDockerRuntime), "runc",
                        "remove it from daemon.json first, or install without "
                        "--default-runtime and run containers with --runtime " +
                            std::string(kDockerRuntime)});
      }
      RETURN_IF_ERROR(InstallJsonAdds(s, std::string(kDaemonJson), adds), context);
      if (s.report().changed) {
        s.report().restart =
            "reload dockerd to load the change: systemctl reload docker (or kill -HUP the "
            "dockerd process)";
      }
      break;
    }
    case Engine::kContainerd:
      RETURN_IF_ERROR(InstallContainerdBlock(s), context);
      if (s.report().changed) {
        s.report().restart = "restart containerd: systemctl restart containerd";
      }
      break;
    case Engine::kPodman:
    case Engine::kCrio:
      for (const char* stage : {"prestart", "poststop"}) {
        RETURN_IF_ERROR(InstallOwnedFile(s,
                                         std::string(kHooksDir) + "/oci-secrets-" + stage +
                                             ".json",
                                         HooksDJson(o, stage)),
                        context);
      }
      if (s.report().changed && engine == Engine::kCrio) {
        s.report().restart =
            "CRI-O watches its hooks directories; restart crio if its hooks_dir does not "
            "list " + std::string(kHooksDir);
      }
      break;
    case Engine::kRunc: {
      // The bundle is a path on the target system, so under --root like every other.
      if (o.bundle.empty() || o.bundle[0] != '/') {
        return Status::InvalidArgument(
            context + ": runc has no global configuration: give --bundle /ABSOLUTE/DIR, the "
                      "bundle whose config.json gets the hook entries");
      }
      RETURN_IF_ERROR(InstallJsonAdds(s, BundleConfigPath(o),
                                      {{"/hooks/prestart", "", HookEntry(EntryOptions(o), "prestart")},
                                       {"/hooks/poststop", "", HookEntry(EntryOptions(o), "poststop")}}),
                      context);
      break;
    }
    case Engine::kCdi:
      return Status::InvalidArgument(context + ": the daemon keeps the CDI spec, not a file "
                                               "written here (InstallCdi)");
  }
  RETURN_IF_ERROR(s.SaveManifest(), context + ": manifest");
  return std::move(s.report());
}

Result<InstallReport> Uninstall(Engine engine, const InstallOptions& o) {
  if (!o.root.empty() && o.root[0] != '/') {
    return Status::InvalidArgument("uninstall: --root must be an absolute path");
  }
  Session s(engine, o);
  std::string context = "uninstall " + std::string(EngineName(engine));
  RETURN_IF_ERROR(s.LoadManifest(), context);
  if (s.Record().empty()) {
    s.Say("nothing recorded for " + std::string(EngineName(engine)) + ": nothing to remove");
    return std::move(s.report());
  }
  RETURN_IF_ERROR(UninstallContainerdBlock(s), context);
  RETURN_IF_ERROR(UninstallContainerdImport(s), context);
  RETURN_IF_ERROR(UninstallJsonAdds(s), context);
  RETURN_IF_ERROR(UninstallOwnedFiles(s), context);
  if (s.report().changed) {
    switch (engine) {
      case Engine::kDocker:
        // A SIGHUP reload of dockerd 20.10 applies the keys daemon.json has: it adds
        // runtimes but never drops one, nor resets a default-runtime no longer there.
        s.report().restart =
            "restart dockerd to drop the runtime: systemctl restart docker (a reload drops "
            "neither a runtime nor the default-runtime; containers stop unless live-restore "
            "is on)";
        break;
      case Engine::kContainerd:
        s.report().restart = "restart containerd: systemctl restart containerd";
        break;
      default:
        break;
    }
  }
  RETURN_IF_ERROR(s.SaveManifest(), context + ": manifest");
  return std::move(s.report());
}

}  // namespace ocisecrets
