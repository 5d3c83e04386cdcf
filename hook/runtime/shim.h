// The runc-compatible shim: adds the oci-secrets hook to a bundle on create/run, then
// execs the real runtime with the same arguments.
#pragma once

#include <string>

#include "hook/runtime/shim_config.h"
#include "shared/status.h"

namespace ocisecrets {

// Finds the real runtime: a path with a slash is used as is; a bare name is looked up
// in PATH, then /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, skipping
// this very executable (so a shim installed as "runc" cannot exec itself).
// NotFound when no executable candidate exists.
Result<std::string> ResolveRuntime(const std::string& runtime);

// Runs the shim for argv (argv[0] is the shim). A leading "--oci-secrets-service NAME"
// binds this runtime to one service (see AddHookEntries) and is not passed on. Returns only on failure, with the exit
// code to use, after writing one line to stderr (and to the runtime's --log, if given).
// A create or run of a container with no opt-in leaves its bundle as it is and appends one
// info line saying so to the runtime's --log, if given, before the exec.
int RunShim(int argc, char** argv);

}  // namespace ocisecrets
