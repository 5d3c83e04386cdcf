// Encryption at rest. A root key (32 bytes, DIR/root.key, 0600) seals a keyring of KEKs
// by term, stored in the KvStore under "keyring/". Each payload gets its own key,
// HKDF-SHA256(KEK[term], random salt), and is sealed with AES-256-GCM under an AAD that
// binds it to its store key, secret ID and version: a sealed blob copied to another
// record, ID or version does not open. Keys live in KeyBytes (OpenSSL's secure heap).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manager/store/kv_store.h"
#include "shared/crypto.h"
#include "shared/secure_buffer.h"
#include "shared/status.h"

namespace ocisecrets {

// Name of the root key file inside the state dir.
inline constexpr std::string_view kRootKeyFileName = "root.key";
// Store prefix of the keyring records ("keyring/terms/0000000001").
inline constexpr std::string_view kKeyringPrefix = "keyring/";

// Reads the 32-byte root key at path; when the file does not exist, makes one from the
// CSPRNG (0600, created exclusively, fsynced). FailedPrecondition for a file that is not
// a regular file, not owned by us, readable or writable by group or others, or not 32
// bytes; the message says how to fix it.
Result<KeyBytes> LoadOrCreateRootKey(const std::string& path);

// Writes key as the root key file at path (0600, whole or not at all, fsynced with its
// directory). AlreadyExists when path exists: it is never replaced.
Status WriteRootKey(const std::string& path, std::span<const std::uint8_t> key);

class Keyring {
 public:
  // Loads every term of the keyring from kv, opening each with root_key; on first start
  // (no term) creates term 1. DataLoss "... wrong root key?" when a term does not open.
  // kv must outlive the Keyring. Safe against other managers on the same kv (etcd): terms
  // are created with a compare on absence.
  static Result<std::unique_ptr<Keyring>> Open(KeyBytes root_key, KvStore& kv);
  // LoadOrCreateRootKey(root_key_path), then Open.
  static Result<std::unique_ptr<Keyring>> Open(const std::string& root_key_path, KvStore& kv);
  // A keyring whose root key is not known yet: a manager under autolock before `cluster
  // unlock`, or a manager on a shared store before it joined. Until Unlock succeeds,
  // SealPayload, OpenPayload, Reseal, Rotate and RootKey return Unavailable
  // "the keyring is locked" and current_term() is 0. kv must outlive the Keyring.
  static std::unique_ptr<Keyring> Locked(KvStore& kv);

  // Gives a locked keyring its root key: loads every term (creating term 1 on a store
  // that has none), as Open does. InvalidArgument for a key that is not 32 bytes;
  // DataLoss when a term does not open with it (the keyring stays locked);
  // FailedPrecondition "the keyring is already unlocked". Thread-safe.
  Status Unlock(KeyBytes root_key);

  // True until Unlock (or Open) gave the keyring its root key.
  bool locked() const;

  // A copy of the root key, to wrap it for autolock or for a joining manager (never to
  // store it unwrapped anywhere but the 0600 root key file). Unavailable when locked.
  Result<KeyBytes> RootKey() const;

  // Seals a payload for the record stored at record_key holding secret_id at version,
  // with the current term. The result is opaque bytes to store as is.
  Result<std::string> SealPayload(std::string_view record_key, std::string_view secret_id,
                                  std::uint64_t version, std::span<const std::uint8_t> plaintext);

  // The plaintext of a SealPayload blob, given the same record_key, secret_id and version.
  // DataLoss when the blob was altered, belongs to another record/ID/version, or its term
  // is unknown (after reloading the keyring once, for terms made by another manager).
  Result<SecretBytes> OpenPayload(std::string_view record_key, std::string_view secret_id,
                                  std::uint64_t version, std::string_view sealed);

  // Re-encrypts a payload sealed under an older term with the current term (the
  // background re-encryption after Rotate). nullopt when it already uses the current term.
  // Errors as OpenPayload; the caller stores the result with a compare on mod_revision.
  Result<std::optional<std::string>> Reseal(std::string_view record_key,
                                            std::string_view secret_id, std::uint64_t version,
                                            std::string_view sealed);

  // Adds a term with a new random KEK and makes it current; returns it. Blobs sealed
  // under older terms still open (re-encrypting them is the caller's background job).
  Result<std::uint32_t> Rotate();

  // The term new seals use.
  std::uint32_t current_term() const;

  // Every term the keyring holds, ascending (the last one is current). Empty while locked.
  std::vector<std::uint32_t> terms() const;

  // Reads the keyring's terms from the store again, so that a term another manager made
  // or retired is known here: the owner of a watch on kKeyringPrefix calls it on each
  // change. OK (nothing read) while locked. Errors of the store or DataLoss as Open.
  // Thread-safe.
  Status Refresh();

  // Deletes the store record of term (keyring/terms/N) and forgets it: what was sealed
  // under it no longer opens. The caller retires a term only once no record uses it
  // (KeyRotation checks with a full scan). FailedPrecondition "cannot retire the current
  // term N" for the current term; NotFound "term N is not in the keyring" for a term it
  // does not hold; Unavailable while locked. Thread-safe.
  Status Retire(std::uint32_t term);

  // The term a sealed payload was made with, without opening it. DataLoss if malformed.
  static Result<std::uint32_t> TermOf(std::string_view sealed);

  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

 private:
  Keyring(KeyBytes root_key, KvStore& kv) : kv_(kv), root_key_(std::move(root_key)) {}

  // Unavailable "the keyring is locked" while there is no root key.
  Status RequireUnlocked() const;
  Status Load();                        // (re)reads every term from kv_ with root_key_
  Status LoadWith(const KeyBytes& root);  // (re)reads every term with root
  // Loads with root; creates term 1 (and loads again) when the store has none.
  Status LoadOrInit(const KeyBytes& root);
  Status CreateTerm(std::uint32_t term);  // compare-absent create of one term
  Status CreateTermWith(const KeyBytes& root, std::uint32_t term);  // the same, sealed by root
  // The record key of a sealed payload's header (format, term, salt): from the cache, else
  // derived from the term's KEK and cached. Null (no error) when the term is unknown.
  Result<std::shared_ptr<const KeyBytes>> RecordKey(std::string_view header, std::uint32_t term);

  KvStore& kv_;
  std::mutex load_mu_;  // serializes LoadWith, read to swap
  mutable std::shared_mutex mu_;
  KeyBytes root_key_;                       // guarded by mu_; empty while locked
  std::map<std::uint32_t, KeyBytes> keks_;  // by term; the last one is current

  // Derived record keys by sealed header. HKDF costs more than opening a small payload,
  // and leases open the same records over and over. Keys only, never plaintext; each in
  // KeyBytes (secure heap); bounded by kMaxRecordKeys (32 bytes each).
  static constexpr std::size_t kMaxRecordKeys = 1024;
  std::mutex record_keys_mu_;
  std::unordered_map<std::string, std::shared_ptr<const KeyBytes>> record_keys_;
};

}  // namespace ocisecrets
