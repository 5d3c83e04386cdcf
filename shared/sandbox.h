// Process hardening for the two programs that touch payloads: the hook (root, on the host,
// fed by image authors) and the manager (holds every secret). Two independent layers:
//  - HardenProcess: no core file, not dumpable (no ptrace or /proc/PID/mem for others),
//    memory locked so that payloads never reach swap.
//  - InstallSyscallFilter: a seccomp filter, so that a bug exploited in our process still
//    cannot exec, mount by path, ptrace, load modules or open network sockets it never needs.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "shared/status.h"

namespace ocisecrets {

struct HardenOptions {
  // mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): pages are locked as they are touched,
  // so the cost is only what the process really uses.
  bool lock_memory = true;
  // A failed mlockall (no CAP_IPC_LOCK and a small RLIMIT_MEMLOCK) is an error when true,
  // otherwise HardenProcess succeeds and reports it through *warning.
  bool require_memory_lock = false;
};

// Makes the calling process non-dumpable (PR_SET_DUMPABLE 0), sets RLIMIT_CORE to 0 (soft
// and hard) and, per options, locks its memory. Call first thing in main, before any payload
// exists. *warning (may be null) receives a one-line note when a non-required step failed.
Status HardenProcess(const HardenOptions& options, std::string* warning);

enum class SyscallPolicy {
  // Allow-list: only what oci-secrets-hook needs (files through fds, the unix or TLS socket
  // to the manager, pidfd_open, setns(CLONE_NEWNS), the new mount API; for a refresh,
  // pidfd_send_signal, alarm and umount2 with MNT_DETACH only). Everything else fails with
  // EPERM: no execve, no mount(2) of a path string, no other umount2, no ptrace, no unlink,
  // rename or symlink, no kill of another process by pid, no setns into other namespaces.
  kHook,
  // Deny-list for oci-secretsd once it serves: no execve, ptrace, mount, module loading,
  // kexec, bpf, namespace changes or set*id. The rest of a threaded server stays allowed.
  kManager,
};

// Installs the policy's seccomp filter on every thread of the process (TSYNC), after
// setting no_new_privs. Irreversible, and filters only stack, so a second call can only
// narrow further. Returns an error naming the libseccomp step that failed.
Status InstallSyscallFilter(SyscallPolicy policy);

// The policy's filter as the classic BPF program InstallSyscallFilter would load in a
// process whose pid is `self_pid` (kHook allows kill and tgkill on that pid only). Lets a
// build compile the hook's filter once instead of at every start (hook/sandbox).
Result<std::vector<sock_filter>> ExportSyscallFilter(SyscallPolicy policy, pid_t self_pid);

// Loads a program from ExportSyscallFilter as InstallSyscallFilter does: no_new_privs, then
// seccomp(SECCOMP_SET_MODE_FILTER) on every thread (TSYNC). Irreversible.
Status LoadSyscallFilterProgram(const std::vector<sock_filter>& program);

// The syscalls kHook allows without argument conditions (for documentation and tests).
const std::vector<std::string>& HookAllowedSyscalls();

// True in AddressSanitizer builds (never shipped), where the filters also let the sanitizer
// runtime do its work at exit (clone, ptrace, wait4, kill, prctl) and memory is not locked.
bool SandboxRelaxedForSanitizer();

}  // namespace ocisecrets
