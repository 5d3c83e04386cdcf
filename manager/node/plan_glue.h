// What joins the live updater to the hook: the Refresher that runs a plan through the
// launcher, and the process and signal look-ups the daemon gives the updater.
#pragma once

#include <cstdint>
#include <string_view>

#include "manager/node/launcher.h"
#include "manager/node/live_updater.h"

namespace ocisecrets {

// Plan -> JSON on the hook's stdin (the JSON wiped after), the hook's answer parsed; an
// error of the launcher is a failed outcome naming it. runner must outlive it.
class HookRefresher final : public Refresher {
 public:
  explicit HookRefresher(RefreshRunner* runner) : runner_(runner) {}
  RefreshOutcome Refresh(const RefreshPlan& plan,
                         std::chrono::steady_clock::time_point deadline) override;

 private:
  RefreshRunner* runner_;
};

// Field 22 of /proc/PID/stat (ProcessStartTime); NotFound when the process is gone.
Result<std::uint64_t> HostProcessStartTime(int pid);

// The number of a signal name ("SIGHUP", "HUP") or number ("1"); 0 when unknown or empty.
int UpdateSignalNumber(std::string_view name);

}  // namespace ocisecrets
