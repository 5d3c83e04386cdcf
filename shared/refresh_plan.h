// A live update of one running container (DESIGN.md "Live updates"): what the node role
// (oci-secretsd) hands `oci-secrets-hook refresh` on its stdin, through the launcher, and
// the one line the hook answers on its stdout. Both sides use this file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

// The plan. JSON (keys sorted): {"ContainerID": C, "Files": [lease-grant files: "Data"
// (base64), "GID", "Mode", "Name", "UID"; "SecretID", "Version", "Previous" optional],
// "Pid": N, "SecretsDir": "/run/secrets", "Signal": S (absent: 0), "StartTime": T,
// "TmpfsSize": B}.
struct RefreshPlan {
  std::string container_id;      // for the hook's log and error lines
  int pid = 0;                   // the container's init, in the host's pid namespace
  // Field 22 of /proc/PID/stat (clock ticks after boot) when the container was leased:
  // with pid, who the container is. A pid whose start time differs is another process
  // (the container exited, its pid was reused): the hook skips it, touching nothing.
  std::uint64_t start_time = 0;
  std::string secrets_dir;       // absolute, as the container sees it; the tmpfs there
  std::uint64_t tmpfs_size = 0;  // bytes of the new tmpfs
  int signal = 0;                // sent to the init by pidfd after the swap; 0: none
  // Names, modes and ids as in a lease grant: ids are the container's (the hook maps them
  // through /proc/PID/uid_map and gid_map); names relative or under secrets_dir.
  std::vector<LeasedFile> files;
};

// Compact JSON of plan. Holds every payload in base64: the caller wipes it (WipeString).
std::string ToJson(const RefreshPlan& plan);

// The most plan text `oci-secrets-hook refresh` reads from its stdin. The payloads are
// bounded by the tmpfs they go to (16 MiB by default) and base64 makes them 4/3 larger:
// 64 MiB holds a 48 MiB tmpfs's worth, and the hook's memory stays small enough to lock.
inline constexpr std::size_t kMaxRefreshPlanBytes = 64 << 20;

// Parses a plan, wiping every intermediate copy of a payload. InvalidArgument naming the
// field for anything malformed ("refresh plan: Pid: must be a positive integer"); never
// echoes a value. Checks shape only (types, ranges: a non-empty container ID, pid > 0,
// start time > 0, tmpfs size > 0, an absolute secrets dir, signal 0 to 64, file names
// non-empty, modes within 07777); the hook checks paths and modes as at a start. Unknown
// keys are ignored.
Result<RefreshPlan> ParseRefreshPlan(std::string_view json);

// The hook's answer, the last line of its stdout:
//   "refreshed files=N"         the new tmpfs is in place (and the signal sent)
//   "skipped: <why>"            the container is gone or is not the one leased; nothing done
//   "oci-secrets-hook: refresh: <step>: <cause>"   failed; the old tmpfs is still in place
struct RefreshOutcome {
  enum class Kind { kRefreshed, kSkipped, kFailed };
  Kind kind = Kind::kFailed;
  std::string detail;  // the line as the hook wrote it (no payload ever)
};
// Reads the hook's whole stdout: its last non-empty line decides. Anything else (empty,
// no known prefix) is kFailed with detail "no answer from oci-secrets-hook refresh".
RefreshOutcome ParseRefreshOutcome(std::string_view hook_stdout);

// Field 22 (starttime) of a /proc/PID/stat text: after the last ')' (the command name may
// hold spaces and parentheses), the 20th field. InvalidArgument when malformed.
Result<std::uint64_t> ParseStatStartTime(std::string_view stat_text);
// Reads /proc/PID/stat and parses it. NotFound "process PID not found" when it is gone.
Result<std::uint64_t> ProcessStartTime(int pid);

}  // namespace ocisecrets
