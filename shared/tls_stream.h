// The client side of the cluster's TLS: a ByteStream (shared/byte_stream.h) over OpenSSL
// and TCP, blocking and bounded by deadlines through poll like the unix stream, no
// threads; and MakeTransport for "https://HOST:PORT". In the library oci_secrets_tls
// (libssl), which the hook does not link.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "shared/byte_stream.h"
#include "shared/http_client.h"
#include "shared/status.h"
#include "shared/tls_policy.h"  // TlsClientOptions

namespace ocisecrets {

// A TLS stream to host_port ("HOST:PORT", "[v6]:PORT"; HOST a name or an address),
// verifying the server as `options` says (shared/tls_policy.h). Nothing is opened before
// Connect(), which resolves the host, connects (each address in turn) and completes the
// handshake, all within its deadline (name resolution itself is the system's and not
// bounded). Errors, in ByteStream's terms: Unavailable "cannot reach the manager at
// HOST:PORT: <reason>" or "TLS handshake with HOST:PORT failed: <reason>";
// PermissionDenied "TLS handshake with HOST:PORT failed: <why>" when the server's
// certificate is refused (the pin's mismatch: "the manager's CA does not match the join
// token (digest X, token wants Y)"; no request byte has been written then) or the server
// refused ours ("the manager refused this node's certificate: <alert>"); DeadlineExceeded
// "deadline passed"; InvalidArgument for a malformed host_port or bad options. address()
// is host_port. Not thread-safe, as every ByteStream.
std::unique_ptr<ByteStream> MakeTlsStream(std::string host_port, TlsClientOptions options);

// As MakeTransport(host) in shared/http_client.h, plus "https://HOST:PORT" (an optional
// trailing "/"), which needs `tls` (copied; it may go once this returns): InvalidArgument
// "https://... needs TLS certificates" when tls is null, or when the options or the
// address are malformed (the options are checked here, before any connection).
Result<std::unique_ptr<Transport>> MakeTransport(std::string_view host, const TlsClientOptions* tls);

}  // namespace ocisecrets
