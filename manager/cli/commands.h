// Registration of the command groups; each lives in its own file.
#pragma once

#include <CLI/CLI.hpp>

#include "manager/cli/cli.h"

namespace ocisecrets {

// `secret create|ls|inspect|update|rm`. ctx must outlive app's parse.
void RegisterSecretCommands(CLI::App& app, CliContext& ctx);

// `service create|update|ls|inspect|rm`. ctx must outlive app's parse.
void RegisterServiceCommands(CLI::App& app, CliContext& ctx);

// `cluster init|join-token|inspect|update|admin-cert`. ctx must outlive app's parse.
void RegisterClusterCommands(CLI::App& app, CliContext& ctx);

// `node ls|inspect|update|rm`. ctx must outlive app's parse.
void RegisterNodeCommands(CLI::App& app, CliContext& ctx);

}  // namespace ocisecrets
