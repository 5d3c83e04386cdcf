#include "manager/node/plan_glue.h"

#include <signal.h>
#include <string.h>

#include <charconv>
#include <string>

#include "shared/secure_buffer.h"

namespace ocisecrets {

RefreshOutcome HookRefresher::Refresh(const RefreshPlan& plan,
                                      std::chrono::steady_clock::time_point deadline) {
  std::string json = ToJson(plan);
  auto out = runner_->RunRefresh(json, deadline);
  WipeString(json);
  if (!out.ok()) return {RefreshOutcome::Kind::kFailed, out.status().message()};
  return ParseRefreshOutcome(*out);
}

Result<std::uint64_t> HostProcessStartTime(int pid) { return ProcessStartTime(pid); }

// TODO(lead): shared/signal_name.h (part A) was not on main when this was written; use
// its SignalNumber here once merged, and drop this table.
int UpdateSignalNumber(std::string_view name) {
  if (name.empty()) return 0;
  int number = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (ec == std::errc() && end == name.data() + name.size()) {
    return number > 0 && number < 65 ? number : 0;
  }
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  for (int s = 1; s < 32; ++s) {
    const char* abbrev = sigabbrev_np(s);
    if (abbrev != nullptr && name == abbrev) return s;
  }
  return 0;
}

}  // namespace ocisecrets
