// The cluster's PKI on OpenSSL 3: ECDSA P-256 keys, certificate signing requests, the
// cluster CA, the certificates it issues, and the CA digest a join token pins.
//
// A certificate names a cluster member: CN = node ID, OU = role ("admin", "manager",
// "node"), O = cluster ID. The CA ignores what a CSR asks for except its public key: the
// subject is the CA's decision. Private keys travel as PEM text in SecretBytes (wiped on
// free) and never appear in a message. Everything here is pure and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shared/secure_buffer.h"
#include "shared/status.h"
#include "shared/time_format.h"

typedef struct x509_st X509;  // NOLINT: OpenSSL's own spelling, so no header is needed

namespace ocisecrets {

// What a certificate says about its holder.
struct CertSubject {
  std::string node_id;     // CN
  std::string role;        // OU: "admin", "manager" or "node"
  std::string cluster_id;  // O
  // subjectAltName entries, for standard TLS clients (curl, browsers) that check the
  // server's name: IP addresses ("127.0.0.1", "::1") and DNS names. Empty: none. The
  // cluster's own clients check the CA and the role, not names.
  std::vector<std::string> alt_names = {};
};

struct CertInfo {
  CertSubject subject;
  TimePoint not_before{};
  TimePoint not_after{};
  std::string serial;  // lowercase hex
  bool is_ca = false;  // basicConstraints CA:TRUE
};

// Largest PEM text (certificate or CSR) accepted from anyone.
inline constexpr std::size_t kMaxPemBytes = 16 * 1024;
// How far back a new certificate's notBefore is set, for clocks slightly behind.
inline constexpr std::chrono::seconds kCertBackdate{60};

// A new ECDSA P-256 private key as PKCS#8 PEM. IOError only if OpenSSL fails.
Result<SecretBytes> GenerateKeyPem();

// A CSR for key_pem's public key with subject CN=common_name, signed with the key.
// InvalidArgument when key_pem is not a PEM private key (the message holds no key byte).
Result<std::string> MakeCsr(const SecretBytes& key_pem, std::string_view common_name);

// Checks a CSR from a peer: PEM, at most kMaxPemBytes, its self-signature valid, its key
// ECDSA P-256. InvalidArgument "certificate request: <what is wrong>" otherwise. Returns
// the CN it asks for (possibly empty; informational only).
Result<std::string> CheckCsr(std::string_view csr_pem);

// What a PEM certificate (the first in the text) says. InvalidArgument "certificate: ..."
// for text that is not one, or one without the CN/OU/O the cluster writes.
Result<CertInfo> ParseCertificate(std::string_view cert_pem);
// The same for a certificate OpenSSL already holds (a TLS peer's). cert must not be null.
Result<CertInfo> InspectCertificate(const X509* cert);

// The CA digest a join token pins: SHA-256 of the certificate's DER, in base36, 50
// lowercase characters (zero-padded). InvalidArgument when ca_pem is not a certificate.
Result<std::string> CaDigest(std::string_view ca_pem);
// The same for a certificate OpenSSL holds. cert must not be null.
std::string CaDigestOf(const X509* cert);

// Whether cert_pem was issued by ca_pem and is valid at `now` (notBefore <= now <=
// notAfter). PermissionDenied naming the reason ("certificate has expired", "certificate
// signature failure", "not issued by this cluster's CA") otherwise; InvalidArgument for
// text that is not a certificate.
Status VerifyCertificate(std::string_view cert_pem, std::string_view ca_pem, TimePoint now);

// Encrypts plaintext (at most 4 KiB: a key, not a payload) to the public key of csr_pem,
// so that only the holder of the CSR's private key can read it: ECDH P-256 with a new
// ephemeral key, HKDF-SHA256 of the shared secret (salt: the ephemeral public point),
// AES-256-GCM bound to the ephemeral point. A manager wraps the root key this way for a
// joining manager. The result is opaque bytes (version, ephemeral point, sealed blob).
// InvalidArgument for a CSR CheckCsr refuses or a plaintext that is empty or too large.
Result<std::string> WrapForPeer(std::string_view csr_pem, std::span<const std::uint8_t> plaintext);

// The plaintext of a WrapForPeer blob, with the private key whose CSR it was made for.
// DataLoss "wrapped key: ..." when the blob is malformed, was made for another key, or any
// byte of it changed; InvalidArgument when key_pem is not a P-256 private key. The
// messages hold no byte of the blob or the key.
Result<SecretBytes> UnwrapFromPeer(const SecretBytes& key_pem, std::string_view wrapped);

// The cluster CA: a self-signed ECDSA P-256 certificate (CN "oci-secrets cluster CA",
// O = cluster ID, CA:TRUE, pathlen 0) and its key. Immutable once made: safe from many
// threads.
class CertificateAuthority {
 public:
  // A new CA for cluster_id, valid from now - kCertBackdate for `lifetime`.
  static Result<CertificateAuthority> Create(std::string_view cluster_id,
                                             std::chrono::seconds lifetime, TimePoint now);
  // A CA from its certificate and key (as kept in the store). InvalidArgument when either
  // is malformed, the certificate is not a CA, or the key does not match it.
  static Result<CertificateAuthority> Load(std::string cert_pem, const SecretBytes& key_pem);

  // A certificate for the public key of csr_pem (checked as CheckCsr does) with the
  // subject given, valid from now - kCertBackdate until now + lifetime (never past the
  // CA's own expiry), a random 128-bit serial, CA:FALSE, digitalSignature, and both
  // serverAuth and clientAuth. InvalidArgument for a bad CSR, a subject field that is
  // empty or not printable, or a role other than admin/manager/node.
  Result<std::string> Issue(std::string_view csr_pem, const CertSubject& subject,
                            std::chrono::seconds lifetime, TimePoint now) const;

  const std::string& cert_pem() const { return cert_pem_; }
  const SecretBytes& key_pem() const { return key_pem_; }
  const std::string& digest() const { return digest_; }  // CaDigest(cert_pem())
  TimePoint expires_at() const { return expires_at_; }

 private:
  CertificateAuthority() = default;
  std::string cert_pem_;
  SecretBytes key_pem_;
  std::string digest_;
  TimePoint expires_at_{};
};

}  // namespace ocisecrets
