#include "shared/sandbox.h"

#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace ocisecrets {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

// What the hook does, by syscall: read its config, the state JSON and config.json; talk
// HTTP to the manager over a unix (or, for remote nodes, TLS) socket; pidfd_open + setns
// into the container's mount namespace; build a tmpfs with fsopen/fsconfig/fsmount, write
// files through its fd, mount_setattr it read-only, resolve the target with openat2 and
// mkdirat, move_mount it there; log to its file. At a refresh: signal 0 and the plan's
// signal by pidfd, move_mount beneath, umount2(".", MNT_DETACH) of the old tmpfs. Plus what libc, libstdc++ and OpenSSL
// need to run a single-threaded program.
const std::vector<std::string> kHookSyscalls = {
    // memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mlock", "mlock2", "munlock",
    "mlockall", "munlockall",
    // files through descriptors
    "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64",
    "pwritev", "pwritev2", "close", "close_range", "lseek", "_llseek", "openat", "openat2",
    "open", "fstat", "newfstatat", "stat", "lstat", "statx", "fstatfs", "statfs", "fcntl",
    "dup", "dup2", "dup3", "getdents64", "readlink", "readlinkat", "access", "faccessat",
    "faccessat2", "mkdirat", "mkdir", "fchown", "fchownat", "fchmod", "fchmodat", "fsync",
    "fdatasync", "ftruncate", "flock", "umask", "getcwd", "chdir", "fchdir",
    // waiting and time
    "poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
    "gettimeofday", "time",
    // the manager connection (socket() itself is allowed per address family below)
    "connect", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    "getsockopt", "setsockopt", "getsockname", "getpeername", "shutdown",
    // the container's mount namespace and the detached tmpfs
    "pidfd_open", "fsopen", "fsconfig", "fsmount", "mount_setattr", "move_mount",
    // refresh (live updates): the container's init checked and signalled by its pidfd, the
    // 10 s deadline (glibc's alarm() is setitimer where the alarm syscall does not exist)
    "pidfd_send_signal", "alarm", "setitimer",
    // process and identity (read only), signals, limits
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "getpgrp", "getpgid", "getsid", "capget", "capset",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
    "prlimit64", "getrlimit", "setrlimit", "getrusage", "times", "uname", "sysinfo",
    "getrandom", "futex", "sched_yield", "sched_getaffinity", "set_robust_list", "rseq",
    "set_tid_address", "membarrier", "exit", "exit_group",
};

// What the sanitizer runtimes need at exit (LeakSanitizer stops the world with a traced
// helper thread). Only in ASan builds, which never ship.
const std::vector<std::string> kSanitizerSyscalls = {
    "clone", "clone3", "ptrace", "wait4", "waitid", "prctl", "getdents64", "sched_getaffinity",
    "kill", "tgkill", "tkill", "arch_prctl",
};

// Never for the manager once it serves.
const std::vector<std::string> kManagerDenied = {
    "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "mount",
    "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsmount",
    "fspick", "mount_setattr", "setns", "unshare", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "bpf", "perf_event_open", "reboot",
    "swapon", "swapoff", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    "setgroups", "setfsuid", "setfsgid", "acct", "quotactl", "userfaultfd", "keyctl",
    "add_key", "request_key", "iopl", "ioperm", "personality", "settimeofday",
    "clock_settime", "adjtimex", "clock_adjtime", "syslog", "vhangup", "sethostname",
    "setdomainname", "lookup_dcookie", "name_to_handle_at", "open_by_handle_at",
    "pidfd_getfd", "kcmp",
};

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Status SeccompError(const std::string& step, int rc) { return PosixError(step, -rc); }

// Adds an unconditional rule for each name known on this architecture; names the kernel
// or libseccomp does not know are skipped (e.g. "open" on arm64).
Status AddRules(scmp_filter_ctx ctx, std::uint32_t action, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;
    int rc = seccomp_rule_add(ctx, action, nr, 0);
    if (rc < 0) return SeccompError("seccomp_rule_add " + name, rc);
  }
  return Status::Ok();
}

Status AddHookRules(scmp_filter_ctx ctx, pid_t self_pid) {
  RETURN_IF_ERROR(AddRules(ctx, SCMP_ACT_ALLOW, kHookSyscalls), "hook allow-list");
  if (kSanitized) {
    RETURN_IF_ERROR(AddRules(ctx, SCMP_ACT_ALLOW, kSanitizerSyscalls), "sanitizer runtime");
  }
  auto rule = [&](const char* what, int nr, unsigned count, auto... args) -> Status {
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, count, args...);
    return rc < 0 ? SeccompError(std::string("seccomp_rule_add ") + what, rc) : Status::Ok();
  };
  // Sockets: unix (the local manager) and IP (a remote manager over TLS), nothing else:
  // no netlink, no packet sockets, no vsock.
  for (int domain : {AF_UNIX, AF_INET, AF_INET6}) {
    RETURN_IF_ERROR(rule("socket", SCMP_SYS(socket), 1,
                         SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(domain))),
                    "hook sockets");
  }
  // Namespaces: the container's mount namespace only.
  RETURN_IF_ERROR(rule("setns", SCMP_SYS(setns), 1,
                       SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(CLONE_NEWNS))),
                  "hook setns");
  // Unmounting: only the old tmpfs's detach at a refresh, umount2(".", MNT_DETACH).
  RETURN_IF_ERROR(rule("umount2", SCMP_SYS(umount2), 1,
                       SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(MNT_DETACH))),
                  "hook umount2");
  // Signals: to ourselves only (abort() raises SIGABRT through tgkill); the container's
  // init only through its pidfd (pidfd_send_signal, above).
  const auto self = static_cast<scmp_datum_t>(self_pid);
  RETURN_IF_ERROR(rule("kill", SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, self)), "hook kill");
  RETURN_IF_ERROR(rule("tgkill", SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, self)), "hook tgkill");
  // ioctl: terminal queries and non-blocking I/O only (no TIOCSTI injection).
  for (unsigned long request : {TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX}) {
    RETURN_IF_ERROR(rule("ioctl", SCMP_SYS(ioctl), 1,
                         SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(request))),
                    "hook ioctl");
  }
  // prctl: anything but turning dumpability back on.
  if (!kSanitized) {
    RETURN_IF_ERROR(rule("prctl", SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_NE, PR_SET_DUMPABLE)),
                    "hook prctl");
    RETURN_IF_ERROR(rule("prctl", SCMP_SYS(prctl), 2, SCMP_A0(SCMP_CMP_EQ, PR_SET_DUMPABLE),
                         SCMP_A1(SCMP_CMP_EQ, 0)),
                    "hook prctl");
  }
  return Status::Ok();
}

}  // namespace

Status HardenProcess(const HardenOptions& options, std::string* warning) {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return PosixError("prctl PR_SET_DUMPABLE", errno);
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) return PosixError("setrlimit RLIMIT_CORE", errno);
  // ASan reserves terabytes of shadow memory: locking it is neither possible nor useful.
  if (options.lock_memory && !kSanitized) {
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
      Status s = PosixError("mlockall", errno);
      if (options.require_memory_lock) return s;
      if (warning != nullptr) *warning = s.message() + " (payloads may reach swap)";
    }
  }
  return Status::Ok();
}

namespace {

// The policy's filter, not yet loaded. kHook's kill and tgkill rules name `self_pid`.
Result<Ctx> BuildFilter(SyscallPolicy policy, pid_t self_pid) {
  const bool hook = policy == SyscallPolicy::kHook;
  Ctx ctx(seccomp_init(hook ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ALLOW));
  if (!ctx) return Status::Internal("seccomp_init failed");
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 1);
  if (rc < 0) return SeccompError("seccomp no_new_privs", rc);
  rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc < 0) return SeccompError("seccomp tsync", rc);
  // A binary tree over the syscall numbers, not a list: loading a filter, the kernel runs
  // it once per syscall number (its cache of always-allowed calls), and a list walks every
  // rule each time. The hook's load takes about 0.2 ms instead of 0.4, twice per start.
  rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0) return SeccompError("seccomp binary tree", rc);
  if (hook) {
    RETURN_IF_ERROR(AddHookRules(ctx.get(), self_pid), "seccomp");
  } else {
    std::vector<std::string> denied = kManagerDenied;
    if (kSanitized) {
      std::erase(denied, "ptrace");  // LeakSanitizer traces its own threads at exit
    }
    RETURN_IF_ERROR(AddRules(ctx.get(), SCMP_ACT_ERRNO(EPERM), denied), "seccomp manager");
    // Threads, yes; new namespaces, no. clone3 passes its flags in memory the filter
    // cannot read, so it gets ENOSYS and glibc falls back to clone, whose flags it can.
    for (unsigned long flag : {CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                               CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP}) {
      auto f = static_cast<scmp_datum_t>(flag);
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
      if (rc < 0) return SeccompError("seccomp_rule_add clone", rc);
    }
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc < 0) return SeccompError("seccomp_rule_add clone3", rc);
  }
  return ctx;
}

}  // namespace

Status InstallSyscallFilter(SyscallPolicy policy) {
  ASSIGN_OR_RETURN(Ctx ctx, BuildFilter(policy, getpid()), "");
  int rc = seccomp_load(ctx.get());
  if (rc < 0) return SeccompError("seccomp_load", rc);
  return Status::Ok();
}

Result<std::vector<sock_filter>> ExportSyscallFilter(SyscallPolicy policy, pid_t self_pid) {
  ASSIGN_OR_RETURN(Ctx ctx, BuildFilter(policy, self_pid), "");
  int fd = memfd_create("oci-secrets-bpf", MFD_CLOEXEC);
  if (fd < 0) return PosixError("memfd_create", errno);
  std::vector<sock_filter> program;
  Status status = [&]() -> Status {
    int rc = seccomp_export_bpf(ctx.get(), fd);
    if (rc < 0) return SeccompError("seccomp_export_bpf", rc);
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0) return PosixError("lseek", errno);
    if (size == 0 || size % sizeof(sock_filter) != 0) {
      return Status::Internal("seccomp_export_bpf: " + std::to_string(size) +
                              " bytes, not a whole number of instructions");
    }
    program.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
    if (pread(fd, program.data(), static_cast<std::size_t>(size), 0) != size) {
      return PosixError("read the exported filter", errno);
    }
    return Status::Ok();
  }();
  close(fd);
  RETURN_IF_ERROR(status, "");
  return program;
}

Status LoadSyscallFilterProgram(const std::vector<sock_filter>& program) {
  if (program.empty() || program.size() > BPF_MAXINSNS) {
    return Status::InvalidArgument("seccomp program of " + std::to_string(program.size()) +
                                   " instructions");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return PosixError("prctl PR_SET_NO_NEW_PRIVS", errno);
  }
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = const_cast<sock_filter*>(program.data());
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
  if (rc != 0) {
    // With TSYNC, a positive result names a thread that could not be synchronised.
    return rc < 0 ? PosixError("seccomp", errno)
                  : Status::Internal("seccomp: thread " + std::to_string(rc) +
                                     " could not take the filter");
  }
  return Status::Ok();
}

const std::vector<std::string>& HookAllowedSyscalls() { return kHookSyscalls; }

bool SandboxRelaxedForSanitizer() { return kSanitized; }

}  // namespace ocisecrets
