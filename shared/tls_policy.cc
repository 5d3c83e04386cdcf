#include "shared/tls_policy.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <vector>

#include "shared/pki.h"

namespace ocisecrets {

void SslCtxFree::operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }

namespace {

// TLS 1.2: forward secrecy and AEAD only. TLS 1.3: its three default suites, all AEAD.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr char kSessionContext[] = "oci-secrets";

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A read-only BIO over bytes the caller keeps alive: nothing is copied.
BioPtr ReadOnlyBio(const void* data, std::size_t size) {
  return BioPtr(BIO_new_mem_buf(data, static_cast<int>(size)));
}

// Never asks for a passphrase (OpenSSL's default would prompt on the terminal).
int NoPassphrase(char*, int, int, void*) { return 0; }

// Every certificate of a PEM text, in order. InvalidArgument naming `what` if none.
Result<std::vector<X509Ptr>> ReadCertificates(std::string_view pem, std::string_view what) {
  if (pem.size() > 16 * kMaxPemBytes) {
    return Status::InvalidArgument(std::string(what) + ": too large");
  }
  BioPtr bio = ReadOnlyBio(pem.data(), pem.size());
  std::vector<X509Ptr> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certs.emplace_back(x);
  }
  ERR_clear_error();  // the end of the text reads as an error
  if (certs.empty()) {
    return Status::InvalidArgument(std::string(what) + ": not a PEM certificate");
  }
  return certs;
}

Status ApplyPolicy(SSL_CTX* ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) {
    return Status::Internal("TLS policy: " + TakeSslError("OpenSSL refused the settings"));
  }
  return Status::Ok();
}

Result<SslCtxPtr> NewContext(const SSL_METHOD* method) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) return Status::Internal("SSL_CTX_new: " + TakeSslError("out of memory"));
  RETURN_IF_ERROR(ApplyPolicy(ctx.get()), "");  // names the policy
  return ctx;
}

// Installs the certificate (first of cert_pem) and its key; more certificates in the
// text join the chain sent after it.
Status UseCertificateAndKey(SSL_CTX* ctx, std::string_view cert_pem, const SecretBytes& key_pem) {
  ASSIGN_OR_RETURN(auto certs, ReadCertificates(cert_pem, "certificate"), "");
  BioPtr bio = ReadOnlyBio(key_pem.data(), key_pem.size());
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (!key) return Status::InvalidArgument("private key: not a PEM private key");
  if (SSL_CTX_use_certificate(ctx, certs[0].get()) != 1) {
    return Status::InvalidArgument("certificate: " + TakeSslError("refused"));
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("private key: does not match the certificate");
  }
  for (std::size_t i = 1; i < certs.size(); ++i) SSL_CTX_add1_chain_cert(ctx, certs[i].get());
  return Status::Ok();
}

// What a client checks beyond the chain, owned by its SSL_CTX (freed with it).
struct ServerCheck {
  std::string pin_ca_digest;
  std::string require_role;
};

void FreeServerCheck(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ServerCheck*>(ptr);
}
void FreeRefusal(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int CheckIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeServerCheck);
  return index;
}
int RefusalIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeRefusal);
  return index;
}

int Refuse(X509_STORE_CTX* store_ctx, SSL* ssl, std::string why) {
  delete static_cast<std::string*>(SSL_get_ex_data(ssl, RefusalIndex()));
  SSL_set_ex_data(ssl, RefusalIndex(), new std::string(std::move(why)));
  if (X509_STORE_CTX_get_error(store_ctx) == X509_V_OK) {
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
  }
  return 0;
}

// The CA certificate a server sent after its own: the last self-signed CA of the chain.
X509* SentCa(X509_STORE_CTX* store_ctx) {
  X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(store_ctx);
  X509* ca = nullptr;
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (c != leaf && X509_check_ca(c) != 0 && X509_self_signed(c, 0) == 1) ca = c;
  }
  return ca;
}

// The client's whole check of the server's chain, in place of OpenSSL's.
int VerifyServer(X509_STORE_CTX* store_ctx, void* arg) {
  const auto* check = static_cast<const ServerCheck*>(arg);
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (!check->pin_ca_digest.empty()) {
    X509* ca = SentCa(store_ctx);
    if (ca == nullptr) {
      return Refuse(store_ctx, ssl,
                    "the manager sent no CA certificate to check against the join token");
    }
    std::string digest = CaDigestOf(ca);
    if (digest != check->pin_ca_digest) {
      return Refuse(store_ctx, ssl,
                    "the manager's CA does not match the join token (digest " + digest +
                        ", token wants " + check->pin_ca_digest + ")");
    }
    // That CA, and only it, is the trust anchor of this one verification.
    STACK_OF(X509)* trusted = sk_X509_new_null();
    if (trusted == nullptr || sk_X509_push(trusted, ca) == 0) {
      sk_X509_free(trusted);
      return Refuse(store_ctx, ssl, "out of memory");
    }
    X509_STORE_CTX_set0_trusted_stack(store_ctx, trusted);
    int ok = X509_verify_cert(store_ctx);
    X509_STORE_CTX_set0_trusted_stack(store_ctx, nullptr);
    sk_X509_free(trusted);
    if (ok != 1) {
      return Refuse(store_ctx, ssl, VerifyErrorText(X509_STORE_CTX_get_error(store_ctx)));
    }
  } else if (X509_verify_cert(store_ctx) != 1) {
    return Refuse(store_ctx, ssl, VerifyErrorText(X509_STORE_CTX_get_error(store_ctx)));
  }
  if (!check->require_role.empty()) {
    auto info = InspectCertificate(X509_STORE_CTX_get0_cert(store_ctx));
    std::string role = info.ok() ? info->subject.role : "";
    if (role != check->require_role) {
      return Refuse(store_ctx, ssl,
                    "the server's certificate has role " + (role.empty() ? "(none)" : role) +
                        ", not " + check->require_role);
    }
  }
  return 1;
}

}  // namespace

std::string TakeSslError(std::string_view fallback) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return std::string(fallback);
  if (const char* reason = ERR_reason_error_string(e)) return reason;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

std::string VerifyErrorText(long verify_result) {
  std::string text = X509_verify_cert_error_string(verify_result);
  switch (verify_result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "not issued by this cluster's CA (" + text + ")";
    default:
      return text;
  }
}

Result<SslCtxPtr> MakeServerSslContext(std::string_view cert_pem, const SecretBytes& key_pem,
                                       std::string_view ca_pem) {
  ASSIGN_OR_RETURN(SslCtxPtr ctx, NewContext(TLS_server_method()), "");
  RETURN_IF_ERROR(UseCertificateAndKey(ctx.get(), cert_pem, key_pem), "server");
  ASSIGN_OR_RETURN(auto cas, ReadCertificates(ca_pem, "CA certificate"), "");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  for (const auto& ca : cas) {
    if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(ctx.get(), ca.get()) != 1 ||
        SSL_CTX_add1_chain_cert(ctx.get(), ca.get()) != 1) {
      return Status::Internal("CA certificate: " + TakeSslError("refused"));
    }
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_id_context(ctx.get(), reinterpret_cast<const unsigned char*>(kSessionContext),
                                 sizeof(kSessionContext) - 1);
  return ctx;
}

Result<SslCtxPtr> MakeClientSslContext(const TlsClientOptions& options) {
  if (options.ca_pem.empty() && options.pin_ca_digest.empty()) {
    return Status::InvalidArgument("TLS needs the cluster's CA certificate or a join token's digest");
  }
  if (options.cert_pem.empty() != options.key_pem.empty()) {
    return Status::InvalidArgument("a client certificate needs its key, and a key its certificate");
  }
  ASSIGN_OR_RETURN(SslCtxPtr ctx, NewContext(TLS_client_method()), "");
  if (!options.cert_pem.empty()) {
    RETURN_IF_ERROR(UseCertificateAndKey(ctx.get(), options.cert_pem, options.key_pem), "client");
  }
  if (!options.ca_pem.empty() && options.pin_ca_digest.empty()) {
    ASSIGN_OR_RETURN(auto cas, ReadCertificates(options.ca_pem, "CA certificate"), "");
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
    for (const auto& ca : cas) {
      if (X509_STORE_add_cert(store, ca.get()) != 1) {
        return Status::Internal("CA certificate: " + TakeSslError("refused"));
      }
    }
  }
  auto* check = new ServerCheck{options.pin_ca_digest, options.require_role};
  if (SSL_CTX_set_ex_data(ctx.get(), CheckIndex(), check) != 1) {
    delete check;
    return Status::Internal("SSL_CTX_set_ex_data: " + TakeSslError("out of memory"));
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx.get(), VerifyServer, check);
  return ctx;
}

std::string ServerRefusalOf(const SSL* ssl) {
  const auto* why = static_cast<const std::string*>(SSL_get_ex_data(ssl, RefusalIndex()));
  return why != nullptr ? *why : std::string();
}

}  // namespace ocisecrets
