#include "manager/live/change_feed.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "shared/base36.h"
#include "shared/crypto.h"

namespace ocisecrets {
namespace {

constexpr std::size_t kEpochLength = 16;

// 16 base36 characters from 80 random bits (36^16 > 2^80, so every value fits).
std::string NewEpoch() {
  auto bytes = RandomBytes(10);
  if (!bytes.ok()) {
    // The system's randomness is gone: nothing the daemon does is safe any more.
    std::fprintf(stderr, "oci-secretsd: change feed: %s\n", bytes.status().message().c_str());
    std::abort();
  }
  return Base36Encode(*bytes, kEpochLength);
}

}  // namespace

ChangeFeed::ChangeFeed(std::size_t capacity, std::function<TimePoint()> clock)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      clock_(clock ? std::move(clock) : [] { return TimePoint(Clock::now()); }),
      epoch_(NewEpoch()) {}

std::uint64_t ChangeFeed::revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

void ChangeFeed::Publish(const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  std::map<std::uint64_t, std::function<void()>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back(Entry{++revision_, clock_(), ids});
    while (entries_.size() > capacity_) entries_.pop_front();
    wake.swap(subscribers_);
  }
  cv_.notify_all();
  for (auto& [token, fn] : wake) fn();  // outside the lock: a wake may take its own locks
}

ChangesResponse ChangeFeed::Since(std::string_view epoch, std::uint64_t since,
                                  const std::set<std::string>& interest) const {
  std::lock_guard<std::mutex> lock(mu_);
  return SinceLocked(epoch, since, interest);
}

ChangesResponse ChangeFeed::SinceLocked(std::string_view epoch, std::uint64_t since,
                                        const std::set<std::string>& interest) const {
  ChangesResponse r;
  r.epoch = epoch_;
  r.revision = revision_;
  if (epoch.empty() && since == 0) return r;  // a first call: start from here
  // Every revision after `since` must still be remembered: entries_ holds a contiguous
  // run ending at revision_, so the oldest kept must be at most since + 1.
  const bool forgotten =
      since < revision_ && (entries_.empty() || entries_.front().revision > since + 1);
  if (epoch != epoch_ || since > revision_ || forgotten) {
    r.reset = true;
    return r;
  }
  std::set<std::string_view> seen;
  for (auto it = std::upper_bound(entries_.begin(), entries_.end(), since,
                                  [](std::uint64_t s, const Entry& e) { return s < e.revision; });
       it != entries_.end(); ++it) {
    for (const std::string& id : it->ids) {
      if (!interest.empty() && !interest.contains(id)) continue;
      if (!seen.insert(id).second) continue;
      if (r.changed.empty()) r.changed_at = it->at;
      r.changed.push_back(id);
    }
  }
  return r;
}

ChangesResponse ChangeFeed::Wait(std::string_view epoch, std::uint64_t since,
                                 const std::set<std::string>& interest,
                                 std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ChangesResponse r = SinceLocked(epoch, since, interest);
    if (r.reset || !r.changed.empty()) return r;
    const std::uint64_t seen = revision_;
    if (!cv_.wait_until(lock, deadline, [&] { return revision_ != seen; })) {
      return SinceLocked(epoch, since, interest);
    }
  }
}

std::uint64_t ChangeFeed::Subscribe(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t token = next_token_++;
  subscribers_.emplace(token, std::move(wake));
  return token;
}

void ChangeFeed::Unsubscribe(std::uint64_t token) {
  std::function<void()> dropped;  // destroyed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = subscribers_.find(token);
  if (it == subscribers_.end()) return;
  dropped = std::move(it->second);
  subscribers_.erase(it);
}

std::size_t ChangeFeed::subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subscribers_.size();
}

}  // namespace ocisecrets
