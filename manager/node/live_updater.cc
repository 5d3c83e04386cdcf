#include "manager/node/live_updater.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <utility>

#include "shared/fault_point.h"

namespace ocisecrets {

namespace {

using SteadyClock = std::chrono::steady_clock;

// The data version of each secret a container holds (the overlap's .previous aside).
std::map<std::string, std::uint64_t> VersionsOf(const std::vector<HeldFile>& files) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& f : files) {
    if (!f.previous && !f.secret_id.empty()) out[f.secret_id] = f.version;
  }
  return out;
}

std::string NameOf(const std::vector<HeldFile>& files, const std::string& secret_id) {
  for (const auto& f : files) {
    if (f.secret_id == secret_id && !f.previous) return f.name;
  }
  return {};
}

}  // namespace

LiveUpdater::LiveUpdater(LiveUpdaterOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = [] { return TimePoint(Clock::now()); };
  if (!options_.log) {
    options_.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  }
  if (!options_.signal_number) options_.signal_number = [](std::string_view) { return 0; };
  options_.parallel = std::max(1, options_.parallel);
}

LiveUpdater::~LiveUpdater() { Stop(); }

void LiveUpdater::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (poll_thread_.joinable()) return;
  stop_ = false;
  poll_thread_ = std::thread([this] { PollLoop(); });
  timer_thread_ = std::thread([this] { TimerLoop(); });
}

void LiveUpdater::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  options_.uplink->Interrupt();
  if (poll_thread_.joinable()) poll_thread_.join();
  if (timer_thread_.joinable()) timer_thread_.join();
}

void LiveUpdater::PollLoop() {
  bool failing = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    Status s = PollOnce(options_.wait);
    if (!s.ok() && !failing) options_.log("live updates: cannot poll for changes: " + s.message());
    if (s.ok() && failing) options_.log("live updates: polling for changes again");
    failing = !s.ok();
    lock.lock();
    if (failing) cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stop_; });
  }
}

void LiveUpdater::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    Tick();
    lock.lock();
  }
}

ChangesRequest LiveUpdater::Interest() const {
  ChangesRequest r;
  std::set<std::string> secrets, services;
  for (const auto& c : options_.tracker->All()) {
    services.insert(c.service_id.empty() ? c.service : c.service_id);
    for (const auto& f : c.files) {
      if (!f.secret_id.empty()) secrets.insert(f.secret_id);
    }
  }
  r.secrets.assign(secrets.begin(), secrets.end());
  r.services.assign(services.begin(), services.end());
  std::lock_guard<std::mutex> lock(mu_);
  r.epoch = epoch_;
  r.since = since_;
  return r;
}

Status LiveUpdater::PollOnce(std::chrono::milliseconds wait) {
  ChangesRequest request = Interest();
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = !started_poll_;
  }
  // The first call only learns where the feed is: it must not wait.
  request.wait_ms = first ? 0 : static_cast<std::uint64_t>(wait.count());
  ASSIGN_OR_RETURN(ChangesResponse answer,
                   options_.uplink->Wait(request, SteadyClock::now() + wait), "");
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_poll_ = true;
    epoch_ = answer.epoch;
    since_ = answer.revision;
  }
  std::set<std::string> changed(answer.changed.begin(), answer.changed.end());
  std::vector<std::string> affected;
  for (const auto& c : options_.tracker->All()) {
    bool hit = answer.reset || first || changed.count(c.service_id) > 0 || changed.count(c.service) > 0;
    for (const auto& f : c.files) hit = hit || changed.count(f.secret_id) > 0;
    if (hit) affected.push_back(c.container_id);
  }
  UpdateAll(affected, answer.changed_at);
  return Status::Ok();
}

void LiveUpdater::Tick() {
  const TimePoint now = options_.clock();
  bool liveness = false;
  std::set<std::string> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now >= next_liveness_) {
      liveness = true;
      next_liveness_ = now + options_.liveness_period;
    }
    for (const auto& [id, retry] : retries_) {
      if (retry.at <= now) due.insert(id);
    }
  }
  if (liveness) CheckLiveness();
  for (const auto& c : options_.tracker->All()) {
    if (c.refresh_at != TimePoint{} && c.refresh_at <= now) due.insert(c.container_id);
  }
  UpdateAll({due.begin(), due.end()}, TimePoint{});
}

void LiveUpdater::CheckLiveness() {
  for (const auto& c : options_.tracker->All()) {
    auto start = options_.start_time(c.pid);
    if (start.ok() && *start == c.start_time) continue;
    if (!start.ok() && start.status().code() != StatusCode::kNotFound) continue;  // unsure
    Forget(c.container_id, start.ok() ? "its pid " + std::to_string(c.pid) +
                                            " now belongs to another process"
                                      : "its process " + std::to_string(c.pid) + " is gone");
  }
}

void LiveUpdater::UpdateAll(const std::vector<std::string>& ids, TimePoint changed_at) {
  if (ids.empty()) return;
  std::lock_guard<std::mutex> round(update_mu_);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < ids.size(); i = next++) UpdateOne(ids[i], changed_at);
  };
  std::vector<std::thread> threads;
  const std::size_t n = std::min<std::size_t>(ids.size(), options_.parallel);
  for (std::size_t t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

void LiveUpdater::UpdateOne(const std::string& id, TimePoint changed_at) {
  if (OCI_FAULT_POINT("skip-live-updates")) return;  // test-only: shared/fault_point.h
  auto tracked = options_.tracker->Find(id);
  if (!tracked) return;
  const TrackedContainer& c = *tracked;
  LeaseRequest request{c.container_id, c.service};
  request.renewal = true;
  auto grant = options_.uplink->Renew(request);
  if (!grant.ok()) return Failed(id, "renew the lease: " + grant.status().message());
  const std::string dir = grant->secrets_dir.empty() ? c.default_secrets_dir : grant->secrets_dir;
  if (HeldFilesOf(*grant) == c.files && dir == c.secrets_dir) {
    // Nothing to swap (another secret changed, or only the lease's time).
    if (Status s = options_.tracker->Update(id, *grant); !s.ok()) options_.log(s.message());
    std::lock_guard<std::mutex> lock(mu_);
    retries_.erase(id);
    return;
  }
  RefreshPlan plan;
  plan.container_id = c.container_id;
  plan.pid = c.pid;
  plan.start_time = c.start_time;
  plan.secrets_dir = dir;
  plan.tmpfs_size = c.tmpfs_size;
  plan.signal = grant->update_signal.empty() ? 0 : options_.signal_number(grant->update_signal);
  plan.files = std::move(grant->files);  // the payloads go with the plan, wiped with it
  RefreshOutcome outcome =
      options_.refresher->Refresh(plan, SteadyClock::now() + options_.refresh_deadline);
  // The files come back without their payloads (freed, so wiped): the tracker and the
  // audit see none.
  for (LeasedFile& f : plan.files) f.data = SecretBytes();
  grant->files = std::move(plan.files);
  switch (outcome.kind) {
    case RefreshOutcome::Kind::kRefreshed: {
      if (options_.metrics != nullptr) {
        double seconds = changed_at == TimePoint{}
                             ? -1
                             : std::chrono::duration<double>(options_.clock() - changed_at).count();
        options_.metrics->RecordLiveUpdate("refreshed", seconds);
      }
      Audit(c, *grant);
      if (Status s = options_.tracker->Update(id, *grant); !s.ok()) options_.log(s.message());
      HeldReport report;
      report.containers.push_back({id, VersionsOf(HeldFilesOf(*grant))});
      if (Status s = options_.uplink->ReportHeld(report); !s.ok()) {
        options_.log("live update of container " + id + ": report what it holds: " + s.message());
      }
      std::lock_guard<std::mutex> lock(mu_);
      retries_.erase(id);
      return;
    }
    case RefreshOutcome::Kind::kSkipped:
      if (options_.metrics != nullptr) options_.metrics->RecordLiveUpdate("skipped", -1);
      return Forget(id, outcome.detail);
    case RefreshOutcome::Kind::kFailed:
      if (options_.metrics != nullptr) options_.metrics->RecordLiveUpdate("failed", -1);
      return Failed(id, outcome.detail);
  }
}

void LiveUpdater::Forget(const std::string& id, const std::string& why) {
  auto untracked = options_.tracker->Untrack(id);
  if (!untracked.ok()) options_.log(untracked.status().message());
  Status ended = options_.uplink->End(id);
  options_.log("live updates: container " + id + " no longer tracked (" + why + ")" +
               (ended.ok() ? "" : "; its lease end failed: " + ended.message()));
  std::lock_guard<std::mutex> lock(mu_);
  retries_.erase(id);
}

void LiveUpdater::Failed(const std::string& id, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  Retry& r = retries_[id];
  r.backoff = std::min<std::chrono::seconds>(
      options_.max_backoff, r.backoff.count() == 0 ? std::chrono::seconds(1) : r.backoff * 2);
  r.at = options_.clock() + r.backoff;
  if (!r.logged) {
    options_.log("live update of container " + id + " failed (retried with backoff): " + why);
    r.logged = true;
  }
}

void LiveUpdater::Audit(const TrackedContainer& before, const LeaseGrant& after) {
  if (options_.audit == nullptr) return;
  Identity self;
  self.uid = geteuid();
  self.pid = getpid();
  self.node_id = options_.uplink->node_id();
  const auto after_files = HeldFilesOf(after);
  const auto from = VersionsOf(before.files);
  const auto to = VersionsOf(after_files);
  auto record = [&](const char* action, const std::string& secret_id, const std::string& name,
                    std::uint64_t v_from, std::uint64_t v_to) {
    AuditEvent e;
    e.action = action;
    e.status = 200;
    e.container_id = before.container_id;
    e.id = secret_id;
    e.name = name;
    e.secret_ids = {secret_id};
    e.from_version = v_from;
    e.to_version = v_to;
    options_.audit->Record(self, e);
  };
  for (const auto& [secret, version] : to) {
    auto old = from.find(secret);
    std::uint64_t v_from = old == from.end() ? 0 : old->second;
    if (old == from.end() || v_from != version) {
      record("live.update", secret, NameOf(after_files, secret), v_from, version);
    }
  }
  for (const auto& [secret, version] : from) {
    if (to.count(secret) == 0) {
      record("live.revoke", secret, NameOf(before.files, secret), version, 0);
    }
  }
}

}  // namespace ocisecrets
