#include "manager/api/server.h"

#include <boost/asio/post.hpp>
#include <csignal>

#include "manager/api/server_impl.h"

namespace ocisecrets {

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
    for (auto& l : tls_listeners) CloseTlsListener(*l);
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
