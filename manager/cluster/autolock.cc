#include "manager/cluster/autolock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "shared/base64.h"
#include "shared/unlock_key.h"

namespace ocisecrets {
namespace {

using nlohmann::json;

constexpr std::string_view kUnknownUnlockKey =
    "this manager does not know the unlock key (it was made on another manager): run "
    "oci-secrets cluster unlock-key on that manager, or oci-secrets cluster unlock-key "
    "--rotate here for a new one";

Result<bool> FileExists(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return PosixError("stat " + path, errno);
}

std::string WrappedRecord(const std::string& blob) {
  return json{{"Wrapped", Base64Encode(reinterpret_cast<const std::uint8_t*>(blob.data()),
                                       blob.size())}}
      .dump();
}

Result<std::string> ParseWrappedRecord(const std::string& value) {
  auto bad = [] { return Status::DataLoss(std::string(kWrappedRootKey) + ": malformed record"); };
  json j = json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("Wrapped") || !j["Wrapped"].is_string()) return bad();
  auto blob = Base64Decode(j["Wrapped"].get<std::string>());
  if (!blob.ok()) return bad();
  return std::string(blob->begin(), blob->end());
}

}  // namespace

Autolock::Autolock(KvStore* kv, Keyring* keyring, std::string root_key_path)
    : kv_(kv), keyring_(keyring), root_key_path_(std::move(root_key_path)) {}

Result<LockReason> Autolock::Start() {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(bool have_file, FileExists(root_key_path_), "root key");
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "");
  autolock_ = wrapped.has_value();
  if (!have_file && wrapped) {
    reason_ = LockReason::kLocked;
    return reason();
  }
  if (!have_file) {
    ASSIGN_OR_RETURN(std::vector<KeyValue> terms,
                     kv_->Range(std::string(kKeyringPrefix), /*keys_only=*/true),
                     "read the keyring");
    if (!terms.empty()) {
      if (kv_->Engine() == "sqlite") {
        return Status::FailedPrecondition(
            "the store holds a keyring but the root key " + root_key_path_ +
            " is missing: restore it from backup (without it the stored secrets cannot be "
            "decrypted)");
      }
      reason_ = LockReason::kNotJoined;
      return reason();
    }
  }
  ASSIGN_OR_RETURN(KeyBytes root, LoadOrCreateRootKey(root_key_path_), "keyring");
  RETURN_IF_ERROR(keyring_->Unlock(std::move(root)), "keyring");
  reason_ = LockReason::kUnlocked;
  // A root key file while autolock is on: left by a crash or made before another manager
  // turned autolock on; it must go.
  if (wrapped) RETURN_IF_ERROR(RemoveRootKeyFileLocked(), "autolock is on");
  return reason();
}

Status Autolock::OnUnlocked(std::function<Status()> f) {
  std::lock_guard lock(mu_);
  if (reason() == LockReason::kUnlocked) return f();
  on_unlocked_.push_back(std::move(f));
  return Status::Ok();
}

Status Autolock::Unlock(std::string_view unlock_key_text) {
  ASSIGN_OR_RETURN(SecretBytes key, ParseUnlockKey(unlock_key_text), "");
  return Unlock(key);
}

Status Autolock::Unlock(const SecretBytes& unlock_key) {
  std::lock_guard lock(mu_);
  if (reason() == LockReason::kUnlocked) {
    return Status::FailedPrecondition(std::string(kNotLockedMessage));
  }
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "");
  if (!wrapped) {
    if (reason() == LockReason::kNotJoined) {
      return Status::FailedPrecondition(std::string(kNotJoinedMessage));
    }
    return Status::FailedPrecondition(
        "autolock was turned off while this manager was locked: copy root.key from another "
        "manager's state dir into this one's and restart it");
  }
  auto root = UnwrapRootKey(wrapped->blob, unlock_key);
  if (!root.ok()) return Status::PermissionDenied(std::string(kInvalidUnlockKeyMessage));
  RETURN_IF_ERROR(keyring_->Unlock(std::move(*root)), "unlock");
  unlock_key_ = unlock_key;
  unlock_key_revision_ = wrapped->mod_revision;
  autolock_ = true;
  return FinishUnlockLocked();
}

Status Autolock::UnlockWithRootKey(KeyBytes root_key) {
  std::lock_guard lock(mu_);
  if (reason() == LockReason::kUnlocked) {
    return Status::FailedPrecondition(std::string(kNotLockedMessage));
  }
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "");
  RETURN_IF_ERROR(keyring_->Unlock(std::move(root_key)), "unlock");
  autolock_ = wrapped.has_value();
  if (!wrapped) RETURN_IF_ERROR(WriteRootKeyFileLocked(), "");
  return FinishUnlockLocked();
}

Status Autolock::FinishUnlockLocked() {
  Status result;
  for (auto& f : on_unlocked_) {
    Status s = f();
    if (!s.ok() && result.ok()) result = s.WithContext("unlocked, but");
  }
  on_unlocked_.clear();
  reason_ = LockReason::kUnlocked;
  return result;
}

Result<std::string> Autolock::Enable() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireUnlockedLocked(), "");
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "");
  if (wrapped) return Status::FailedPrecondition("autolock is already on");
  return EnableLocked();
}

Result<std::string> Autolock::EnableLocked() {
  ASSIGN_OR_RETURN(std::string text, PutNewUnlockKeyLocked(0), "autolock on");
  // The store says "on" now; a file that cannot go is retried by Maintain every second.
  (void)RemoveRootKeyFileLocked();
  return text;
}

Status Autolock::Disable() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireUnlockedLocked(), "");
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "");
  if (!wrapped) return Status::FailedPrecondition(std::string(kAutolockOffMessage));
  return DisableLocked(*wrapped);
}

Status Autolock::DisableLocked(const Wrapped& wrapped) {
  // The file first: a crash in between leaves autolock on and a file Maintain removes.
  RETURN_IF_ERROR(WriteRootKeyFileLocked(), "autolock off");
  Txn txn;
  txn.compares.push_back({std::string(kWrappedRootKey), wrapped.mod_revision});
  txn.ops.push_back({Op::Kind::kDelete, std::string(kWrappedRootKey), ""});
  ASSIGN_OR_RETURN(TxnResult r, kv_->Commit(txn), "autolock off: store");
  if (!r.succeeded) return Status::FailedPrecondition("the unlock key changed meanwhile: try again");
  autolock_ = false;
  ForgetUnlockKeyLocked();
  return Status::Ok();
}

Result<std::string> Autolock::RotateUnlockKey() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireUnlockedLocked(), "");
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "");
  if (!wrapped) return Status::FailedPrecondition(std::string(kAutolockOffMessage));
  return PutNewUnlockKeyLocked(wrapped->mod_revision);
}

Result<std::string> Autolock::CurrentUnlockKey() {
  std::lock_guard lock(mu_);
  return CurrentUnlockKeyLocked();
}

Result<std::string> Autolock::CurrentUnlockKeyLocked() {
  RETURN_IF_ERROR(RequireUnlockedLocked(), "");
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "");
  if (!wrapped) return Status::FailedPrecondition(std::string(kAutolockOffMessage));
  if (unlock_key_.empty() || unlock_key_revision_ != wrapped->mod_revision) {
    return Status::FailedPrecondition(std::string(kUnknownUnlockKey));
  }
  return FormatUnlockKey(unlock_key_);
}

Result<std::string> Autolock::UnlockKey(bool rotate) {
  return rotate ? RotateUnlockKey() : CurrentUnlockKey();
}

Result<std::optional<std::string>> Autolock::SetAutolock(bool on) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(RequireUnlockedLocked(), "");
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "");
  if (on == wrapped.has_value()) return std::optional<std::string>();  // already so
  if (on) {
    ASSIGN_OR_RETURN(std::string text, EnableLocked(), "");
    return std::optional<std::string>(std::move(text));
  }
  RETURN_IF_ERROR(DisableLocked(*wrapped), "");
  return std::optional<std::string>();
}

Status Autolock::Maintain() {
  std::lock_guard lock(mu_);
  if (reason() != LockReason::kUnlocked) return Status::Ok();
  ASSIGN_OR_RETURN(std::optional<Wrapped> wrapped, ReadWrappedLocked(), "autolock");
  autolock_ = wrapped.has_value();
  if (!wrapped || wrapped->mod_revision != unlock_key_revision_) ForgetUnlockKeyLocked();
  if (wrapped) return RemoveRootKeyFileLocked().WithContext("autolock is on");
  return WriteRootKeyFileLocked().WithContext("autolock is off");
}

Result<std::optional<Autolock::Wrapped>> Autolock::ReadWrappedLocked() {
  auto kv = kv_->Get(std::string(kWrappedRootKey));
  if (!kv.ok() && kv.status().code() == StatusCode::kNotFound) return std::optional<Wrapped>();
  if (!kv.ok()) return kv.status().WithContext("read " + std::string(kWrappedRootKey));
  ASSIGN_OR_RETURN(std::string blob, ParseWrappedRecord(kv->value), "");
  return std::optional<Wrapped>(Wrapped{std::move(blob), kv->mod_revision});
}

Status Autolock::RequireUnlockedLocked() const {
  switch (reason()) {
    case LockReason::kUnlocked:
      return Status::Ok();
    case LockReason::kLocked:
      return Status::Unavailable(std::string(kLockedMessage));
    case LockReason::kNotJoined:
      break;
  }
  return Status::Unavailable(std::string(kNotJoinedMessage));
}

Result<std::string> Autolock::PutNewUnlockKeyLocked(std::int64_t expected_revision) {
  ASSIGN_OR_RETURN(KeyBytes root, keyring_->RootKey(), "");
  ASSIGN_OR_RETURN(SecretBytes key, MakeUnlockKey(), "new unlock key");
  ASSIGN_OR_RETURN(std::string wrapped, WrapRootKey(root, key), "");
  ASSIGN_OR_RETURN(std::string text, FormatUnlockKey(key), "");
  Txn txn;
  txn.compares.push_back({std::string(kWrappedRootKey), expected_revision});
  txn.ops.push_back({Op::Kind::kPut, std::string(kWrappedRootKey), WrappedRecord(wrapped)});
  auto r = kv_->Commit(txn);
  if (!r.ok() || !r->succeeded) {
    WipeString(text);
    if (!r.ok()) return r.status().WithContext("store");
    return expected_revision == 0
               ? Status::FailedPrecondition("autolock is already on")
               : Status::FailedPrecondition("the unlock key changed meanwhile: try again");
  }
  unlock_key_ = std::move(key);
  unlock_key_revision_ = r->revision;
  autolock_ = true;
  return text;
}

Status Autolock::RemoveRootKeyFileLocked() {
  if (unlink(root_key_path_.c_str()) != 0 && errno != ENOENT) {
    return PosixError("remove " + root_key_path_, errno);
  }
  return Status::Ok();
}

Status Autolock::WriteRootKeyFileLocked() {
  ASSIGN_OR_RETURN(KeyBytes root, keyring_->RootKey(), "");
  Status written = WriteRootKey(root_key_path_, root);
  if (written.code() == StatusCode::kAlreadyExists) return Status::Ok();
  return written;
}

void Autolock::ForgetUnlockKeyLocked() {
  unlock_key_.clear();
  unlock_key_.shrink_to_fit();  // the allocator wipes the block
  unlock_key_revision_ = 0;
}

}  // namespace ocisecrets
