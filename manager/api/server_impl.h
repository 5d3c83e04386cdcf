// The server's internals, shared by its listeners (server.cc: the unix socket and the
// lifecycle; tls_listener.cc: TLS). Not part of the API: include only from those.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "manager/api/server.h"
#include "manager/api/session.h"

namespace ocisecrets {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using unix_socket = net::local::stream_protocol;

// A TLS listener: its acceptor and configuration (tls_listener.cc).
struct TlsListener;
// Closes the listener's acceptor: its accept loop ends. Call on the main context.
void CloseTlsListener(TlsListener& listener);

// The unix listener's stream (the TLS listener's is in tls_listener.cc).
using UnixStream = beast::basic_stream<unix_socket>;

// Threading: one io_context per thread (no cross-thread wake-ups on the hot path; each
// connection lives on one of them, round-robin), plus a small pool for requests that
// may wait for an fsync or walk the store, so they never stall the lease fast path.
struct Server::Impl final : SessionHost {
  using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;

  Impl(Router* r, const Authorizer* a, ServerOptions o)
      : router(r), authorizer(a), options_(o), main_ioc(1), signals(main_ioc, SIGTERM, SIGINT),
        blocking(2) {
    int n = options_.threads > 0 ? options_.threads
                                : static_cast<int>(std::thread::hardware_concurrency());
    if (n < 1) n = 1;
    for (int i = 1; i < n; ++i) {
      workers.push_back(std::make_unique<net::io_context>(1));
      guards.emplace_back(workers.back()->get_executor());
    }
  }

  Router* router;
  const Authorizer* authorizer;
  ServerOptions options_;
  net::io_context main_ioc;  // acceptors, signals, and its share of the connections
  std::vector<std::unique_ptr<net::io_context>> workers;
  std::vector<WorkGuard> guards;  // keep the workers running until shutdown
  net::signal_set signals;
  net::thread_pool blocking;
  std::size_t next_context = 0;  // only touched on main_ioc
  std::vector<std::unique_ptr<unix_socket::acceptor>> acceptors;
  std::vector<std::shared_ptr<TlsListener>> tls_listeners;  // only touched on main_ioc
  std::atomic<bool> stopping_{false};
  std::mutex sessions_mu;
  std::set<std::shared_ptr<SessionBase>> sessions;
  std::unique_ptr<net::steady_timer> grace_timer;

  net::io_context& NextContext() {
    std::size_t i = next_context++ % (workers.size() + 1);
    return i == 0 ? main_ioc : *workers[i - 1];
  }
  // The hot, short requests run on the connection's thread; everything that may wait
  // for an fsync or walk the whole store (creates, updates, lists) goes to the pool. A
  // long-poll (/v1/changes) only reads the feed, then waits on its session's timer.
  static bool RunsInline(const Request& r) {
    return r.target.starts_with("/v1/leases") || r.target == "/v1/health" ||
           r.target == "/metrics" || r.target == "/v1/changes";
  }

  // SessionHost
  const ServerOptions& options() const override { return options_; }
  bool stopping() const override { return stopping_; }
  net::awaitable<Response> Handle(const Request& request, const Identity& peer) override;
  void RecordTransportError(int status) override { router->RecordTransportError(status); }
  // A unix peer's identity is its kernel credentials: valid for the connection's life.
  Status StillValid(const Identity&) override { return Status::Ok(); }

  // Accepts connections until stopped, handing each to on_accepted(socket); any listener.
  template <class Acceptor, class OnAccepted>
  net::awaitable<void> AcceptLoop(Acceptor& acceptor, OnAccepted on_accepted);
  // The unix listener's caller: SO_PEERCRED, admin as the authorizer decides.
  Result<Identity> UnixCaller(unix_socket::socket& socket) const;
  void AcceptUnix(unix_socket::socket socket);
  // Registers a session for Stop() and runs it on its stream's executor.
  void Launch(std::shared_ptr<SessionBase> session, net::awaitable<void> run);
  void Stop();
  void FinishStop();  // the last session is gone: let every context run dry
  void StopAll();
};

template <class Acceptor, class OnAccepted>
net::awaitable<void> Server::Impl::AcceptLoop(Acceptor& acceptor, OnAccepted on_accepted) {
  while (!stopping_) {
    typename Acceptor::protocol_type::socket socket(NextContext());
    boost::system::error_code ec;
    co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::operation_aborted || stopping_) break;
    if (ec) {
      // EMFILE and friends: log, breathe, keep serving the others.
      std::fprintf(stderr, "oci-secretsd: accept: %s\n", ec.message().c_str());
      net::steady_timer pause(main_ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    on_accepted(std::move(socket));
  }
}

}  // namespace ocisecrets
