// oci-secrets-hook: the OCI hook. `oci-secrets-hook [--config FILE] [STAGE]` with the
// container's state JSON on stdin, or `oci-secrets-hook refresh` with a refresh plan. See
// hook/stages/hook_args.h, hook/stages/stages.h and hook/stages/refresh.h.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hook/sandbox/hook_filter.h"
#include "hook/stages/hook_args.h"
#include "hook/stages/refresh.h"
#include "hook/stages/stages.h"
#include "shared/sandbox.h"

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
  // Then the seccomp allow-list (SECURITY.md). Memory is locked (no payload in swap) just
  // before the lease, the only way a payload enters this process: a container that did not
  // opt in does not pay for mlockall.
  ocisecrets::HardenOptions harden;
  harden.lock_memory = false;
  (void)ocisecrets::HardenProcess(harden, nullptr);
  if (auto s = ocisecrets::hook::InstallHookSyscallFilter(); !s.ok()) {
    std::fprintf(stderr, "oci-secrets-hook: sandbox: %s\n", s.message().c_str());
    return 1;
  }

  // Then the command line (hook/stages/hook_args.h).
  const char* env = std::getenv(std::string(ocisecrets::hook::kConfigEnv).c_str());
  const ocisecrets::hook::HookArgs args =
      ocisecrets::hook::ParseHookArgs(argc, argv, isatty(STDIN_FILENO) == 1, env);
  if (args.action == ocisecrets::hook::HookArgs::Action::kRefresh) {
    return ocisecrets::hook::RunRefresh(STDIN_FILENO, stdout);
  }
  if (args.action != ocisecrets::hook::HookArgs::Action::kRun) {
    return ocisecrets::hook::ReportHookArgs(args, stdout, stderr);
  }
  return ocisecrets::hook::RunStage(args.stage, STDIN_FILENO, args.source,
                                    ocisecrets::hook::MakeApiLeaseClient, stderr);
}
