#include "manager/cli/install_commands.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "manager/cli/cli.h"
#include "manager/cli/install/install.h"
#include "manager/cli/install_cdi.h"
#include "shared/cdi_client.h"
#include "shared/names.h"

namespace ocisecrets {
namespace {

struct InstallArgs {
  std::string engine;
  InstallOptions options;
  std::string cdi_dir = std::string(kDefaultCdiSpecDir);  // cdi: --cdi-dir
  bool no_check = false;  // install: --service names are not checked with the manager
};

// cdi goes to the daemon (install_cdi.h); every other engine is files (install/install.h).
Result<InstallReport> Apply(const CliContext& ctx, Engine engine, const InstallArgs& args,
                            bool install) {
  if (engine == Engine::kCdi) {
    return install ? InstallCdi(ctx, args.options, args.cdi_dir)
                   : UninstallCdi(ctx, args.options);
  }
  return install ? Install(engine, args.options) : Uninstall(engine, args.options);
}

// Every --service must name an existing service: a runtime bound to a name the manager
// does not know only fails later, at each container start. The name must be the
// service's own (not its ID), since the runtime passes it on as the opt-in.
Status CheckServicesExist(const CliContext& ctx, const std::vector<std::string>& services) {
  if (services.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  for (const std::string& name : services) {
    Result<Service> svc = client.InspectService(name);
    if (svc.ok() && svc->spec.name == name) continue;
    if (svc.ok() || svc.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("service " + name + " not found: create it first (oci-secrets "
                              "service create --name " + name + " --secret ...)");
    }
    return svc.status().WithContext(
        "cannot check that service " + name + " exists; start oci-secretsd (or give --host), "
        "or pass --no-check to install without checking");
  }
  return Status::Ok();
}

void PrintReport(const InstallReport& report, bool dry_run) {
  for (const std::string& line : report.lines) std::printf("%s\n", line.c_str());
  if (!report.changed) {
    std::printf("nothing changed%s\n", dry_run ? " (dry run)" : "");
  } else if (!report.restart.empty()) {
    std::printf("%s%s\n", dry_run ? "then: " : "next: ", report.restart.c_str());
  } else {
    std::printf("no restart needed\n");
  }
  std::fflush(stdout);
}

void Run(const CliContext& ctx, const InstallArgs& args, bool install) {
  RunOrFail([&]() -> Status {
    const char* verb = install ? "install" : "uninstall";
    ASSIGN_OR_RETURN(Engine engine, ParseEngine(args.engine), verb);
    if (install && engine == Engine::kDocker && !args.no_check) {
      RETURN_IF_ERROR(CheckServicesExist(ctx, args.options.services), "install docker");
    }
    ASSIGN_OR_RETURN(InstallReport report, Apply(ctx, engine, args, install), "");
    PrintReport(report, args.options.dry_run);
    return Status::Ok();
  });
}

void AddCommonOptions(CLI::App* cmd, InstallArgs* args) {
  cmd->add_option("engine", args->engine, "docker, containerd, podman, crio, runc or cdi")
      ->required();
  cmd->add_option("--root", args->options.root,
                  "Prefix for every file touched (an image or test tree); default /");
  cmd->add_flag("--dry-run", args->options.dry_run, "Say what would change; write nothing");
  cmd->add_option("--bundle", args->options.bundle,
                  "runc: the bundle directory whose config.json gets the hook entries");
}

}  // namespace

void RegisterInstallCommands(CLI::App& app, CliContext& ctx) {
  auto install_args = std::make_shared<InstallArgs>();
  CLI::App* install = app.add_subcommand(
      "install",
      "Configure an engine to run the oci-secrets hook.\n"
      "  docker      adds the runtime oci-secrets to /etc/docker/daemon.json (backup kept);\n"
      "              then, on any Docker (20.10 too) and in Compose files:\n"
      "                docker run --runtime oci-secrets -e " + std::string(kServiceEnv) +
          "=S IMAGE\n"
      "              Docker 24+ also passes annotations:\n"
      "                docker run --runtime oci-secrets --annotation " +
          std::string(kServiceAnnotation) + "=S IMAGE\n"
      "              --default-runtime makes it dockerd's default (no --runtime needed);\n"
      "              --service S adds a runtime oci-secrets-S bound to S (older setups)\n"
      "  containerd  appends the CRI runtime \"oci-secrets\" (and runc, when no runtime\n"
      "              is declared) to /etc/containerd/config.toml (backup kept)\n"
      "  podman,crio write the hooks.d files oci-secrets-{prestart,poststop}.json in\n"
      "              /usr/share/containers/oci/hooks.d\n"
      "  runc        adds hook entries to BUNDLE/config.json (--bundle)\n"
      "  cdi         makes the daemon (--host) keep " + std::string(kDefaultCdiSpecDir) +
          "/oci-secrets.json current, a device\n"
      "              per service (Podman 4.1+, Docker 25+, containerd 2; --cdi-dir DIR):\n"
      "              podman run --device oci-secrets.io/service=S (recorded by the daemon)\n"
      "What was written is recorded in " + std::string(kInstallManifestPath) + ";\n"
      "running it again changes nothing.");
  AddCommonOptions(install, install_args.get());
  install->add_option("--shim", install_args->options.shim_path,
                      "The runc-compatible shim the engine runs")
      ->capture_default_str();
  install->add_option("--hook", install_args->options.hook_path, "The OCI hook binary")
      ->capture_default_str();
  install->add_option("--hook-config", install_args->options.hook_config,
                      "Passed to the hook as --config FILE (default: the hook's own)");
  install->add_option("--hook-timeout", install_args->options.hook_timeout,
                      "Seconds the runtime allows the hook")
      ->capture_default_str();
  install->add_option("--service", install_args->options.services,
                      "docker: also a runtime oci-secrets-NAME bound to service NAME, which "
                      "must exist (repeatable)");
  install->add_option("--cdi-dir", install_args->cdi_dir,
                      "cdi: the spec dir the daemon keeps oci-secrets.json in")
      ->capture_default_str();
  install->add_flag("--default-runtime", install_args->options.default_runtime,
                    "docker: also make oci-secrets dockerd's default-runtime (replaces only "
                    "runc; uninstall puts it back)");
  install->add_flag("--env-opt-in", install_args->options.env_opt_in,
                    "podman, crio: run the hook for every container, so that -e "
                    "OCI_SECRETS_SERVICE=S (podman-compose) opts in too; without an opt-in "
                    "the hook exits at once");
  install->add_flag("--no-check", install_args->no_check,
                    "docker: do not ask the manager that each --service exists (e.g. before "
                    "oci-secretsd runs)");
  install->footer(
      "Examples:\n"
      "  oci-secrets install docker && systemctl reload docker\n"
      "  oci-secrets install docker --default-runtime\n"
      "  oci-secrets install podman");
  install->callback([&ctx, install_args] { Run(ctx, *install_args, /*install=*/true); });

  auto uninstall_args = std::make_shared<InstallArgs>();
  CLI::App* uninstall = app.add_subcommand(
      "uninstall",
      "Remove exactly what \"install ENGINE\" wrote (keys and files changed since are\n"
      "kept and named); restores daemon.json and config.toml to their original JSON/lines.");
  AddCommonOptions(uninstall, uninstall_args.get());
  uninstall->callback([&ctx, uninstall_args] { Run(ctx, *uninstall_args, /*install=*/false); });
}

}  // namespace ocisecrets
