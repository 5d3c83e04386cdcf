// Stub: the engines part replaces this file with the install/uninstall commands.
#include "manager/cli/install_commands.h"

namespace ocisecrets {

void RegisterInstallCommands(CLI::App& app) {}

}  // namespace ocisecrets
