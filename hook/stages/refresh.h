// `oci-secrets-hook refresh`: a live update of one running container (DESIGN.md "Live
// updates"), run by the daemon's launcher with a RefreshPlan (shared/refresh_plan.h) on
// stdin. The start's stages are in stages.h.
#pragma once

#include <cstdio>

namespace ocisecrets::hook {

struct RefreshOptions {
  // false: skip MOVE_MOUNT_BENEATH and take the older kernels' way at once (tests).
  bool try_beneath = true;
};

// Reads the plan from `plan_fd` (at most kMaxRefreshPlanBytes), locks memory before it
// holds payloads, and replaces the tmpfs at the plan's secrets dir in the container's
// mount namespace by one built from the plan (no file: an empty tmpfs), then sends the
// plan's signal to the container's init by pidfd. Gives itself 10 s (alarm). Writes one
// line to `out` and returns the exit code:
//   "refreshed files=N"  0  the new tmpfs is in place (and the signal sent). On a kernel
//                           without MOVE_MOUNT_BENEATH (before 6.5) the new tmpfs goes on
//                           top of the old one, which stays there, covered, until the
//                           container exits; the line then says "(stacked ...)".
//   "skipped: <why>"     0  the pid is gone ("container exited") or now another process
//                           ("pid N is now another process (start time differs)"): nothing
//                           touched.
//   "oci-secrets-hook: refresh: <step>: <cause>"  1  failed; the old tmpfs stays in place.
// Refused (touching nothing in the container): a secrets dir that is missing, or is not
// the root of a read-only tmpfs (a plain directory, a symlink resolving elsewhere inside
// the root, another file system), or sits on a shared-propagation mount. Changes the
// calling process's mount namespace and working directory: run it as the whole process.
int RunRefresh(int plan_fd, std::FILE* out, const RefreshOptions& options = {});

}  // namespace ocisecrets::hook
