// The HTTP/1.1 server: Boost.Beast over Asio, one coroutine per connection, one
// io_context per thread. The session logic (deadlines, limits, keep-alive, wiping) is
// written once in manager/api/session.h over any stream; a listener per transport only
// accepts, decides the caller and hands the stream to it: the unix socket (server.cc)
// and TLS (tls_listener.cc).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "manager/api/auth.h"
#include "manager/api/router.h"
#include "shared/status.h"

typedef struct x509_st X509;  // NOLINT: OpenSSL's own spelling, so no header is needed
namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace ocisecrets {

struct ServerOptions {
  int threads = 0;                                         // 0: hardware threads
  std::chrono::milliseconds idle_timeout{30'000};          // between requests
  std::chrono::milliseconds request_timeout{10'000};       // one request, header to body
  std::chrono::milliseconds shutdown_grace{10'000};        // in-flight requests at stop
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
};

// How a TLS listener decides its callers. Every function is called from the sessions'
// threads, concurrently: each must be thread-safe.
struct TlsServerConfig {
  // The context of the next handshake (the server's current certificate, the CA it
  // verifies clients against; shared/tls_policy.h builds its SSL_CTX): called once per
  // connection, so a renewed certificate applies to new connections. Null: the
  // connection is closed (and refused is called).
  std::function<std::shared_ptr<boost::asio::ssl::context>()> context;
  // The identity of a peer whose handshake succeeded: its certificate, which OpenSSL has
  // verified against the context's CA, or null when it sent none. An error refuses the
  // peer: refused is called, its first request gets 403 with the error's message, and
  // the connection closes. The server sets kind kCertificate and transport kTls on it.
  std::function<Result<Identity>(X509* peer_cert_or_null, std::string_view peer_addr)> identify;
  // Asked before every request of an open connection; an error answers that request 403
  // with the error's message, calls refused and closes the connection. Null: always OK.
  std::function<Status(const Identity&)> still_valid;
  // Told of every refusal, for the audit log: peer_addr "ADDR:PORT" ("[v6]:PORT") and
  // why ("certificate has expired", "not a TLS client hello", identify's or
  // still_valid's message, OpenSSL's reason). Not called for a peer that closed without
  // sending a byte. May be null.
  std::function<void(std::string_view peer_addr, std::string_view reason)> refused;
  // For the TLS handshake, from the accept.
  std::chrono::milliseconds handshake_timeout{5000};
};

class Server {
 public:
  // router and authorizer must outlive the server.
  Server(Router* router, const Authorizer* authorizer, ServerOptions options);
  ~Server();

  // Serves a bound, listening AF_UNIX socket (takes ownership of fd); callers are
  // identified by SO_PEERCRED. Call before Run(). IOError when fd is not a socket.
  Status AddUnixListener(int fd);

  // Serves TLS on a bound, listening TCP socket (takes ownership of fd on success) with
  // the sessions the unix socket has, callers decided by `config`. Callable before Run()
  // or while the server runs, from any thread; a listener added after Stop() is closed.
  // IOError when fd is not a TCP socket.
  Status AddTlsListener(int fd, TlsServerConfig config);

  // Runs until Stop() or SIGTERM/SIGINT: then stops accepting, lets in-flight requests
  // finish (up to shutdown_grace), closes idle connections and returns.
  void Run();

  // Thread-safe; also what SIGTERM/SIGINT do.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ocisecrets
