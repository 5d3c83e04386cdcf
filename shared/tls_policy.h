// The one TLS policy of the cluster's connections, for both ends: TLS 1.2 at least, 1.3
// preferred (its default suites are all AEAD); on TLS 1.2 only ECDHE key exchange with
// AES-GCM or ChaCha20-Poly1305; no compression, no renegotiation, no session tickets or
// resumption (every connection proves its certificate afresh, so a revocation applies to
// the next connection). Lives in its own library (oci_secrets_tls, linking libssl) so
// that the hook, which links oci_secrets_shared, stays free of libssl and libcrypto.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "shared/secure_buffer.h"
#include "shared/status.h"

typedef struct ssl_ctx_st SSL_CTX;  // NOLINT: OpenSSL's own spelling, so no header is needed
typedef struct ssl_st SSL;          // NOLINT

namespace ocisecrets {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const;
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// What a client trusts and presents (shared/tls_stream.h uses it as is).
struct TlsClientOptions {
  // PEM of the CA the server's certificate must chain to. Empty only with pin_ca_digest.
  std::string ca_pem;
  // Optional client certificate (PEM) and its private key (PEM); both or neither.
  std::string cert_pem;
  SecretBytes key_pem;
  // Instead of ca_pem (the join, before the node knows the CA): the server's chain is
  // accepted only when the CA certificate it sends has this digest (CaDigestOf in
  // shared/pki.h) and the server's certificate verifies against that CA.
  std::string pin_ca_digest;
  // When set ("manager"), the server's certificate must carry this role (its OU).
  std::string require_role;
};

// An SSL_CTX for a TLS server under the policy: it presents cert_pem (the first
// certificate of the text) with key_pem, and sends the CA of ca_pem after it as its chain
// (a joining node checks that CA against its token); it requests a client certificate,
// verified against ca_pem, but does not require one (the caller decides what an
// anonymous peer may do). A client certificate that fails verification fails the
// handshake with an alert; SSL_get_verify_result then says why (VerifyErrorText).
// InvalidArgument when a PEM is malformed or the key does not match the certificate (the
// message holds no key byte). The key is parsed in place, never copied out of key_pem.
Result<SslCtxPtr> MakeServerSslContext(std::string_view cert_pem, const SecretBytes& key_pem,
                                       std::string_view ca_pem);

// An SSL_CTX for a TLS client under the policy, verifying the server as `options` says
// (the server's name is not checked: the cluster's certificates name node IDs, and the
// CA is the cluster's own). InvalidArgument when neither ca_pem nor pin_ca_digest is set,
// a PEM is malformed, only one of cert_pem and key_pem is set, or the key does not match.
// After a handshake failed, ServerRefusalOf(ssl) says whether this check refused it.
Result<SslCtxPtr> MakeClientSslContext(const TlsClientOptions& options);

// After a failed handshake on an SSL made from MakeClientSslContext's context: why the
// server's certificate was refused ("the manager's CA does not match the join token
// (digest X, token wants Y)", "the server's certificate has role node, not manager",
// "certificate has expired", ...), or "" when the certificate was not the reason.
std::string ServerRefusalOf(const SSL* ssl);

// OpenSSL's verify result (X509_V_ERR_*) in words for a user: the text OpenSSL gives,
// except that the errors of a chain that leads to no trusted CA read "not issued by this
// cluster's CA (<OpenSSL's text>)".
std::string VerifyErrorText(long verify_result);

// The reason of the oldest error in this thread's OpenSSL error queue ("no shared cipher",
// "unsupported protocol"), or `fallback` when the queue is empty. Clears the queue.
std::string TakeSslError(std::string_view fallback);

}  // namespace ocisecrets
