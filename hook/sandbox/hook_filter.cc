#include "hook/sandbox/hook_filter.h"

#include <unistd.h>

#include <iterator>

#include "shared/sandbox.h"

#if defined(OCI_SECRETS_HOOK_FILTER_PRECOMPILED)
// kHookFilter, kHookFilterPidSlots: written by hook_filter_gen.
#include "hook/sandbox/hook_filter_bpf.h"
#endif

namespace ocisecrets::hook {

bool HookFilterIsPrecompiled() {
#if defined(OCI_SECRETS_HOOK_FILTER_PRECOMPILED)
  return true;
#else
  return false;
#endif
}

std::vector<sock_filter> PrecompiledHookFilter(pid_t pid) {
#if defined(OCI_SECRETS_HOOK_FILTER_PRECOMPILED)
  std::vector<sock_filter> program(std::begin(kHookFilter), std::end(kHookFilter));
  for (unsigned short slot : kHookFilterPidSlots) {
    program[slot].k = static_cast<__u32>(pid);
  }
  return program;
#else
  (void)pid;
  return {};
#endif
}

Status InstallHookSyscallFilter() {
  if (!HookFilterIsPrecompiled()) return InstallSyscallFilter(SyscallPolicy::kHook);
  return LoadSyscallFilterProgram(PrecompiledHookFilter(getpid()));
}

}  // namespace ocisecrets::hook
