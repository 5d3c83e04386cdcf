// The "install" and "uninstall" subcommands of the oci-secrets CLI.
#pragma once

#include <CLI/CLI.hpp>

#include "manager/cli/cli.h"

namespace ocisecrets {

// Adds "install ENGINE" and "uninstall ENGINE" (docker, containerd, podman, crio, runc,
// and cdi, which asks the daemon at ctx.host; ctx must outlive app's parse) to `app`. They print one line per file they touched and whether the engine must be
// restarted; errors go through RunOrFail (manager/cli/cli.h): "Error: ..." and exit 1.
void RegisterInstallCommands(CLI::App& app, const CliContext& ctx);

}  // namespace ocisecrets
