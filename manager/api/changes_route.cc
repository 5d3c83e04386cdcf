// POST /v1/changes: the node roles' long-poll over the change feed, and the blocking
// wait for in-process callers of a deferred answer.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>

#include "manager/api/router.h"
#include "manager/live/change_feed.h"

namespace ocisecrets {
namespace {

Response ChangesAnswer(const ChangesResponse& r) { return JsonResponse(200, ToJson(r)); }

}  // namespace

Response AwaitAnswer(Response r) {
  if (r.deferred == nullptr) return r;
  const std::shared_ptr<DeferredAnswer> d = std::move(r.deferred);
  // Shared with the wake, which may run after this returns.
  struct Signal {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
  };
  auto signal = std::make_shared<Signal>();
  while (true) {
    {
      std::lock_guard<std::mutex> lock(signal->mu);
      signal->woken = false;
    }
    const std::uint64_t token = d->subscribe([signal] {
      std::lock_guard<std::mutex> lock(signal->mu);
      signal->woken = true;
      signal->cv.notify_all();
    });
    if (std::optional<Response> ready = d->ready()) {
      d->unsubscribe(token);
      return std::move(*ready);
    }
    std::unique_lock<std::mutex> lock(signal->mu);
    const bool woken = signal->cv.wait_until(lock, d->deadline, [&] { return signal->woken; });
    lock.unlock();
    d->unsubscribe(token);
    if (!woken) return d->answer();
  }
}

Response Router::ChangesHandler(Context& c) {
  if (feed_ == nullptr) {
    return ErrorResponse(Status::FailedPrecondition("live updates are not served here"));
  }
  auto req = ParseChangesRequest(c.request.body);
  if (!req.ok()) return ErrorResponse(req.status());
  std::set<std::string> interest(req->secrets.begin(), req->secrets.end());
  interest.insert(req->services.begin(), req->services.end());
  ChangesResponse now = feed_->Since(req->epoch, req->since, interest);
  const auto wait = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(req->wait_ms), kMaxChangesWait);
  // A first call (no epoch yet) learns where to start from at once: held, it could never
  // see a change, since every later one is after a revision it does not know yet.
  const bool first = req->epoch.empty() && req->since == 0;
  if (first || now.reset || !now.changed.empty() || wait.count() == 0) return ChangesAnswer(now);

  // Nothing yet: the server holds the request. The lambdas own copies of what they ask.
  ChangeFeed* feed = feed_;
  auto d = std::make_shared<DeferredAnswer>();
  d->deadline = std::chrono::steady_clock::now() + wait;
  d->subscribe = [feed](std::function<void()> wake) { return feed->Subscribe(std::move(wake)); };
  d->unsubscribe = [feed](std::uint64_t token) { feed->Unsubscribe(token); };
  auto ask = [feed, epoch = req->epoch, since = req->since, interest = std::move(interest)] {
    return feed->Since(epoch, since, interest);
  };
  d->ready = [ask]() -> std::optional<Response> {
    ChangesResponse r = ask();
    if (!r.reset && r.changed.empty()) return std::nullopt;
    return ChangesAnswer(r);
  };
  d->answer = [ask] { return ChangesAnswer(ask()); };
  Response r;
  r.deferred = std::move(d);
  return r;
}

}  // namespace ocisecrets
