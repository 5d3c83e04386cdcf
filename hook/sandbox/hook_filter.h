// The hook's seccomp filter, compiled at build time. libseccomp turns the allow-list
// (shared/sandbox.cc, SyscallPolicy::kHook) into BPF in about half a millisecond, at every
// container start; the build runs hook_filter_gen once instead and the hook only writes its
// pid into the program and loads it.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <vector>

#include "shared/status.h"

namespace ocisecrets::hook {

// Installs SyscallPolicy::kHook on the calling process: the build's precompiled program
// with `getpid()` written in, or, in a build without one (cross-compiled), libseccomp's
// InstallSyscallFilter. Irreversible.
Status InstallHookSyscallFilter();

// True when this build carries the precompiled program.
bool HookFilterIsPrecompiled();

// The precompiled program with `pid` written in (empty when not precompiled). Equal,
// instruction for instruction, to ExportSyscallFilter(SyscallPolicy::kHook, pid).
std::vector<sock_filter> PrecompiledHookFilter(pid_t pid);

}  // namespace ocisecrets::hook
