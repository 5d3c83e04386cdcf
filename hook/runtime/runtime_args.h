// Parsing of a runc-compatible command line, only as far as the shim needs it: the global
// flags (to find the subcommand and the log file) and, for create/run, the bundle.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "shared/status.h"

namespace ocisecrets {

struct RuntimeInvocation {
  // The subcommand ("create", "start", ...); empty when there is none (e.g. --version).
  std::string subcommand;
  // Index of the subcommand in the argument list (valid when subcommand is not empty).
  std::size_t subcommand_index = 0;
  // --bundle/-b of create or run as written; absent means the working directory.
  std::optional<std::string> bundle;
  // Global --log and --log-format, so the shim can report its own error where the
  // engine (containerd reads the log file) looks for it.
  std::optional<std::string> log_path;
  std::string log_format = "text";
};

// Parses the arguments after argv[0] the way runc (and crun) read them: flags with one or
// two dashes, "--flag=value" or "--flag value", global flags before the subcommand, a
// "--" ending the flags. Unknown global flags are taken as boolean when the next word is
// a runtime subcommand, else as taking a value. Fails only on a known value flag that
// lacks its value (e.g. "create --bundle" at the end).
Result<RuntimeInvocation> ParseRuntimeArgs(const std::vector<std::string>& args);

// True for the subcommands that create a container from a bundle: create and run.
bool CreatesContainer(const RuntimeInvocation& invocation);

}  // namespace ocisecrets
