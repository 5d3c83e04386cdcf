// What the router asks of the manager's locked state (autolock, and a manager on a shared
// store that has not joined yet), as an interface so that the router needs no
// manager/cluster. Implemented by Autolock (manager/cluster/autolock.h). Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets {

// Why a manager does not have its root key.
enum class LockReason {
  kUnlocked,   // it has it: everything is served
  kLocked,     // autolock: the root key is wrapped by an unlock key (`cluster unlock`)
  kNotJoined,  // a shared store with another cluster's keyring: `cluster join` first
};

// What every gated route answers (503 Unavailable) while the manager is locked.
inline constexpr std::string_view kLockedMessage =
    "the manager is locked: run oci-secrets cluster unlock";
inline constexpr std::string_view kNotJoinedMessage =
    "this manager shares a store with a cluster it has not joined: run oci-secrets cluster "
    "join --token MANAGER_TOKEN --listen-addr ADDR:PORT MANAGER:PORT";
// POST /v1/cluster/unlock on a manager that is not locked (409).
inline constexpr std::string_view kNotLockedMessage = "the manager is not locked";
// An unlock key that does not open the root key (403).
inline constexpr std::string_view kInvalidUnlockKeyMessage = "invalid unlock key";
// The unlock-key routes while autolock is off (409).
inline constexpr std::string_view kAutolockOffMessage =
    "autolock is off: run oci-secrets cluster update --autolock=true";

class LockHooks {
 public:
  virtual ~LockHooks() = default;

  // The current reason; kUnlocked once the root key is known (and what waited for it
  // has started).
  virtual LockReason reason() const = 0;
  // Whether autolock is on (the store holds the wrapped root key).
  virtual bool autolock() const = 0;

  // `cluster unlock`: opens the root key with the unlock key's text. InvalidArgument
  // "invalid unlock key: ..." for malformed text; PermissionDenied kInvalidUnlockKeyMessage
  // for a wrong key; FailedPrecondition kNotLockedMessage when unlocked, kNotJoinedMessage
  // when the manager must join instead.
  virtual Status Unlock(std::string_view unlock_key_text) = 0;

  // The current unlock key's text (rotate: a new one first; the old one opens nothing
  // from then on). FailedPrecondition kAutolockOffMessage when autolock is off, or when
  // this manager does not know the key (another manager turned autolock on: rotate
  // makes one it knows). Unavailable while locked. The caller wipes the text.
  virtual Result<std::string> UnlockKey(bool rotate) = 0;

  // Turns autolock on or off. On: returns the new unlock key's text (the caller wipes it),
  // this manager's root key file is deleted. Off: the root key file is written back,
  // nullopt. Already so: nullopt, nothing changes. Unavailable while locked.
  virtual Result<std::optional<std::string>> SetAutolock(bool on) = 0;
};

}  // namespace ocisecrets
