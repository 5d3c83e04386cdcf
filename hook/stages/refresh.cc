#include "hook/stages/refresh.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include "hook/config/hook_config.h"
#include "hook/mount/safe_path.h"
#include "hook/mount/scoped_fd.h"
#include "hook/mount/syscalls.h"
#include "hook/mount/tmpfs_builder.h"
#include "hook/oci/id_mapping.h"
#include "hook/oci/oci_state.h"
#include "hook/stages/grant_files.h"
#include "shared/refresh_plan.h"
#include "shared/sandbox.h"
#include "shared/secure_buffer.h"

namespace ocisecrets::hook {
namespace {

constexpr unsigned kDeadlineSeconds = 10;
constexpr char kDeadlineLine[] = "oci-secrets-hook: refresh: deadline: not done within 10 s\n";

volatile sig_atomic_t g_answer_fd = STDOUT_FILENO;

// SIGALRM: the one answer line, then out (async-signal-safe calls only). The old tmpfs is
// still in place unless the swap itself had finished.
extern "C" void OnDeadline(int) {
  (void)!write(g_answer_fd, kDeadlineLine, sizeof kDeadlineLine - 1);
  _exit(1);
}

// What a refresh ends with: one line and an exit code.
struct Answer {
  int code;
  std::string line;
};

Answer Skipped(const std::string& why) { return {0, "skipped: " + why}; }

Answer Failed(const Status& status) {
  std::string line = "oci-secrets-hook: refresh: " + status.message();
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return {1, line};
}

// Reads all of fd (at most `limit` bytes) into a buffer that is wiped whenever it grows
// and by the caller after use: the plan's text holds every payload in base64.
Result<std::string> ReadPlanText(int fd, std::size_t limit) {
  std::string text;
  text.reserve(64 << 10);
  for (;;) {
    if (text.size() == text.capacity()) {
      if (text.size() >= limit) {
        WipeString(text);
        return Status::InvalidArgument("larger than " + std::to_string(limit) + " bytes");
      }
      std::string bigger;
      bigger.reserve(std::min(limit + 1, text.capacity() * 2));
      bigger.append(text);
      WipeString(text);
      text.swap(bigger);
    }
    const std::size_t at = text.size();
    text.resize(text.capacity());
    ssize_t n = read(fd, text.data() + at, text.size() - at);
    text.resize(at + (n > 0 ? static_cast<std::size_t>(n) : 0));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      WipeString(text);
      return PosixError("read", err);
    }
    if (n == 0) break;
  }
  if (text.size() > limit) {
    WipeString(text);
    return Status::InvalidArgument("larger than " + std::to_string(limit) + " bytes");
  }
  return text;
}

Result<RefreshPlan> ReadPlan(int fd) {
  ASSIGN_OR_RETURN(std::string text, ReadPlanText(fd, kMaxRefreshPlanBytes), "read plan");
  Result<RefreshPlan> plan = ParseRefreshPlan(text);
  WipeString(text);
  return plan;
}

Result<std::vector<IdMapping>> ReadIdMap(int pid, const char* which) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + which;
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError(std::string("open ") + which, errno);
  ASSIGN_OR_RETURN(std::string text, ReadAllBounded(fd.get(), 64 << 10), which);
  ASSIGN_OR_RETURN(std::vector<IdMapping> map, ParseProcIdMap(text), which);
  return map;
}

Answer Refresh(RefreshPlan& plan, const RefreshOptions& options) {
  const std::string pid = std::to_string(plan.pid);
  const std::string dir = plan.secrets_dir;
  if (Status s = ValidateContainerDir(dir); !s.ok()) {
    return Failed(s.WithContext("secrets dir " + dir));
  }
  // Pin the process first; then check it is the one leased: a pid whose start time
  // differs is another process, and a pidfd opened before the check cannot be redirected.
  ScopedFd pidfd(sys::PidfdOpen(plan.pid, 0));
  if (!pidfd.valid()) {
    if (errno == ESRCH) return Skipped("container exited");
    return Failed(PosixError("pidfd_open " + pid, errno));
  }
  Result<std::uint64_t> start = ProcessStartTime(plan.pid);
  if (!start.ok()) {
    if (start.status().code() == StatusCode::kNotFound) return Skipped("container exited");
    return Failed(start.status().WithContext("start time"));
  }
  if (*start != plan.start_time) {
    return Skipped("pid " + pid + " is now another process (start time differs)");
  }
  Result<std::vector<IdMapping>> uids = ReadIdMap(plan.pid, "uid_map");
  if (!uids.ok()) return Failed(uids.status().WithContext("id maps"));
  Result<std::vector<IdMapping>> gids = ReadIdMap(plan.pid, "gid_map");
  if (!gids.ok()) return Failed(gids.status().WithContext("id maps"));
  ScopedFd root(open(("/proc/" + pid + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    // An exiting process (a zombie) has no root any more.
    if (errno == ENOENT) return Skipped("container exited");
    return Failed(PosixError("open the container's root", errno));
  }
  // Everything read from /proc/PID above was of the leased process if it still lives now.
  if (sys::PidfdSendSignal(pidfd.get(), 0) != 0) {
    if (errno == ESRCH) return Skipped("container exited");
    return Failed(PosixError("check the container's init (signal 0)", errno));
  }

  // The new tmpfs, built detached exactly as at the start, before entering anything.
  Result<ScopedFd> mount = [&]() -> Result<ScopedFd> {
    ASSIGN_OR_RETURN(TmpfsOptions tmpfs, SecretsTmpfsOptions(*uids, *gids, plan.tmpfs_size), "");
    ASSIGN_OR_RETURN(std::vector<TmpfsFile> files, ToTmpfsFiles(plan.files, *uids, *gids, dir),
                     "files");
    return BuildSecretsTmpfs(files, tmpfs);
  }();
  const std::size_t count = plan.files.size();
  WipeFiles(plan.files);  // the payloads now live only in the detached tmpfs
  if (!mount.ok()) return Failed(mount.status().WithContext("mount tmpfs"));

  // The container's "/" and /proc replace ours at setns: keep the host's /proc at hand.
  ScopedFd host_proc(open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!host_proc.valid()) return Failed(PosixError("open /proc", errno));
  UseHostProc(host_proc.get());
  if (setns(pidfd.get(), CLONE_NEWNS) != 0) {
    return Failed(PosixError("enter the container's mount namespace: setns", errno));
  }
  const std::string where = "secrets dir " + dir;
  Result<ScopedFd> cur = OpenExistingDir(root.get(), dir);
  if (!cur.ok()) return Failed(cur.status().WithContext(where));
  if (Status s = RequireSecretsTmpfs(cur->get()); !s.ok()) return Failed(s.WithContext(where));
  // The tmpfs's own propagation, and its parent's, where the new one is attached beneath.
  ScopedFd parent(openat(cur->get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) return Failed(PosixError(where + ": open its parent", errno));
  for (int fd : {cur->get(), parent.get()}) {
    if (Status s = RefuseSharedMount(fd); !s.ok()) return Failed(s.WithContext(where));
  }
  Result<SwapMode> swapped = SwapTmpfs(mount->get(), cur->get(), options.try_beneath);
  if (!swapped.ok()) return Failed(swapped.status().WithContext("swap tmpfs on " + dir));

  if (plan.signal != 0 && sys::PidfdSendSignal(pidfd.get(), plan.signal) != 0 &&
      errno != ESRCH) {  // gone since: nothing left to tell
    return Failed(PosixError("signal " + std::to_string(plan.signal) + " to pid " + pid, errno));
  }
  std::string line = "refreshed files=" + std::to_string(count);
  if (*swapped == SwapMode::kOnTop) {
    line += " (stacked over the old tmpfs: kernel without MOVE_MOUNT_BENEATH)";
  }
  return {0, line};
}

}  // namespace

int RunRefresh(int plan_fd, std::FILE* out, const RefreshOptions& options) {
  g_answer_fd = fileno(out);
  struct sigaction sa {};
  sa.sa_handler = OnDeadline;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, nullptr);
  alarm(kDeadlineSeconds);

  Answer answer = [&]() -> Answer {
    // Before the plan, which holds payloads, is read: no page of it may reach swap.
    HardenOptions harden;
    harden.lock_memory = true;
    std::string warning;
    if (Status s = HardenProcess(harden, &warning); !s.ok()) return Failed(s.WithContext("harden"));
    Result<RefreshPlan> plan = ReadPlan(plan_fd);
    if (!plan.ok()) return Failed(plan.status());
    Answer a = Refresh(*plan, options);
    WipeFiles(plan->files);
    return a;
  }();
  std::fprintf(out, "%s\n", answer.line.c_str());
  std::fflush(out);
  alarm(0);
  return answer.code;
}

}  // namespace ocisecrets::hook
