#include "manager/store/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <mutex>

#include "shared/file_util.h"

namespace ocisecrets {
namespace {

constexpr std::string_view kTermsPrefix = "keyring/terms/";
constexpr std::string_view kTermAadPrefix = "oci-secrets keyring term v1\n";
constexpr std::string_view kPayloadAadPrefix = "oci-secrets payload v1\n";
constexpr std::string_view kPayloadKeyInfo = "oci-secrets payload key v1";

// Sealed payload: format (1) | term (4, big-endian) | salt (16) | Seal blob.
constexpr std::uint8_t kPayloadFormatV1 = 1;
constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kPayloadHeaderSize = 1 + 4 + kSaltSize;

std::string TermKey(std::uint32_t term) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%010u", term);
  return std::string(kTermsPrefix) + buf;
}

std::string TermAad(std::string_view store_key) {
  std::string aad(kTermAadPrefix);
  aad += store_key;
  return aad;
}

void AppendU32(std::string& s, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

void AppendU64(std::string& s, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Length-prefixed fields, so that ("ab", "c") and ("a", "bc") never give the same AAD.
// The header (format, term, salt) is bound too.
std::string PayloadAad(std::string_view record_key, std::string_view secret_id,
                       std::uint64_t version, std::string_view header) {
  std::string aad(kPayloadAadPrefix);
  AppendU32(aad, static_cast<std::uint32_t>(record_key.size()));
  aad += record_key;
  AppendU32(aad, static_cast<std::uint32_t>(secret_id.size()));
  aad += secret_id;
  AppendU64(aad, version);
  aad += header;
  return aad;
}

Status FsyncParentDir(const std::string& path) {
  std::size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError("open " + dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return PosixError("fsync " + dir, err);
  return Status::Ok();
}

}  // namespace

// Writes the key to path.tmp, then links it to path: the key appears whole or not at
// all, and never replaces an existing one (link fails with EEXIST like O_EXCL).
Status WriteRootKey(const std::string& path, std::span<const std::uint8_t> key) {
  const std::string tmp = path + ".tmp";
  if (unlink(tmp.c_str()) != 0 && errno != ENOENT) return PosixError("unlink " + tmp, errno);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return PosixError("create " + tmp, errno);
  ssize_t n = write(fd, key.data(), key.size());
  int err = errno;
  if (n == static_cast<ssize_t>(key.size()) && fsync(fd) != 0) {
    err = errno;
    n = -1;
  }
  close(fd);
  if (n != static_cast<ssize_t>(key.size())) {
    unlink(tmp.c_str());
    return n < 0 ? PosixError("write " + tmp, err) : Status::IOError("write " + tmp + ": short");
  }
  int rc = link(tmp.c_str(), path.c_str());
  err = errno;
  unlink(tmp.c_str());
  if (rc != 0 && err == EEXIST) return Status::AlreadyExists(path + " already exists");
  if (rc != 0) return PosixError("link " + path, err);
  return FsyncParentDir(path);
}

namespace {

Status CreateRootKey(const std::string& path) {
  ASSIGN_OR_RETURN(KeyBytes key, RandomKey(), "generate");
  Status written = WriteRootKey(path, key);
  // AlreadyExists: another process made it first; the caller reads theirs.
  if (written.code() == StatusCode::kAlreadyExists) return Status::Ok();
  return written;
}

}  // namespace

Result<KeyBytes> LoadOrCreateRootKey(const std::string& path) {
  const std::string ctx = "root key " + path;
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    RETURN_IF_ERROR(CreateRootKey(path), ctx + ": create");
    fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return Status::FailedPrecondition(ctx + ": is a symlink; refusing it");
    return PosixError(ctx + ": open", err);
  }
  auto checked = CheckPrivateFile(fd, ctx);
  if (!checked.ok()) {
    close(fd);
    return checked.status();
  }
  const struct stat& st = *checked;
  auto refuse = [&](std::string why) {
    close(fd);
    return Status::FailedPrecondition(ctx + ": " + why);
  };
  if (st.st_size != static_cast<off_t>(kAeadKeySize)) {
    return refuse(std::to_string(st.st_size) + " bytes, want " + std::to_string(kAeadKeySize) +
                  " (damaged or not a root key: restore it from backup; without it the "
                  "stored secrets cannot be decrypted)");
  }
  KeyBytes key(kAeadKeySize);
  ssize_t n = pread(fd, key.data(), key.size(), 0);
  int err = errno;
  close(fd);
  if (n < 0) return PosixError(ctx + ": read", err);
  if (n != static_cast<ssize_t>(key.size())) return Status::IOError(ctx + ": short read");
  return key;
}

Result<std::unique_ptr<Keyring>> Keyring::Open(const std::string& root_key_path, KvStore& kv) {
  ASSIGN_OR_RETURN(KeyBytes root, LoadOrCreateRootKey(root_key_path), "keyring");
  return Open(std::move(root), kv);
}

Result<std::unique_ptr<Keyring>> Keyring::Open(KeyBytes root_key, KvStore& kv) {
  std::unique_ptr<Keyring> ring = Locked(kv);
  RETURN_IF_ERROR(ring->Unlock(std::move(root_key)), "");
  return ring;
}

std::unique_ptr<Keyring> Keyring::Locked(KvStore& kv) {
  return std::unique_ptr<Keyring>(new Keyring(KeyBytes(), kv));
}

Status Keyring::Unlock(KeyBytes root_key) {
  if (root_key.size() != kAeadKeySize) {
    return Status::InvalidArgument("keyring: root key must be 32 bytes");
  }
  if (!locked()) return Status::FailedPrecondition("the keyring is already unlocked");
  RETURN_IF_ERROR(LoadOrInit(root_key), "keyring");
  std::unique_lock lock(mu_);
  root_key_ = std::move(root_key);
  return Status::Ok();
}

bool Keyring::locked() const {
  std::shared_lock lock(mu_);
  return root_key_.empty();
}

Status Keyring::RequireUnlocked() const {
  if (locked()) return Status::Unavailable("the keyring is locked");
  return Status::Ok();
}

Result<KeyBytes> Keyring::RootKey() const {
  std::shared_lock lock(mu_);
  if (root_key_.empty()) return Status::Unavailable("the keyring is locked");
  return KeyBytes(root_key_.begin(), root_key_.end());
}

Status Keyring::LoadOrInit(const KeyBytes& root) {
  RETURN_IF_ERROR(LoadWith(root), "load");
  bool empty = false;
  {
    std::shared_lock lock(mu_);
    empty = keks_.empty();
  }
  if (!empty) return Status::Ok();
  // root_key_ is set only once the keyring opened: seal term 1 with the key being tried.
  RETURN_IF_ERROR(CreateTermWith(root, 1), "create term 1");
  RETURN_IF_ERROR(LoadWith(root), "load");
  std::shared_lock lock(mu_);
  if (keks_.empty()) return Status::Internal("term 1 missing after creation");
  return Status::Ok();
}

Status Keyring::Load() {
  ASSIGN_OR_RETURN(KeyBytes root, RootKey(), "");
  return LoadWith(root);
}

Status Keyring::LoadWith(const KeyBytes& root) {
  // One load at a time, from the read to the swap: a load that read the store before a
  // change (a retire, another manager's new term) can then never swap in after the load
  // that read it after, which would bring back a retired term or hide a new one.
  std::lock_guard<std::mutex> serial(load_mu_);
  ASSIGN_OR_RETURN(std::vector<KeyValue> records, kv_.Range(std::string(kTermsPrefix)), "range");
  std::map<std::uint32_t, KeyBytes> keks;
  for (const KeyValue& r : records) {
    std::string_view digits = std::string_view(r.key).substr(kTermsPrefix.size());
    std::uint32_t term = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), term);
    if (ec != std::errc() || end != digits.data() + digits.size() || term == 0 ||
        r.key != TermKey(term)) {
      return Status::DataLoss("unexpected keyring record " + r.key);
    }
    Result<SecretBytes> kek = ocisecrets::Open(root, AsBytes(TermAad(r.key)), AsBytes(r.value));
    if (!kek.ok()) {
      if (kek.status().code() == StatusCode::kDataLoss) {
        return Status::DataLoss("term " + std::to_string(term) +
                                " does not open with this root key (wrong root.key, or the "
                                "keyring record was altered)");
      }
      return kek.status().WithContext("term " + std::to_string(term));
    }
    if (kek->size() != kAeadKeySize) {
      return Status::DataLoss("term " + std::to_string(term) + ": KEK has the wrong size");
    }
    keks.emplace(term, KeyBytes(kek->begin(), kek->end()));
  }
  bool same_terms = false;
  {
    std::unique_lock lock(mu_);
    same_terms = std::equal(keks.begin(), keks.end(), keks_.begin(), keks_.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; });
    keks_.swap(keks);
  }
  // Terms never change once made: a reload that finds the same terms (the rotation's
  // periodic refresh) keeps the derived keys; one that retired or added a term starts
  // them afresh, so that no key of a retired term stays cached.
  if (same_terms) return Status::Ok();
  std::lock_guard<std::mutex> lock(record_keys_mu_);
  record_keys_.clear();
  return Status::Ok();
}

Status Keyring::CreateTerm(std::uint32_t term) {
  ASSIGN_OR_RETURN(KeyBytes root, RootKey(), "");
  return CreateTermWith(root, term);
}

Status Keyring::CreateTermWith(const KeyBytes& root, std::uint32_t term) {
  ASSIGN_OR_RETURN(KeyBytes kek, RandomKey(), "generate KEK");
  const std::string key = TermKey(term);
  ASSIGN_OR_RETURN(std::string sealed, ocisecrets::Seal(root, AsBytes(TermAad(key)), kek),
                   "seal KEK");
  Txn txn;
  txn.compares.push_back({key, 0});
  txn.ops.push_back({Op::Kind::kPut, key, std::move(sealed)});
  ASSIGN_OR_RETURN(TxnResult r, kv_.Commit(txn), "store KEK");
  // Not succeeded: another manager on the same store made this term first; a load reads it.
  (void)r;
  return Status::Ok();
}

Result<std::uint32_t> Keyring::Rotate() {
  RETURN_IF_ERROR(RequireUnlocked(), "keyring rotate");
  std::uint32_t next = current_term() + 1;
  if (next == 0) return Status::FailedPrecondition("keyring rotate: term counter exhausted");
  RETURN_IF_ERROR(CreateTerm(next), "keyring rotate: create term " + std::to_string(next));
  RETURN_IF_ERROR(Load(), "keyring rotate: load");
  return current_term();
}

std::uint32_t Keyring::current_term() const {
  std::shared_lock lock(mu_);
  return keks_.empty() ? 0 : keks_.rbegin()->first;
}

std::vector<std::uint32_t> Keyring::terms() const {
  std::shared_lock lock(mu_);
  std::vector<std::uint32_t> out;
  out.reserve(keks_.size());
  for (const auto& [term, kek] : keks_) out.push_back(term);
  return out;
}

Status Keyring::Refresh() {
  if (locked()) return Status::Ok();
  return Load().WithContext("keyring refresh");
}

Status Keyring::Retire(std::uint32_t term) {
  RETURN_IF_ERROR(RequireUnlocked(), "keyring retire");
  RETURN_IF_ERROR(Load(), "keyring retire: load");
  {
    std::shared_lock lock(mu_);
    if (keks_.find(term) == keks_.end()) {
      return Status::NotFound("term " + std::to_string(term) + " is not in the keyring");
    }
    if (term == keks_.rbegin()->first) {
      return Status::FailedPrecondition("cannot retire the current term " + std::to_string(term));
    }
  }
  Txn txn;
  txn.ops.push_back({Op::Kind::kDelete, TermKey(term), ""});
  ASSIGN_OR_RETURN(TxnResult r, kv_.Commit(txn), "keyring retire: delete term " + std::to_string(term));
  (void)r;
  return Load().WithContext("keyring retire: load");
}

Result<std::uint32_t> Keyring::TermOf(std::string_view sealed) {
  if (sealed.size() < kPayloadHeaderSize + kSealOverhead) {
    return Status::DataLoss("sealed payload is truncated");
  }
  if (static_cast<std::uint8_t>(sealed[0]) != kPayloadFormatV1) {
    return Status::DataLoss("sealed payload has unknown format " +
                            std::to_string(static_cast<std::uint8_t>(sealed[0])));
  }
  std::uint32_t term = 0;
  for (int i = 1; i <= 4; ++i) term = (term << 8) | static_cast<std::uint8_t>(sealed[i]);
  return term;
}

Result<std::string> Keyring::SealPayload(std::string_view record_key, std::string_view secret_id,
                                         std::uint64_t version,
                                         std::span<const std::uint8_t> plaintext) {
  RETURN_IF_ERROR(RequireUnlocked(), "seal payload");
  ASSIGN_OR_RETURN(SecretBytes salt, RandomBytes(kSaltSize), "seal payload");
  std::string header;
  header.push_back(static_cast<char>(kPayloadFormatV1));
  KeyBytes record_key_bytes;
  {
    std::shared_lock lock(mu_);
    if (keks_.empty()) return Status::Internal("seal payload: keyring is empty");
    const auto& [term, kek] = *keks_.rbegin();
    AppendU32(header, term);
    header.append(salt.begin(), salt.end());
    ASSIGN_OR_RETURN(record_key_bytes, HkdfSha256(kek, salt, kPayloadKeyInfo),
                     "seal payload: derive key");
  }
  ASSIGN_OR_RETURN(std::string blob,
                   ocisecrets::Seal(record_key_bytes,
                                    AsBytes(PayloadAad(record_key, secret_id, version, header)),
                                    plaintext),
                   "seal payload");
  return header + blob;
}

Result<std::shared_ptr<const KeyBytes>> Keyring::RecordKey(std::string_view header,
                                                           std::uint32_t term) {
  const std::string cache_key(header);  // format, term and salt: no secret in it
  {
    std::lock_guard<std::mutex> lock(record_keys_mu_);
    auto it = record_keys_.find(cache_key);
    if (it != record_keys_.end()) return it->second;
  }
  std::span<const std::uint8_t> salt = AsBytes(header.substr(5, kSaltSize));
  std::shared_ptr<const KeyBytes> derived;
  {
    std::shared_lock lock(mu_);
    auto it = keks_.find(term);
    if (it == keks_.end()) return derived;
    ASSIGN_OR_RETURN(KeyBytes key, HkdfSha256(it->second, salt, kPayloadKeyInfo), "derive key");
    derived = std::make_shared<const KeyBytes>(std::move(key));
  }
  std::lock_guard<std::mutex> lock(record_keys_mu_);
  // Full: drop an arbitrary entry (a key in use elsewhere lives on through its shared_ptr).
  if (record_keys_.size() >= kMaxRecordKeys) record_keys_.erase(record_keys_.begin());
  record_keys_.emplace(cache_key, derived);
  return derived;
}

Result<SecretBytes> Keyring::OpenPayload(std::string_view record_key, std::string_view secret_id,
                                         std::uint64_t version, std::string_view sealed) {
  RETURN_IF_ERROR(RequireUnlocked(), "open payload");
  ASSIGN_OR_RETURN(std::uint32_t term, TermOf(sealed), "open payload");
  std::string_view header = sealed.substr(0, kPayloadHeaderSize);
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(std::shared_ptr<const KeyBytes> derived, RecordKey(header, term),
                     "open payload");
    if (derived) {
      Result<SecretBytes> plain =
          ocisecrets::Open(*derived, AsBytes(PayloadAad(record_key, secret_id, version, header)),
                           AsBytes(sealed.substr(kPayloadHeaderSize)));
      if (!plain.ok()) return plain.status().WithContext("open payload");
      return plain;
    }
    // A term we do not know: another manager may have rotated; read the keyring again.
    if (attempt == 0) RETURN_IF_ERROR(Load(), "open payload: reload keyring");
  }
  return Status::DataLoss("open payload: sealed with unknown keyring term " + std::to_string(term));
}

Result<std::optional<std::string>> Keyring::Reseal(std::string_view record_key,
                                                   std::string_view secret_id,
                                                   std::uint64_t version, std::string_view sealed) {
  RETURN_IF_ERROR(RequireUnlocked(), "reseal");
  ASSIGN_OR_RETURN(std::uint32_t term, TermOf(sealed), "reseal");
  if (term == current_term()) return std::optional<std::string>();
  ASSIGN_OR_RETURN(SecretBytes plain, OpenPayload(record_key, secret_id, version, sealed),
                   "reseal");
  ASSIGN_OR_RETURN(std::string resealed, SealPayload(record_key, secret_id, version, plain),
                   "reseal");
  return std::optional<std::string>(std::move(resealed));
}

}  // namespace ocisecrets
