#include "shared/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace ocisecrets {
namespace {

// The secure heap: 128 KiB holds a few thousand 32-byte keys; the minimum block size keeps
// small keys from wasting space. Both must be powers of two.
constexpr std::size_t kSecureHeapSize = 128 * 1024;
constexpr std::size_t kSecureHeapMinBlock = 32;

// Largest plaintext Seal takes: EVP lengths are ints, and nothing we store is near this.
constexpr std::size_t kMaxSealInput = 1 << 30;

// The last OpenSSL error as text, for messages. Never contains key or payload bytes.
std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};
using KdfCtx = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;

// Fetched once: an explicit fetch per call costs a provider lookup under a lock.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

EVP_KDF* Hkdf() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

}  // namespace

Status InitSecureHeap() {
  if (CRYPTO_secure_malloc_initialized()) return Status::Ok();
  // 1: done; 2: done, but the heap could not be guarded or locked in memory; 0: failed.
  int r = CRYPTO_secure_malloc_init(kSecureHeapSize, kSecureHeapMinBlock);
  if (r == 0) {
    return Status::Unavailable(
        "secure heap: cannot set up OpenSSL's secure heap (mlock limit?); keys will live in "
        "ordinary wiped memory");
  }
  if (r == 2) {
    return Status::Unavailable(
        "secure heap: set up, but not locked in memory (mlock limit?); keys may reach swap");
  }
  return Status::Ok();
}

Result<SecretBytes> RandomBytes(std::size_t n) {
  if (n > INT_MAX) return Status::InvalidArgument("random bytes: request too large");
  SecretBytes out(n);
  if (n > 0 && RAND_priv_bytes(out.data(), static_cast<int>(n)) != 1) {
    return Status::IOError("random bytes: CSPRNG failed: " + OpenSslError());
  }
  return out;
}

Result<KeyBytes> RandomKey() {
  KeyBytes out(kAeadKeySize);
  if (RAND_priv_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return Status::IOError("random key: CSPRNG failed: " + OpenSslError());
  }
  return out;
}

std::string NewObjectId() {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  // Rejection sampling keeps every character uniform: bytes >= 252 (= 7 * 36) are dropped.
  std::string id;
  id.reserve(kObjectIdLength);
  unsigned char buf[64];
  while (id.size() < kObjectIdLength) {
    if (RAND_bytes(buf, sizeof(buf)) != 1) {
      std::fprintf(stderr, "oci-secrets: fatal: CSPRNG failed while making an ID: %s\n",
                   OpenSslError().c_str());
      std::abort();
    }
    for (unsigned char b : buf) {
      if (b >= 252) continue;
      id.push_back(kAlphabet[b % 36]);
      if (id.size() == kObjectIdLength) break;
    }
  }
  return id;
}

Result<KeyBytes> HkdfSha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                            std::string_view info, std::size_t out_len) {
  if (ikm.empty()) return Status::InvalidArgument("hkdf: empty input key");
  if (out_len == 0 || out_len > 255 * 32) {
    return Status::InvalidArgument("hkdf: output length must be 1 to 8160 bytes");
  }
  if (Hkdf() == nullptr) return Status::Internal("hkdf: OpenSSL has no HKDF: " + OpenSslError());
  KdfCtx ctx(EVP_KDF_CTX_new(Hkdf()));
  if (!ctx) return Status::Internal("hkdf: " + OpenSslError());
  char digest[] = "SHA256";
  // OSSL_PARAM takes non-const pointers but only reads through them for a derive.
  OSSL_PARAM params[5];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()), ikm.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  KeyBytes out(out_len);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return Status::Internal("hkdf: derive: " + OpenSslError());
  }
  return out;
}

Result<std::string> Seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> aad,
                         std::span<const std::uint8_t> plaintext) {
  if (key.size() != kAeadKeySize) return Status::InvalidArgument("seal: key must be 32 bytes");
  if (plaintext.size() > kMaxSealInput || aad.size() > kMaxSealInput) {
    return Status::InvalidArgument("seal: input too large");
  }
  if (Aes256Gcm() == nullptr) return Status::Internal("seal: no AES-256-GCM: " + OpenSslError());

  std::string blob(kSealOverhead + plaintext.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(blob.data());
  out[0] = kSealFormatV1;
  unsigned char* nonce = out + 1;
  unsigned char* ct = nonce + kAeadNonceSize;
  unsigned char* tag = ct + plaintext.size();
  // A random 96-bit nonce per seal: every record also has its own derived key, so the
  // birthday bound on nonces under one key is never approached.
  if (RAND_bytes(nonce, kAeadNonceSize) != 1) {
    return Status::IOError("seal: CSPRNG failed: " + OpenSslError());
  }

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("seal: " + OpenSslError());
  int len = 0;
  if (EVP_EncryptInit_ex2(ctx.get(), Aes256Gcm(), key.data(), nonce, nullptr) != 1) {
    return Status::Internal("seal: init: " + OpenSslError());
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Status::Internal("seal: aad: " + OpenSslError());
  }
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1) {
    return Status::Internal("seal: encrypt: " + OpenSslError());
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) != 1) {
    return Status::Internal("seal: final: " + OpenSslError());
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, tag) != 1) {
    return Status::Internal("seal: tag: " + OpenSslError());
  }
  return blob;
}

Result<SecretBytes> Open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> aad,
                         std::span<const std::uint8_t> blob) {
  if (key.size() != kAeadKeySize) return Status::InvalidArgument("open: key must be 32 bytes");
  if (blob.size() < kSealOverhead) return Status::DataLoss("open: sealed blob is truncated");
  if (blob[0] != kSealFormatV1) {
    return Status::DataLoss("open: unknown sealed blob format " + std::to_string(blob[0]));
  }
  if (blob.size() > kMaxSealInput + kSealOverhead || aad.size() > kMaxSealInput) {
    return Status::DataLoss("open: sealed blob too large");
  }
  if (Aes256Gcm() == nullptr) return Status::Internal("open: no AES-256-GCM: " + OpenSslError());
  const std::uint8_t* nonce = blob.data() + 1;
  const std::uint8_t* ct = nonce + kAeadNonceSize;
  const std::size_t ct_len = blob.size() - kSealOverhead;
  const std::uint8_t* tag = ct + ct_len;

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("open: " + OpenSslError());
  int len = 0;
  if (EVP_DecryptInit_ex2(ctx.get(), Aes256Gcm(), key.data(), nonce, nullptr) != 1) {
    return Status::Internal("open: init: " + OpenSslError());
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Status::Internal("open: aad: " + OpenSslError());
  }
  SecretBytes plain(ct_len);
  if (ct_len > 0 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &len, ct, static_cast<int>(ct_len)) != 1) {
    return Status::Internal("open: decrypt: " + OpenSslError());
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAeadTagSize,
                          const_cast<std::uint8_t*>(tag)) != 1) {
    return Status::Internal("open: tag: " + OpenSslError());
  }
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + ct_len, &len) != 1) {
    ERR_clear_error();
    // `plain` holds unauthenticated bytes: wiped by its allocator as it goes out of scope.
    return Status::DataLoss("open: authentication failed (wrong key, or data altered or moved)");
  }
  return plain;
}

bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ocisecrets
