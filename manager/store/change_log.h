// The watch of a one-process engine (SQLite, memory): a bounded in-memory log of the
// latest changes, for watches that start in the past, and the open watchers, woken on
// every commit. Changes older than the log holds are "compacted".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "manager/store/kv_store.h"
#include "shared/status.h"

namespace ocisecrets {

struct ChangeLogLimits {
  // The log keeps whole revisions while it holds at most this many events and bytes.
  std::size_t max_events = 4096;
  std::size_t max_bytes = 8 << 20;
  // A watcher whose undelivered changes exceed this many bytes is compacted (Next gives
  // FailedPrecondition), so that a watcher nobody reads cannot grow without bound.
  std::size_t max_watcher_backlog_bytes = 64 << 20;
};

class ChangeLog {
 public:
  // The engine is at revision current_revision; the log holds nothing older.
  explicit ChangeLog(std::int64_t current_revision, ChangeLogLimits limits = {});
  // Open watchers get Unavailable from then on.
  ~ChangeLog();
  ChangeLog(const ChangeLog&) = delete;
  ChangeLog& operator=(const ChangeLog&) = delete;

  // Records the changes of the txn that made revision (> every earlier one) and wakes the
  // watchers they concern. The engine calls it once per changing txn, in commit order,
  // after the txn is durable. Thread-safe.
  void Append(std::int64_t revision, std::vector<WatchEvent> events);

  // KvStore::Watch, served from the log and from every later Append. Thread-safe.
  Result<std::unique_ptr<Watcher>> Watch(const std::string& prefix, std::int64_t start_revision);

 // The state shared with the watchers it opens (they may outlive the log).
  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace ocisecrets
