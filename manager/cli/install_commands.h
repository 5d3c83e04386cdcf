// The "install" and "uninstall" subcommands of the oci-secrets CLI.
#pragma once

#include <CLI/CLI.hpp>

#include "manager/cli/cli.h"

namespace ocisecrets {

// Adds "install ENGINE" and "uninstall ENGINE" (docker, containerd, podman, crio, runc,
// and cdi, which asks the daemon at ctx.host) to `app`. They print one line per file they
// changed (nothing for what was there already: then "nothing changed") and whether the
// engine must be reloaded or restarted; errors go through RunOrFail (manager/cli/cli.h):
// "Error: ..." and exit 1. `install docker --service S` first asks the manager at ctx.host
// that S exists (refused when it does not, or cannot be asked, unless --no-check). ctx
// must outlive app's parse.
void RegisterInstallCommands(CLI::App& app, CliContext& ctx);

}  // namespace ocisecrets
