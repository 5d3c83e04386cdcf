// The manager's locked state (DESIGN.md "Encryption at rest"; autolock). Decides at start
// whether the keyring can be opened, keeps what waits for the root key until it is, and
// turns autolock on and off.
//
// Store key: keyring/root  {"Wrapped": base64}, present only while autolock is on: the
// root key wrapped under the unlock key (shared/unlock_key.h). With autolock on no
// manager keeps its root key file; each follows keyring/root (Maintain) so that another
// manager turning autolock on deletes this one's file, and turning it off writes it back.
// The unlock key itself is never stored: this manager keeps the current one in memory
// (SecretBytes) after Enable, RotateUnlockKey or Unlock.
//
// Thread safety: every public method may be called from many threads at once; reason(),
// locked() and autolock() read only memory. The rest serialize on one lock, under which
// the OnUnlocked callbacks also run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manager/api/lock_hooks.h"
#include "manager/store/keyring.h"
#include "manager/store/kv_store.h"

namespace ocisecrets {

// The store key of the wrapped root key.
inline constexpr std::string_view kWrappedRootKey = "keyring/root";

class Autolock : public LockHooks {
 public:
  // kv and keyring must outlive this; keyring is normally Keyring::Locked (Start opens
  // it). root_key_path is this manager's root key file (STATE_DIR/root.key).
  Autolock(KvStore* kv, Keyring* keyring, std::string root_key_path);

  // The start decision, in this order: the root key file exists: the keyring is unlocked
  // with it; else keyring/root exists: kLocked; else the store has keyring terms: on a
  // shared engine kNotJoined, on "sqlite" (a store nobody else has) FailedPrecondition
  // naming the missing root key file; else (a new store) a new root key file, unlocked.
  // Errors of the file (LoadOrCreateRootKey), the store and Keyring::Unlock, with context.
  Result<LockReason> Start();

  // Runs f once the keyring is unlocked: at once (returning f's status) when it already
  // is, else from the Unlock that unlocks it (on that request's thread; its error then
  // becomes Unlock's). Callbacks run in the order given, each once.
  Status OnUnlocked(std::function<Status()> f);

  // LockHooks::Unlock with the key's bytes. The keyring, then every OnUnlocked callback;
  // the reason becomes kUnlocked once they ran (also when one failed: its error is
  // returned with the context "unlocked, but").
  Status Unlock(const SecretBytes& unlock_key);
  Status Unlock(std::string_view unlock_key_text) override;

  // A manager that received the root key another way (a manager join): unlocks the
  // keyring with it, writes the root key file unless autolock is on, runs the callbacks.
  // FailedPrecondition kNotLockedMessage when unlocked; Keyring::Unlock's errors.
  Status UnlockWithRootKey(KeyBytes root_key);

  // Turns autolock on: writes keyring/root (compare: absent) and deletes the root key
  // file; returns the new unlock key's text (the caller wipes it). FailedPrecondition
  // "autolock is already on"; Unavailable kLockedMessage while locked.
  Result<std::string> Enable();
  // Turns autolock off: writes the root key file back, then deletes keyring/root.
  // FailedPrecondition kAutolockOffMessage when off; Unavailable while locked.
  Status Disable();
  // A new unlock key for the same root key (compare on keyring/root); the old key opens
  // nothing from then on. Errors as Disable.
  Result<std::string> RotateUnlockKey();
  // The current unlock key's text. FailedPrecondition kAutolockOffMessage when off, or
  // "this manager does not know the unlock key ..." when another manager made it.
  Result<std::string> CurrentUnlockKey();

  // Follows keyring/root (the daemon calls it every second): on, deletes this manager's
  // root key file and forgets an unlock key that is no longer current; off, writes the
  // root key file back. OK and nothing done while locked. Errors of the store and files.
  Status Maintain();

  // LockHooks.
  LockReason reason() const override { return reason_.load(); }
  bool autolock() const override { return autolock_.load(); }
  Result<std::string> UnlockKey(bool rotate) override;
  Result<std::optional<std::string>> SetAutolock(bool on) override;

  bool locked() const { return reason() != LockReason::kUnlocked; }

 private:
  struct Wrapped {
    std::string blob;
    std::int64_t mod_revision = 0;
  };
  // keyring/root, or nullopt when autolock is off.
  Result<std::optional<Wrapped>> ReadWrappedLocked();
  Status RequireUnlockedLocked() const;
  // Wraps the root key under a new unlock key and puts it with a compare on
  // expected_revision (0: absent). Returns the key's text; keeps the key.
  Result<std::string> PutNewUnlockKeyLocked(std::int64_t expected_revision);
  Result<std::string> CurrentUnlockKeyLocked();
  Result<std::string> EnableLocked();               // autolock is off
  Status DisableLocked(const Wrapped& wrapped);     // autolock is on with wrapped
  Status RemoveRootKeyFileLocked();
  Status WriteRootKeyFileLocked();
  // Marks unlocked and runs the callbacks.
  Status FinishUnlockLocked();
  void ForgetUnlockKeyLocked();

  KvStore* kv_;
  Keyring* keyring_;
  const std::string root_key_path_;

  std::mutex mu_;  // serializes everything but the atomics
  std::atomic<LockReason> reason_{LockReason::kLocked};
  std::atomic<bool> autolock_{false};
  SecretBytes unlock_key_;               // the current one when known; empty otherwise
  std::int64_t unlock_key_revision_ = 0;  // keyring/root's mod_revision it matches
  std::vector<std::function<Status()>> on_unlocked_;
};

}  // namespace ocisecrets
