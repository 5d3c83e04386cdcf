#include "shared/pki.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <memory>
#include <span>
#include <vector>

#include "shared/base36.h"
#include "shared/crypto.h"

namespace ocisecrets {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

constexpr std::string_view kCaCommonName = "oci-secrets cluster CA";

// OpenSSL's reason for the last failure, its error queue emptied.
std::string OpenSslReason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  std::array<char, 256> buf{};
  ERR_error_string_n(e, buf.data(), buf.size());
  return buf.data();
}

Status OpenSslError(std::string_view step) {
  return Status::IOError(std::string(step) + ": " + OpenSslReason());
}

BioPtr ReadBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The bytes a memory BIO holds, as a string (certificates, CSRs: public).
std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

Result<KeyPtr> ReadKey(const SecretBytes& key_pem) {
  if (key_pem.empty() || key_pem.size() > kMaxPemBytes) {
    return Status::InvalidArgument("private key: not a PEM private key");
  }
  BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key) return Status::InvalidArgument("private key: not a PEM private key");
  return key;
}

bool IsP256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  std::array<char, 64> group{};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) != 1) return false;
  return std::string_view(group.data(), len) == "prime256v1";
}

Result<CertPtr> ReadCert(std::string_view pem) {
  if (pem.empty() || pem.size() > kMaxPemBytes) {
    return Status::InvalidArgument("certificate: not a PEM certificate");
  }
  BioPtr bio = ReadBio(pem);
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert) return Status::InvalidArgument("certificate: not a PEM certificate");
  return cert;
}

Result<ReqPtr> ReadCsr(std::string_view pem) {
  if (pem.empty() || pem.size() > kMaxPemBytes) {
    return Status::InvalidArgument("certificate request: not a PEM CSR of at most 16 KiB");
  }
  BioPtr bio = ReadBio(pem);
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!req) return Status::InvalidArgument("certificate request: not a PEM CSR");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr || !IsP256(key)) {
    return Status::InvalidArgument("certificate request: the key is not ECDSA P-256");
  }
  if (X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("certificate request: its signature does not verify");
  }
  return req;
}

// The text of the first entry nid of name, "" when there is none or it is not UTF-8.
std::string NameEntry(const X509_NAME* name, int nid) {
  int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) {
    ERR_clear_error();
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

bool IsPrintableField(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

Status AddEntry(X509_NAME* name, const char* field, std::string_view value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return OpenSslError(std::string("subject ") + field);
  }
  return Status::Ok();
}

Result<NamePtr> MakeName(const CertSubject& s) {
  NamePtr name(X509_NAME_new());
  if (!name) return OpenSslError("X509_NAME_new");
  RETURN_IF_ERROR(AddEntry(name.get(), "O", s.cluster_id), "");
  RETURN_IF_ERROR(AddEntry(name.get(), "OU", s.role), "");
  RETURN_IF_ERROR(AddEntry(name.get(), "CN", s.node_id), "");
  return name;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError(OBJ_nid2sn(nid));
  return Status::Ok();
}

std::int64_t Seconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint TimeOf(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return TimePoint{};
  return TimePoint(std::chrono::seconds(timegm(&tm)));
}

// A certificate for pubkey with subject and issuer, valid [from, until], signed by
// signer. issuer null: self-signed (the CA).
Result<CertPtr> BuildCert(EVP_PKEY* pubkey, X509_NAME* subject, X509* issuer, EVP_PKEY* signer,
                          TimePoint from, TimePoint until, bool ca,
                          const std::vector<std::string>& alt_names = {}) {
  CertPtr cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);
  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), serial.size()) != 1) return OpenSslError("RAND_bytes");
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x01;  // 128 bits, no leading zero byte
  BnPtr bn(BN_bin2bn(serial.data(), serial.size(), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("serial");
  }
  const time_t not_before = static_cast<time_t>(Seconds(from));
  const time_t not_after = static_cast<time_t>(Seconds(until));
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) == nullptr) {
    return OpenSslError("validity");
  }
  if (X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_issuer_name(cert.get(),
                           issuer != nullptr ? X509_get_subject_name(issuer) : subject) != 1 ||
      X509_set_pubkey(cert.get(), pubkey) != 1) {
    return OpenSslError("certificate fields");
  }
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  if (ca) {
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_basic_constraints,
                                 "critical,CA:TRUE,pathlen:0"), "");
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_key_usage,
                                 "critical,keyCertSign,cRLSign"), "");
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash"), "");
  } else {
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_basic_constraints,
                                 "critical,CA:FALSE"), "");
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_key_usage,
                                 "critical,digitalSignature"), "");
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_ext_key_usage,
                                 "serverAuth,clientAuth"), "");
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_authority_key_identifier,
                                 "keyid:always"), "");
    if (!alt_names.empty()) {
      std::string san;
      for (const auto& name : alt_names) {
        if (!san.empty()) san += ",";
        in6_addr v6{};
        in_addr v4{};
        const bool ip = inet_pton(AF_INET, name.c_str(), &v4) == 1 ||
                        inet_pton(AF_INET6, name.c_str(), &v6) == 1;
        san += (ip ? "IP:" : "DNS:") + name;
      }
      RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_subject_alt_name, san.c_str()), "");
    }
  }
  if (X509_sign(cert.get(), signer, EVP_sha256()) <= 0) return OpenSslError("X509_sign");
  return cert;
}

Result<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("PEM_write_bio_X509");
  return BioText(bio.get());
}

Result<SecretBytes> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0) return OpenSslError("PEM_write_bio_PrivateKey");
  return SecretBytes(reinterpret_cast<std::uint8_t*>(data),
                     reinterpret_cast<std::uint8_t*>(data) + n);
}

bool IsCa(const X509* cert) {
  return (X509_get_extension_flags(const_cast<X509*>(cert)) & EXFLAG_CA) != 0;
}

using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;

constexpr std::uint8_t kWrapFormatV1 = 1;
constexpr std::size_t kP256PointSize = 65;  // uncompressed: 0x04 | X | Y
constexpr std::size_t kMaxWrapPlaintext = 4096;
constexpr std::string_view kWrapInfo = "oci-secrets peer wrap v1";

// The uncompressed public point of an EC key.
Result<std::string> PublicPoint(EVP_PKEY* key) {
  std::array<unsigned char, kP256PointSize> point{};
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                      point.size(), &len) != 1 ||
      len != kP256PointSize) {
    return OpenSslError("public point");
  }
  return std::string(reinterpret_cast<const char*>(point.data()), len);
}

// A P-256 public key from its uncompressed point; null when the point is not on the curve.
KeyPtr KeyFromPoint(std::string_view point) {
  std::string group = "prime256v1";
  std::string pub(point);
  std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()),
      OSSL_PARAM_construct_end()};
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.data()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  KeyPtr owned(key);
  PkeyCtxPtr check(EVP_PKEY_CTX_new(owned.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {  // on the curve, not the identity
    ERR_clear_error();
    return nullptr;
  }
  return owned;
}

// The key both sides derive: HKDF-SHA256(ECDH(own, peer), salt = ephemeral point).
Result<KeyBytes> WrapKey(EVP_PKEY* own, EVP_PKEY* peer, std::string_view ephemeral_point) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(own, nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    return OpenSslError("ECDH");
  }
  SecretBytes shared(len);
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1) return OpenSslError("ECDH");
  shared.resize(len);
  return HkdfSha256({shared.data(), shared.size()}, AsBytes(ephemeral_point), kWrapInfo);
}

}  // namespace

Result<SecretBytes> GenerateKeyPem() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EVP_EC_gen P-256");
  return KeyPem(key.get());
}

Result<std::string> MakeCsr(const SecretBytes& key_pem, std::string_view common_name) {
  ASSIGN_OR_RETURN(KeyPtr key, ReadKey(key_pem), "");
  ReqPtr req(X509_REQ_new());
  if (!req) return OpenSslError("X509_REQ_new");
  NamePtr name(X509_NAME_new());
  if (!name) return OpenSslError("X509_NAME_new");
  if (!common_name.empty()) RETURN_IF_ERROR(AddEntry(name.get(), "CN", common_name), "");
  if (X509_REQ_set_version(req.get(), 0) != 1 || X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return OpenSslError("certificate request");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return OpenSslError("PEM_write_bio_X509_REQ");
  }
  return BioText(bio.get());
}

Result<std::string> CheckCsr(std::string_view csr_pem) {
  ASSIGN_OR_RETURN(ReqPtr req, ReadCsr(csr_pem), "");
  return NameEntry(X509_REQ_get_subject_name(req.get()), NID_commonName);
}

Result<CertInfo> InspectCertificate(const X509* cert) {
  CertInfo info;
  const X509_NAME* subject = X509_get_subject_name(cert);
  info.subject.node_id = NameEntry(subject, NID_commonName);
  info.subject.role = NameEntry(subject, NID_organizationalUnitName);
  info.subject.cluster_id = NameEntry(subject, NID_organizationName);
  info.is_ca = IsCa(cert);
  if (info.subject.node_id.empty() || info.subject.cluster_id.empty() ||
      (!info.is_ca && info.subject.role.empty())) {
    return Status::InvalidArgument("certificate: not issued to a cluster member (no CN, OU or O)");
  }
  info.not_before = TimeOf(X509_get0_notBefore(cert));
  info.not_after = TimeOf(X509_get0_notAfter(cert));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn) {
    char* hex = BN_bn2hex(bn.get());
    if (hex != nullptr) {
      info.serial = hex;
      OPENSSL_free(hex);
      for (char& c : info.serial) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return info;
}

Result<CertInfo> ParseCertificate(std::string_view cert_pem) {
  ASSIGN_OR_RETURN(CertPtr cert, ReadCert(cert_pem), "");
  return InspectCertificate(cert.get());
}

std::string CaDigestOf(const X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md.data(), &len);
  return Base36Encode(std::span<const std::uint8_t>(md.data(), len), 50);
}

Result<std::string> CaDigest(std::string_view ca_pem) {
  ASSIGN_OR_RETURN(CertPtr cert, ReadCert(ca_pem), "CA");
  return CaDigestOf(cert.get());
}

Status VerifyCertificate(std::string_view cert_pem, std::string_view ca_pem, TimePoint now) {
  ASSIGN_OR_RETURN(CertPtr cert, ReadCert(cert_pem), "");
  ASSIGN_OR_RETURN(CertPtr ca, ReadCert(ca_pem), "CA");
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return OpenSslError("verify");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(Seconds(now)));
  if (X509_verify_cert(ctx.get()) == 1) return Status::Ok();
  int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
      err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
      err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) {
    return Status::PermissionDenied("certificate is not issued by this cluster's CA");
  }
  return Status::PermissionDenied(X509_verify_cert_error_string(err));
}

Result<CertificateAuthority> CertificateAuthority::Create(std::string_view cluster_id,
                                                          std::chrono::seconds lifetime,
                                                          TimePoint now) {
  if (!IsPrintableField(cluster_id)) return Status::InvalidArgument("CA: bad cluster ID");
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EVP_EC_gen P-256");
  NamePtr name(X509_NAME_new());
  if (!name) return OpenSslError("X509_NAME_new");
  RETURN_IF_ERROR(AddEntry(name.get(), "O", cluster_id), "");
  RETURN_IF_ERROR(AddEntry(name.get(), "CN", kCaCommonName), "");
  ASSIGN_OR_RETURN(CertPtr cert,
                   BuildCert(key.get(), name.get(), nullptr, key.get(), now - kCertBackdate,
                             now + lifetime, /*ca=*/true),
                   "CA");
  CertificateAuthority ca;
  ASSIGN_OR_RETURN(ca.cert_pem_, CertPem(cert.get()), "CA");
  ASSIGN_OR_RETURN(ca.key_pem_, KeyPem(key.get()), "CA");
  ca.digest_ = CaDigestOf(cert.get());
  ca.expires_at_ = TimeOf(X509_get0_notAfter(cert.get()));
  return ca;
}

Result<CertificateAuthority> CertificateAuthority::Load(std::string cert_pem,
                                                        const SecretBytes& key_pem) {
  ASSIGN_OR_RETURN(CertPtr cert, ReadCert(cert_pem), "CA");
  if (!IsCa(cert.get())) return Status::InvalidArgument("CA: the certificate is not a CA");
  ASSIGN_OR_RETURN(KeyPtr key, ReadKey(key_pem), "CA");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("CA: the key does not match the certificate");
  }
  CertificateAuthority ca;
  ca.cert_pem_ = std::move(cert_pem);
  ca.key_pem_ = key_pem;
  ca.digest_ = CaDigestOf(cert.get());
  ca.expires_at_ = TimeOf(X509_get0_notAfter(cert.get()));
  return ca;
}

Result<std::string> CertificateAuthority::Issue(std::string_view csr_pem,
                                                const CertSubject& subject,
                                                std::chrono::seconds lifetime,
                                                TimePoint now) const {
  if (!IsPrintableField(subject.node_id) || !IsPrintableField(subject.cluster_id)) {
    return Status::InvalidArgument("certificate: node ID and cluster ID must be printable");
  }
  if (subject.role != "admin" && subject.role != "manager" && subject.role != "node") {
    return Status::InvalidArgument("certificate: unknown role '" + subject.role + "'");
  }
  if (lifetime.count() <= 0) return Status::InvalidArgument("certificate: lifetime must be positive");
  for (const auto& name : subject.alt_names) {
    const bool printable = std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ','; });
    if (name.empty() || name.size() > 253 || !printable) {
      return Status::InvalidArgument("certificate: a subject alternative name must be printable");
    }
  }
  ASSIGN_OR_RETURN(ReqPtr req, ReadCsr(csr_pem), "");
  ASSIGN_OR_RETURN(CertPtr ca, ReadCert(cert_pem_), "CA");
  ASSIGN_OR_RETURN(KeyPtr key, ReadKey(key_pem_), "CA");
  ASSIGN_OR_RETURN(NamePtr name, MakeName(subject), "");
  TimePoint until = std::min(now + lifetime, expires_at_);
  ASSIGN_OR_RETURN(CertPtr cert,
                   BuildCert(X509_REQ_get0_pubkey(req.get()), name.get(), ca.get(), key.get(),
                             now - kCertBackdate, until, /*ca=*/false, subject.alt_names),
                   "");
  return CertPem(cert.get());
}

Result<std::string> WrapForPeer(std::string_view csr_pem, std::span<const std::uint8_t> plaintext) {
  if (plaintext.empty() || plaintext.size() > kMaxWrapPlaintext) {
    return Status::InvalidArgument("wrap for peer: want 1 to 4096 bytes to wrap");
  }
  ASSIGN_OR_RETURN(ReqPtr req, ReadCsr(csr_pem), "");
  EVP_PKEY* peer = X509_REQ_get0_pubkey(req.get());
  KeyPtr ephemeral(EVP_EC_gen("P-256"));
  if (!ephemeral) return OpenSslError("EVP_EC_gen P-256");
  ASSIGN_OR_RETURN(std::string point, PublicPoint(ephemeral.get()), "wrap for peer");
  ASSIGN_OR_RETURN(KeyBytes key, WrapKey(ephemeral.get(), peer, point), "wrap for peer");
  ASSIGN_OR_RETURN(std::string sealed, Seal({key.data(), key.size()}, AsBytes(point), plaintext),
                   "wrap for peer");
  std::string out(1, static_cast<char>(kWrapFormatV1));
  out += point;
  out += sealed;
  return out;
}

Result<SecretBytes> UnwrapFromPeer(const SecretBytes& key_pem, std::string_view wrapped) {
  ASSIGN_OR_RETURN(KeyPtr own, ReadKey(key_pem), "unwrap");
  if (!IsP256(own.get())) return Status::InvalidArgument("unwrap: the key is not ECDSA P-256");
  if (wrapped.size() <= 1 + kP256PointSize ||
      static_cast<std::uint8_t>(wrapped[0]) != kWrapFormatV1) {
    return Status::DataLoss("wrapped key: malformed");
  }
  std::string_view point = wrapped.substr(1, kP256PointSize);
  KeyPtr ephemeral = KeyFromPoint(point);
  if (!ephemeral) return Status::DataLoss("wrapped key: malformed ephemeral key");
  ASSIGN_OR_RETURN(KeyBytes key, WrapKey(own.get(), ephemeral.get(), point), "unwrap");
  auto plain = Open({key.data(), key.size()}, AsBytes(point), AsBytes(wrapped.substr(1 + kP256PointSize)));
  if (!plain.ok()) {
    return Status::DataLoss("wrapped key: does not open with this key (made for another, or altered)");
  }
  return std::move(*plain);
}

}  // namespace ocisecrets
