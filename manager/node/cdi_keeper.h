// Keeps the CDI spec (manager/node/cdi_spec.h) current while it is enabled: rewritten at
// Start, at Enable and after every change the change feed publishes (a service created,
// updated or removed, here or on another manager sharing the store), only when its text
// changes. The settings live in STATE_DIR/cdi.json (0600) so that a restarted daemon goes
// on keeping it. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "manager/api/cdi_hooks.h"
#include "manager/live/change_feed.h"
#include "manager/registry/registry.h"

namespace ocisecrets {

struct CdiKeeperOptions {
  std::string state_file;        // STATE_DIR/cdi.json
  Registry* registry = nullptr;  // required: the services
  ChangeFeed* feed = nullptr;    // required: when to look again
  std::function<void(const std::string&)> log;  // default stderr
};

class CdiKeeper final : public CdiHooks {
 public:
  // Reads the state file when it exists (a damaged one is refused, naming it). Writes
  // nothing yet.
  static Result<std::unique_ptr<CdiKeeper>> Open(CdiKeeperOptions options);
  ~CdiKeeper() override;  // Stop()

  // CdiHooks.
  Result<CdiStatus> Enable(const CdiSettings& settings) override;
  Result<CdiStatus> Disable() override;
  Result<CdiStatus> Current() override;

  // Writes the spec now when enabled, then follows the feed on a thread of its own until
  // Stop (call it before the registry goes). A failed write is logged (once until it
  // works again) and tried again at the next change.
  void Start();
  void Stop();

 private:
  explicit CdiKeeper(CdiKeeperOptions options) : options_(std::move(options)) {}
  // The names of the registry's services, sorted.
  Result<std::vector<std::string>> Devices();
  // Enabled with `settings`: the spec dir and file, and the devices the registry's services
  // make now. Writes nothing.
  Result<CdiStatus> EnabledStatus(const CdiSettings& settings);
  // EnabledStatus, with the spec written when it changed. mu_ held.
  Result<CdiStatus> RefreshLocked(const CdiSettings& settings);
  void Follow();

  const CdiKeeperOptions options_;
  std::mutex mu_;  // settings_ and the files
  std::optional<CdiSettings> settings_;
  bool failing_ = false;
  // The follower's wake-ups, shared with the feed's wake (which may outlive a Stop).
  struct Signal {
    std::mutex mu;
    std::condition_variable cv;
    bool dirty = false;
    bool stop = false;
  };
  std::shared_ptr<Signal> signal_ = std::make_shared<Signal>();
  std::thread thread_;
};

}  // namespace ocisecrets
