// The change feed of a manager (DESIGN.md "Live updates"): which secrets and services
// changed, in the order this process learned of it, so that node roles long-polling
// POST /v1/changes (or the local node role, in process) learn of a rotate, a rollback, a
// revoke or a service update at once, without polling the store. The registry publishes
// every change it commits or sees through the store's watch (another manager's);
// RegistryOptions::on_change.
//
// Revisions are this process's own sequence (1, 2, ...), not the store's: a change another
// manager made may reach this one after a later change of its own. An epoch (random per
// process) tells a node that asks with another manager's revision to start over (Reset).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/models.h"
#include "shared/time_format.h"

namespace ocisecrets {

class ChangeFeed {
 public:
  // Remembers the last `capacity` changes; an older `since` is answered with Reset.
  // clock: wall clock for ChangedAt (default the system clock).
  explicit ChangeFeed(std::size_t capacity = 65536, std::function<TimePoint()> clock = {});

  // 16 random base36 characters, fixed for the feed's life.
  const std::string& epoch() const { return epoch_; }
  // The last revision published (0 before the first).
  std::uint64_t revision() const;

  // Records that the objects `ids` (secret or service IDs) changed, as one new revision,
  // and wakes every waiter and subscriber. An empty list does nothing.
  void Publish(const std::vector<std::string>& ids);

  // What changed after `since` among `interest` (an empty interest matches every ID), as
  // of now, each ID once, in the order first published; ChangedAt is when the first of
  // them was published. Reset (Changed empty) when epoch is not this feed's, since is
  // older than the feed remembers or newer than its revision; an empty epoch with since 0
  // is a first call: Reset false, nothing changed, the current revision (start from here).
  // The answer always carries this feed's epoch and current revision.
  ChangesResponse Since(std::string_view epoch, std::uint64_t since,
                        const std::set<std::string>& interest) const;

  // Blocks the calling thread until Since(...) reports a change or a Reset, or until
  // deadline; returns it (at the deadline: Since's answer as of then). For
  // in-process callers; the server waits without a thread (Subscribe).
  ChangesResponse Wait(std::string_view epoch, std::uint64_t since,
                       const std::set<std::string>& interest,
                       std::chrono::steady_clock::time_point deadline) const;

  // Calls wake() once, from the thread of the next Publish (it must be quick and must not
  // call back into the feed). Returns a token for Unsubscribe, which a caller must call
  // if wake has not run (a no-op if it has). A Publish that took the wake just before an
  // Unsubscribe may still be calling it after Unsubscribe returns: wake must own (by
  // value, or shared) everything it touches. Every Publish wakes every subscriber,
  // whatever it changed: the subscriber asks Since again. To miss no change, subscribe
  // first, then ask Since, then wait.
  std::uint64_t Subscribe(std::function<void()> wake);
  void Unsubscribe(std::uint64_t token);

  // How many subscribers wait for the next Publish.
  std::size_t subscribers() const;

 private:
  struct Entry {
    std::uint64_t revision;
    TimePoint at;
    std::vector<std::string> ids;
  };
  ChangesResponse SinceLocked(std::string_view epoch, std::uint64_t since,
                              const std::set<std::string>& interest) const;  // mu_ held
  const std::size_t capacity_;
  const std::function<TimePoint()> clock_;
  const std::string epoch_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<Entry> entries_;        // oldest first
  std::uint64_t revision_ = 0;
  std::uint64_t next_token_ = 1;
  std::map<std::uint64_t, std::function<void()>> subscribers_;
};

}  // namespace ocisecrets
