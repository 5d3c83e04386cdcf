#include "manager/store/change_log.h"

#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <utility>

namespace ocisecrets {
namespace {

std::size_t EventBytes(const WatchEvent& e) { return e.key.size() + e.value.size() + sizeof(e); }

Status Compacted(const std::string& prefix, std::int64_t from, std::int64_t compact_revision) {
  return Status::FailedPrecondition(
      "watch '" + prefix + "' from revision " + std::to_string(from) +
      ": compacted (the store keeps the changes after revision " +
      std::to_string(compact_revision) + "); read again with Range and watch from there");
}

}  // namespace

// One mutex for the log and every watcher: Append and Watch are serialised, so a new
// watcher sees exactly the changes before it (from the log) and after it (pushed).
struct ChangeLog::Core {
  struct Stream {
    std::string prefix;
    std::deque<WatchEvent> pending;
    std::size_t pending_bytes = 0;
    std::int64_t next_revision = 0;  // the first revision not yet delivered
    bool cancelled = false;
    bool compacted = false;
    std::condition_variable cv;
  };

  std::mutex mu;
  ChangeLogLimits limits;
  bool closed = false;
  std::int64_t revision = 0;          // the last appended
  std::int64_t compact_revision = 0;  // the log holds every change after this one
  std::deque<WatchEvent> log;
  std::size_t log_bytes = 0;
  std::list<Stream*> streams;

  void Push(Stream& s, const WatchEvent& e) {
    if (s.compacted || !e.key.starts_with(s.prefix)) return;
    s.pending_bytes += EventBytes(e);
    s.pending.push_back(e);
    if (s.pending_bytes > limits.max_watcher_backlog_bytes) {
      s.compacted = true;
      s.pending.clear();
      s.pending_bytes = 0;
    }
  }
};

namespace {

class LogWatcher final : public Watcher {
 public:
  LogWatcher(std::shared_ptr<ChangeLog::Core> core, ChangeLog::Core::Stream* stream)
      : core_(std::move(core)), stream_(stream) {}

  ~LogWatcher() override {
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->streams.remove(stream_);
    delete stream_;
  }

  Result<std::vector<WatchEvent>> Next(Deadline deadline) override {
    std::unique_lock<std::mutex> lock(core_->mu);
    ChangeLog::Core::Stream& s = *stream_;
    s.cv.wait_until(lock, deadline, [&] {
      return s.cancelled || s.compacted || core_->closed || !s.pending.empty();
    });
    if (s.cancelled) return Status::Unavailable("watch '" + s.prefix + "': cancelled");
    if (core_->closed) return Status::Unavailable("watch '" + s.prefix + "': store closed");
    if (s.compacted) return Compacted(s.prefix, s.next_revision, core_->compact_revision);
    std::vector<WatchEvent> out(std::make_move_iterator(s.pending.begin()),
                                std::make_move_iterator(s.pending.end()));
    s.pending.clear();
    s.pending_bytes = 0;
    if (!out.empty()) s.next_revision = out.back().mod_revision + 1;
    return out;
  }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(core_->mu);
    stream_->cancelled = true;
    stream_->cv.notify_all();
  }

 private:
  std::shared_ptr<ChangeLog::Core> core_;
  ChangeLog::Core::Stream* stream_;  // owned; listed in core_->streams while alive
};

}  // namespace

ChangeLog::ChangeLog(std::int64_t current_revision, ChangeLogLimits limits)
    : core_(std::make_shared<Core>()) {
  core_->limits = limits;
  core_->revision = core_->compact_revision = current_revision;
}

ChangeLog::~ChangeLog() {
  std::lock_guard<std::mutex> lock(core_->mu);
  core_->closed = true;
  for (Core::Stream* s : core_->streams) s->cv.notify_all();
}

void ChangeLog::Append(std::int64_t revision, std::vector<WatchEvent> events) {
  std::lock_guard<std::mutex> lock(core_->mu);
  Core& c = *core_;
  c.revision = revision;
  for (Core::Stream* s : c.streams) {
    for (const WatchEvent& e : events) c.Push(*s, e);
    s->cv.notify_all();
  }
  for (WatchEvent& e : events) {
    c.log_bytes += EventBytes(e);
    c.log.push_back(std::move(e));
  }
  // Drop whole revisions from the front until the log fits its limits again.
  while (!c.log.empty() && (c.log.size() > c.limits.max_events || c.log_bytes > c.limits.max_bytes)) {
    const std::int64_t oldest = c.log.front().mod_revision;
    while (!c.log.empty() && c.log.front().mod_revision == oldest) {
      c.log_bytes -= EventBytes(c.log.front());
      c.log.pop_front();
    }
    c.compact_revision = oldest;
  }
}

Result<std::unique_ptr<Watcher>> ChangeLog::Watch(const std::string& prefix,
                                                  std::int64_t start_revision) {
  if (start_revision < 0) {
    return Status::InvalidArgument("watch: negative start revision " +
                                   std::to_string(start_revision));
  }
  std::lock_guard<std::mutex> lock(core_->mu);
  Core& c = *core_;
  if (c.closed) return Status::Unavailable("watch: store closed");
  const std::int64_t start = start_revision == 0 ? c.revision + 1 : start_revision;
  if (start <= c.compact_revision) return Compacted(prefix, start, c.compact_revision);
  auto stream = std::make_unique<Core::Stream>();
  stream->prefix = prefix;
  stream->next_revision = start;
  for (const WatchEvent& e : c.log) {
    if (e.mod_revision >= start) c.Push(*stream, e);
  }
  c.streams.push_back(stream.get());
  return std::unique_ptr<Watcher>(new LogWatcher(core_, stream.release()));
}

}  // namespace ocisecrets
