// The local containers a node role keeps up to date (DESIGN.md "Live updates"): those the
// hook leased with a pid, with who they are (pid and start time), where their tmpfs is
// and what it holds. Saved to STATE_DIR/containers.json (0600, replaced atomically; names,
// IDs and versions only, never a payload) so that a restarted daemon keeps updating them.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/models.h"
#include "shared/status.h"
#include "shared/time_format.h"

namespace ocisecrets {

// One file a container holds now, as its lease granted it (no payload).
struct HeldFile {
  std::string name;
  std::string secret_id;
  std::uint64_t version = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0444;
  bool previous = false;
  bool operator==(const HeldFile&) const = default;
};

// What the grant's file says, without its payload.
HeldFile HeldFileOf(const LeasedFile& f);
// Every file of grant so, sorted by name (as TrackedContainer::files).
std::vector<HeldFile> HeldFilesOf(const LeaseGrant& grant);

struct TrackedContainer {
  std::string container_id;
  std::string service;              // as the hook named it (name or ID)
  std::string service_id;           // empty when not known (a worker's lease)
  int pid = 0;                      // the container's init, host pid namespace
  std::uint64_t start_time = 0;     // field 22 of /proc/PID/stat at the lease
  std::string default_secrets_dir;  // the hook's, when the grant names none
  std::string secrets_dir;          // where the tmpfs is now
  std::uint64_t tmpfs_size = 0;
  std::string update_signal;        // the service's, by name; empty: none
  std::vector<HeldFile> files;      // sorted by name
  TimePoint since{};                // when the container was first leased
  TimePoint refresh_at{};           // the grant's RefreshAt; zero: none
};

class ContainerTracker {
 public:
  // A tracker saving to state_dir/containers.json; empty state_dir: kept in memory only.
  explicit ContainerTracker(std::string state_dir);

  // Reads the saved containers (none when the file is missing). A damaged file is
  // refused (InvalidArgument naming the file and what is wrong), as the worker's state.
  Status Load();

  // Records (or replaces) the container of request (as the hook sent it: Pid,
  // DefaultSecretsDir, TmpfsSize) with what grant gave it, and saves. service_id: the
  // service's ID when known (empty: unknown; a known one is kept). now: its `since` when
  // new (kept when the same process was tracked already).
  Status Track(const LeaseRequest& request, const LeaseGrant& grant, std::string_view service_id,
               std::uint64_t start_time, TimePoint now);
  // Replaces what the tracked container holds after a live update (files, secrets dir,
  // signal, refresh_at) and saves. NotFound when it is not tracked.
  Status Update(std::string_view container_id, const LeaseGrant& grant);
  // Forgets the container and saves. OK also when it was not tracked; returns whether it was.
  Result<bool> Untrack(std::string_view container_id);

  std::vector<TrackedContainer> All() const;
  std::optional<TrackedContainer> Find(std::string_view container_id) const;

  std::string path() const { return path_; }

 private:
  Status SaveLocked() const;

  const std::string path_;  // empty: not saved
  mutable std::mutex mu_;
  std::map<std::string, TrackedContainer, std::less<>> containers_;
};

// The JSON of containers.json and its reader (exposed for tests).
std::string ContainersToJson(const std::vector<TrackedContainer>& containers);
Result<std::vector<TrackedContainer>> ParseContainers(std::string_view json);

}  // namespace ocisecrets
