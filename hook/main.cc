// oci-secrets-hook: the OCI hook. `oci-secrets-hook [--config FILE] STAGE` with the
// container's state JSON on stdin. See hook/stages/stages.h.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hook/stages/stages.h"
#include "shared/sandbox.h"

namespace {

constexpr char kUsage[] =
    "usage: oci-secrets-hook [--config FILE] [prestart|createRuntime|poststop]\n"
    "  Run by an OCI runtime with the container's state JSON on stdin. Mounts the secrets of\n"
    "  the service named by the annotation org.oci-secrets.service in a read-only tmpfs at\n"
    "  the service's secrets dir (default /run/secrets); poststop ends the lease. Without a\n"
    "  stage (hooks.d files), the state's status picks it: created/creating or stopped.\n"
    "  Config: --config FILE, else $OCI_SECRETS_HOOK_CONFIG, else /etc/oci-secrets/hook.json\n"
    "  (optional; keys manager, deadline_ms, secrets_dir, windows_secrets_dir,\n"
    "  tmpfs_size_bytes, log_file).\n";

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// Sanitizer builds only. The leak check at exit needs ptrace, which the hook's seccomp
// allow-list forbids (and runtimes give hooks no ASAN_OPTIONS); the hook's code is
// leak-checked by its unit tests, which run without the filter.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

int main(int argc, char** argv) {
  // First thing: no core dump and no ptrace by the unprivileged may ever see a payload.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  // crun runs hooks with every signal blocked: unblock them, so SIGTERM or a crash signal
  // sent to the hook acts as on any process (SIGPIPE ignored, as it was: EPIPE instead).
  signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Memory locked (no payload in swap), then the seccomp allow-list (SECURITY.md).
  std::string harden_warning;
  (void)ocisecrets::HardenProcess({}, &harden_warning);
  if (auto s = ocisecrets::InstallSyscallFilter(ocisecrets::SyscallPolicy::kHook); !s.ok()) {
    std::fprintf(stderr, "oci-secrets-hook: sandbox: %s\n", s.message().c_str());
    return 1;
  }

  using ocisecrets::hook::ConfigSource;
  ConfigSource source;
  const char* stage_name = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      source.path = argv[++i];
      source.must_exist = true;
    } else if (arg.rfind("--config=", 0) == 0) {
      source.path = arg.substr(9);
      source.must_exist = true;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (stage_name == nullptr && !arg.empty() && arg[0] != '-') {
      stage_name = argv[i];
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  std::optional<ocisecrets::hook::Stage> stage = ocisecrets::hook::Stage::kFromState;
  if (stage_name != nullptr) {
    stage = ocisecrets::hook::ParseStage(stage_name);
  } else if (isatty(STDIN_FILENO)) {
    stage = std::nullopt;  // run by hand without a state: show how it is meant to be run
  }
  if (!stage) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!source.must_exist) {
    const char* env = std::getenv(std::string(ocisecrets::hook::kConfigEnv).c_str());
    if (env != nullptr && *env != '\0') {
      source.path = env;
      source.must_exist = true;
    }
  }
  return ocisecrets::hook::RunStage(*stage, STDIN_FILENO, source,
                                    ocisecrets::hook::MakeApiLeaseClient, stderr);
}
