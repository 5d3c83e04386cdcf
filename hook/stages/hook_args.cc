#include "hook/stages/hook_args.h"

#include <optional>
#include <string_view>

namespace ocisecrets::hook {

const char kHookUsage[] =
    "usage: oci-secrets-hook [--config FILE] [prestart|createRuntime|poststop]\n"
    "       oci-secrets-hook refresh\n"
    "  Run by an OCI runtime with the container's state JSON on stdin. Mounts the secrets of\n"
    "  the service named by the annotation org.oci-secrets.service in a read-only tmpfs at\n"
    "  the service's secrets dir (default /run/secrets); poststop ends the lease. Without a\n"
    "  stage (hooks.d files), the state's status picks it: created/creating or stopped.\n"
    "  Config: --config FILE, else $OCI_SECRETS_HOOK_CONFIG, else /etc/oci-secrets/hook.json\n"
    "  (optional; keys manager, deadline_ms, secrets_dir, windows_secrets_dir,\n"
    "  tmpfs_size_bytes, log_file).\n"
    "  refresh: run by oci-secretsd (live updates) with a refresh plan on stdin: replaces the\n"
    "  secrets tmpfs of a running container atomically and signals its init if asked;\n"
    "  answers one line on stdout (refreshed files=N, skipped: WHY, or the error). Reads\n"
    "  no config.\n";

HookArgs ParseHookArgs(int argc, const char* const* argv, bool stdin_is_tty,
                       const char* config_env) {
  HookArgs args;
  const char* stage_name = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      args.source.path = argv[++i];
      args.source.must_exist = true;
    } else if (arg.starts_with("--config=")) {
      args.source.path = arg.substr(9);
      args.source.must_exist = true;
    } else if (arg == "-h" || arg == "--help") {
      args.action = HookArgs::Action::kHelp;
      return args;
    } else if (stage_name == nullptr && !arg.empty() && arg[0] != '-') {
      stage_name = argv[i];
    } else {
      args.action = HookArgs::Action::kUsageError;
      return args;
    }
  }
  if (stage_name != nullptr && std::string_view(stage_name) == "refresh") {
    args.action = HookArgs::Action::kRefresh;
    return args;
  }
  std::optional<Stage> stage = Stage::kFromState;
  if (stage_name != nullptr) {
    stage = ParseStage(stage_name);
  } else if (stdin_is_tty) {
    stage = std::nullopt;  // run by hand without a state: show how it is meant to be run
  }
  if (!stage) {
    args.action = HookArgs::Action::kUsageError;
    return args;
  }
  if (!args.source.must_exist && config_env != nullptr && *config_env != '\0') {
    args.source.path = config_env;
    args.source.must_exist = true;
  }
  args.stage = *stage;
  args.action = HookArgs::Action::kRun;
  return args;
}

int ReportHookArgs(const HookArgs& args, std::FILE* out, std::FILE* err) {
  switch (args.action) {
    case HookArgs::Action::kHelp:
      std::fputs(kHookUsage, out);
      return 0;
    case HookArgs::Action::kUsageError:
      std::fputs(kHookUsage, err);
      return 2;
    case HookArgs::Action::kRun:
    case HookArgs::Action::kRefresh:
      break;
  }
  return -1;
}

}  // namespace ocisecrets::hook
