// The HTTP/1.1 server: Boost.Beast over Asio, one coroutine per connection, one
// io_context per thread. The session logic (deadlines, limits, keep-alive, wiping) is
// written once in manager/api/session.h over any stream; a listener per transport only
// accepts, decides the caller and hands the stream to it (a unix socket now; a TLS
// acceptor can be added beside it later without touching the session logic).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "manager/api/auth.h"
#include "manager/api/router.h"
#include "shared/status.h"

namespace ocisecrets {

struct ServerOptions {
  int threads = 0;                                         // 0: hardware threads
  std::chrono::milliseconds idle_timeout{30'000};          // between requests
  std::chrono::milliseconds request_timeout{10'000};       // one request, header to body
  std::chrono::milliseconds shutdown_grace{10'000};        // in-flight requests at stop
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
};

class Server {
 public:
  // router and authorizer must outlive the server.
  Server(Router* router, const Authorizer* authorizer, ServerOptions options);
  ~Server();

  // Serves a bound, listening AF_UNIX socket (takes ownership of fd); callers are
  // identified by SO_PEERCRED. Call before Run(). IOError when fd is not a socket.
  Status AddUnixListener(int fd);

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
