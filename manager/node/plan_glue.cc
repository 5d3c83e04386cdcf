#include "manager/node/plan_glue.h"

#include <string>

#include "shared/secure_buffer.h"
#include "shared/signal_name.h"

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
  Result<int> number = SignalNumber(name);
  return number.ok() ? *number : 0;
}

}  // namespace ocisecrets
