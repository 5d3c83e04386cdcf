// Registration of the command groups; each lives in its own file.
#pragma once

#include <CLI/CLI.hpp>

#include "manager/cli/cli.h"

namespace ocisecrets {

// `secret create|ls|inspect|update|rm`. ctx must outlive app's parse.
void RegisterSecretCommands(CLI::App& app, CliContext& ctx);

// `service create|update|ls|inspect|rm`. ctx must outlive app's parse.
void RegisterServiceCommands(CLI::App& app, CliContext& ctx);

// The `cluster` subcommand of app: the one already added, else a new one. Every group of
// cluster commands (join and leave here, init and the rest on managers) adds to it.
CLI::App* ClusterCommand(CLI::App& app);

// `cluster join|leave` (the worker side). ctx must outlive app's parse.
void RegisterClusterJoinCommands(CLI::App& app, CliContext& ctx);
// `cluster init|join-token|inspect|update|admin-cert`. ctx must outlive app's parse.
void RegisterClusterCommands(CLI::App& app, CliContext& ctx);

// `cluster unlock|unlock-key` (autolock). ctx must outlive app's parse.
void RegisterClusterLockCommands(CLI::App& app, CliContext& ctx);
// The advice printed with an unlock key (init --autolock, update, unlock-key): how to use
// it and to keep it safe. Holds the key: the caller wipes it.
std::string UnlockKeyInstructions(std::string_view key);

// `node ls|inspect|update|rm`. ctx must outlive app's parse.
void RegisterNodeCommands(CLI::App& app, CliContext& ctx);

// `compose import|rm` (a Compose file's secrets and grants). ctx must outlive app's parse.
void RegisterComposeCommands(CLI::App& app, CliContext& ctx);

}  // namespace ocisecrets
