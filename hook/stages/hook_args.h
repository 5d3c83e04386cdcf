// The hook's command line: `oci-secrets-hook [--config FILE] [STAGE]`, read into what
// main does next. Kept apart from main so that every case is tested without a process.
#pragma once

#include <cstdio>

#include "hook/stages/stages.h"

namespace ocisecrets::hook {

// The usage text, printed for -h/--help (stdout) and for bad arguments (stderr).
extern const char kHookUsage[];

// What the command line asks for.
struct HookArgs {
  enum class Action {
    kRun,         // run `stage` with `source`
    kRefresh,     // `refresh`: a live update with a plan on stdin (refresh.h); no config
    kHelp,        // print kHookUsage on stdout, exit 0
    kUsageError,  // print kHookUsage on stderr, exit 2
  };
  Action action = Action::kUsageError;
  Stage stage = Stage::kFromState;  // kRun only
  ConfigSource source;              // kRun only
};

// Reads argv[1..argc). Arguments are taken in order: `--config FILE` or `--config=FILE`
// (the last one wins) names a config that must exist; -h or --help asks for help at once;
// the first argument not starting with '-' is the stage, which must be one ParseStage
// knows, or "refresh" (kRefresh: the daemon's live update; --config is then accepted and
// not read). Anything else (a second stage, an empty argument, an unknown option, --config
// without its value) is a usage error. Without a stage, the state's status picks it
// (kFromState), unless stdin_is_tty: run by hand without a state, that is a usage error
// too. Without --config, a non-empty config_env ($OCI_SECRETS_HOOK_CONFIG; nullptr when
// unset) names a config that must exist; else the default path, which may be absent.
// Pure: reads nothing but its arguments, safe from any thread.
HookArgs ParseHookArgs(int argc, const char* const* argv, bool stdin_is_tty,
                       const char* config_env);

// For kHelp and kUsageError: prints kHookUsage to `out` or `err` and returns the exit code
// (0 or 2). For kRun and kRefresh it prints nothing and returns -1: the caller runs it.
int ReportHookArgs(const HookArgs& args, std::FILE* out, std::FILE* err);

}  // namespace ocisecrets::hook
