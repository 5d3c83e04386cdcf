// `oci-secrets install|uninstall ENGINE`: writes (and removes exactly) the hook
// configuration for a container engine. Owned by the engines part.
#pragma once

#include <CLI/CLI.hpp>

namespace ocisecrets {

// Adds the install and uninstall subcommands to `app`. Their callbacks use RunOrFail
// (manager/cli/cli.h) so errors print "Error: ..." and exit 1 like every other command.
void RegisterInstallCommands(CLI::App& app);

}  // namespace ocisecrets
