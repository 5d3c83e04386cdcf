#include "manager/api/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>

#include "manager/api/session.h"

namespace ocisecrets {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using unix_socket = net::local::stream_protocol;

// The unix listener's stream; a TLS listener would add ssl::stream<beast::tcp_stream>.
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
  std::atomic<bool> stopping_{false};
  std::mutex sessions_mu;
  std::set<std::shared_ptr<SessionBase>> sessions;
  std::unique_ptr<net::steady_timer> grace_timer;

  net::io_context& NextContext() {
    std::size_t i = next_context++ % (workers.size() + 1);
    return i == 0 ? main_ioc : *workers[i - 1];
  }
  // The hot, short requests run on the connection's thread; everything that may wait
  // for an fsync or walk the whole store (creates, updates, lists) goes to the pool.
  static bool RunsInline(const Request& r) {
    return r.target.starts_with("/v1/leases") || r.target == "/v1/health" ||
           r.target == "/metrics";
  }

  // SessionHost
  const ServerOptions& options() const override { return options_; }
  bool stopping() const override { return stopping_; }
  net::awaitable<Response> Handle(const Request& request, const Identity& peer) override;
  void RecordTransportError(int status) override { router->RecordTransportError(status); }

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

Result<Identity> Server::Impl::UnixCaller(unix_socket::socket& socket) const {
  ASSIGN_OR_RETURN(Identity peer, authorizer->IdentifyUnixPeer(socket.native_handle()),
                   "");  // PeerOf's message names SO_PEERCRED
  return peer;
}

void Server::Impl::AcceptUnix(unix_socket::socket socket) {
  auto peer = UnixCaller(socket);
  if (!peer.ok()) {
    std::fprintf(stderr, "oci-secretsd: %s\n", peer.status().message().c_str());
    return;
  }
  auto session =
      std::make_shared<HttpSession<UnixStream>>(UnixStream(std::move(socket)), *peer, this);
  Launch(session, session->Run());
}

void Server::Impl::Launch(std::shared_ptr<SessionBase> session, net::awaitable<void> run) {
  {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.insert(session);
  }
  net::co_spawn(session->executor(), std::move(run), [this, session](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "oci-secretsd: session: %s\n", ex.what());
      }
    }
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.erase(session);
    if (stopping_ && sessions.empty()) FinishStop();
  });
}

net::awaitable<Response> Server::Impl::Handle(const Request& request, const Identity& peer) {
  if (RunsInline(request)) co_return router->Handle(request, peer);
  co_return co_await net::co_spawn(
      blocking,
      [this, &request, &peer]() -> net::awaitable<Response> {
        co_return router->Handle(request, peer);
      },
      net::use_awaitable);
}

void Server::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  net::post(main_ioc, [this] {
    boost::system::error_code ec;
    signals.cancel(ec);
    for (auto& a : acceptors) a->close(ec);
    std::set<std::shared_ptr<SessionBase>> snapshot;
    {
      std::lock_guard<std::mutex> lock(sessions_mu);
      snapshot = sessions;
    }
    // Idle connections close now; busy ones finish their request, then close.
    for (const auto& s : snapshot) {
      net::post(s->executor(), [s] { s->CloseIfIdle(); });
    }
    grace_timer = std::make_unique<net::steady_timer>(main_ioc, options_.shutdown_grace);
    grace_timer->async_wait([this](boost::system::error_code ec) {
      if (!ec) StopAll();  // a request is stuck: give up on it
    });
    std::lock_guard<std::mutex> lock(sessions_mu);
    if (sessions.empty()) FinishStop();
  });
}

void Server::Impl::FinishStop() {
  net::post(main_ioc, [this] {
    if (grace_timer) grace_timer->cancel();
    for (auto& g : guards) g.reset();
  });
}

void Server::Impl::StopAll() {
  main_ioc.stop();
  for (auto& w : workers) w->stop();
}

Server::Server(Router* router, const Authorizer* authorizer, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, authorizer, options)) {}

Server::~Server() = default;

Status Server::AddUnixListener(int fd) {
  auto acceptor = std::make_unique<unix_socket::acceptor>(impl_->main_ioc);
  boost::system::error_code ec;
  acceptor->assign(unix_socket(), fd, ec);
  if (ec) return Status::IOError("listen: " + ec.message());
  impl_->acceptors.push_back(std::move(acceptor));
  return Status::Ok();
}

void Server::Run() {
  Impl& impl = *impl_;
  impl.signals.async_wait([&impl](boost::system::error_code ec, int signo) {
    if (ec) return;
    std::fprintf(stderr, "oci-secretsd: %s: shutting down\n", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    impl.Stop();
  });
  for (auto& a : impl.acceptors) {
    net::co_spawn(impl.main_ioc,
                  impl.AcceptLoop(*a, [&impl](unix_socket::socket s) { impl.AcceptUnix(std::move(s)); }),
                  net::detached);
  }
  std::vector<std::thread> threads;
  for (auto& w : impl.workers) threads.emplace_back([&ctx = *w] { ctx.run(); });
  impl.main_ioc.run();
  for (auto& t : threads) t.join();
  impl.blocking.stop();  // nothing is queued once every session is gone
  impl.blocking.join();
}

void Server::Stop() { impl_->Stop(); }

}  // namespace ocisecrets
