// A small HTTP/1.1 client for the manager's API: one connection, blocking calls bounded
// by a deadline (poll), no io_context. Cheap enough for the hook's one request per
// container start. The HTTP framing (MakeHttpTransport) runs over any ByteStream
// (shared/byte_stream.h); MakeTransport composes it with the stream a host names.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "shared/byte_stream.h"
#include "shared/status.h"

namespace ocisecrets {

struct HttpRequest {
  std::string method;  // "GET", "POST", "DELETE"
  std::string target;  // "/v1/secrets?name=x", already percent-encoded
  std::string body;    // sent as application/json when not empty
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

// One connection's worth of I/O; reconnects as needed. Not thread-safe: one caller at a
// time (give each thread its own).
class Transport {
 public:
  virtual ~Transport() = default;
  // Sends req and reads the whole response, or fails by `deadline`. Any HTTP status is a
  // successful round trip; errors are about reaching the manager (Unavailable), the
  // deadline (DeadlineExceeded) or a malformed answer (DataLoss).
  virtual Result<HttpResponse> RoundTrip(const HttpRequest& req,
                                         std::chrono::steady_clock::time_point deadline) = 0;
};

// HTTP/1.1 over `stream`: one request at a time, the answer read whole (Content-Length,
// chunked, or up to the close; body at most 8 MiB, headers 64 KiB), the connection kept
// for the next request when the server keeps it, and one retry on a fresh connection when
// a kept-alive one was closed by the server before it saw the request (any method when
// nothing was sent; idempotent ones when nothing was answered). Errors as
// Transport::RoundTrip; a deadline is "no answer from the manager within N ms".
std::unique_ptr<Transport> MakeHttpTransport(std::unique_ptr<ByteStream> stream);

// "unix:///run/oci-secrets/manager.sock" (or a bare absolute path) → a unix-socket
// transport; connecting happens on the first RoundTrip. "https://HOST:PORT" needs TLS
// options, which this entry point (linked by the hook, without libssl) has not:
// InvalidArgument "https transport not available yet"; MakeTransport(host, tls) in
// shared/tls_stream.h serves it. Anything else is InvalidArgument.
Result<std::unique_ptr<Transport>> MakeTransport(std::string_view host);

// $OCI_SECRETS_HOST when set and not empty, else "unix:///run/oci-secrets/manager.sock".
std::string DefaultHost();

// The Status code an HTTP error status stands for when nothing names a better one:
// 400/405/413/431 InvalidArgument, 401/403 PermissionDenied, 404 NotFound, 409
// FailedPrecondition, 503 Unavailable, 504 DeadlineExceeded, anything else Internal.
// The server labels the errors it makes itself with it; the client falls back on it.
StatusCode StatusCodeOfHttp(int status);

// The Status for a non-2xx response. Its code is the body's "code" (docs/API.md) when
// that names an error code (StatusCodeFromName, not "OK"); else, e.g. from an older
// server, StatusCodeOfHttp(status). The message text is never searched for a code. The
// message is the server's "message", else "HTTP <status> from the manager" and a short
// printable excerpt of the body. OK for 2xx.
Status StatusFromHttp(int status, std::string_view body);

}  // namespace ocisecrets
