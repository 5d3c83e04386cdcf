#include "manager/api/server.h"

#include <openssl/crypto.h>

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
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <csignal>
#include <cstdio>

namespace ocisecrets {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using unix_socket = net::local::stream_protocol;
using Stream = beast::basic_stream<unix_socket>;

namespace {

// Wipes the spare capacity of a read buffer: request bodies (payloads) passed through it.
void WipeSpare(beast::flat_buffer& buffer) {
  auto spare = buffer.prepare(buffer.capacity() - buffer.size());
  OPENSSL_cleanse(spare.data(), spare.size());
}

// The head Beast writes for the response (fields in the same order), built by hand into
// one string so that head and body leave in a single gather write: serializing through
// http::response cost about a tenth of the daemon's CPU per lease.
std::string ResponseHead(const Response& r, unsigned version, bool keep_alive,
                         std::size_t body_size) {
  std::string h;
  h.reserve(128 + r.content_type.size() + r.allow.size());
  h += "HTTP/";
  h += static_cast<char>('0' + version / 10 % 10);
  h += '.';
  h += static_cast<char>('0' + version % 10);
  h += ' ';
  h += std::to_string(r.status);
  h += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  h.append(reason.data(), reason.size());
  h += "\r\n";
  if (r.status != 204) {
    h += "Content-Type: ";
    h += r.content_type;
    h += "\r\n";
  }
  if (!r.allow.empty()) {
    h += "Allow: ";
    h += r.allow;
    h += "\r\n";
  }
  h += "Cache-Control: no-store\r\n";
  if (version >= 11 && !keep_alive) h += "Connection: close\r\n";
  if (version < 11 && keep_alive) h += "Connection: keep-alive\r\n";
  h += "Content-Length: ";
  h += std::to_string(body_size);
  h += "\r\n\r\n";
  return h;
}

}  // namespace

struct Session {
  explicit Session(unix_socket::socket socket) : stream(std::move(socket)) {}
  Stream stream;
  bool busy = false;  // guarded by the session's strand
  Peer peer;
};

// Threading: one io_context per thread (no cross-thread wake-ups on the hot path; each
// connection lives on one of them, round-robin), plus a small pool for requests that
// may wait for an fsync or walk the store, so they never stall the lease fast path.
struct Server::Impl {
  using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;

  Impl(Router* r, const Authorizer* a, ServerOptions o)
      : router(r), authorizer(a), options(o), main_ioc(1), signals(main_ioc, SIGTERM, SIGINT),
        blocking(2) {
    int n = options.threads > 0 ? options.threads
                                : static_cast<int>(std::thread::hardware_concurrency());
    if (n < 1) n = 1;
    for (int i = 1; i < n; ++i) {
      workers.push_back(std::make_unique<net::io_context>(1));
      guards.emplace_back(workers.back()->get_executor());
    }
  }

  Router* router;
  const Authorizer* authorizer;
  ServerOptions options;
  net::io_context main_ioc;  // acceptors, signals, and its share of the connections
  std::vector<std::unique_ptr<net::io_context>> workers;
  std::vector<WorkGuard> guards;  // keep the workers running until shutdown
  net::signal_set signals;
  net::thread_pool blocking;
  std::size_t next_context = 0;  // only touched on main_ioc
  std::vector<std::unique_ptr<unix_socket::acceptor>> acceptors;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mu;
  std::set<std::shared_ptr<Session>> sessions;
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

  net::awaitable<void> Accept(unix_socket::acceptor& acceptor);
  net::awaitable<void> Serve(std::shared_ptr<Session> session);
  net::awaitable<Response> Dispatch(const Request& request, const Peer& peer);
  net::awaitable<void> WriteError(Session& s, int status, std::string_view message);
  void Stop();
  void FinishStop();  // the last session is gone: let every context run dry
  void StopAll();
};

net::awaitable<void> Server::Impl::Accept(unix_socket::acceptor& acceptor) {
  while (!stopping) {
    unix_socket::socket socket(NextContext());
    boost::system::error_code ec;
    co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::operation_aborted || stopping) break;
    if (ec) {
      // EMFILE and friends: log, breathe, keep serving the others.
      std::fprintf(stderr, "oci-secretsd: accept: %s\n", ec.message().c_str());
      net::steady_timer pause(main_ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    auto peer = authorizer->IdentifyUnixPeer(socket.native_handle());
    if (!peer.ok()) {
      std::fprintf(stderr, "oci-secretsd: %s\n", peer.status().message().c_str());
      continue;
    }
    auto session = std::make_shared<Session>(std::move(socket));
    session->peer = *peer;
    {
      std::lock_guard<std::mutex> lock(sessions_mu);
      sessions.insert(session);
    }
    net::co_spawn(session->stream.get_executor(), Serve(session),
                  [this, session](std::exception_ptr e) {
                    if (e) {
                      try {
                        std::rethrow_exception(e);
                      } catch (const std::exception& ex) {
                        std::fprintf(stderr, "oci-secretsd: session: %s\n", ex.what());
                      }
                    }
                    std::lock_guard<std::mutex> lock(sessions_mu);
                    sessions.erase(session);
                    if (stopping && sessions.empty()) FinishStop();
                  });
  }
}

net::awaitable<void> Server::Impl::WriteError(Session& s, int status, std::string_view message) {
  router->RecordTransportError(status);
  Response r = ErrorResponse(status, message);
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, r.content_type);
  res.keep_alive(false);
  res.body() = std::move(r.body);
  res.prepare_payload();
  s.stream.expires_after(options.request_timeout);
  boost::system::error_code ec;
  co_await http::async_write(s.stream, res, net::redirect_error(net::use_awaitable, ec));
  s.stream.socket().shutdown(unix_socket::socket::shutdown_send, ec);
}

net::awaitable<void> Server::Impl::Serve(std::shared_ptr<Session> session) {
  Session& s = *session;
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    s.busy = false;
    s.stream.expires_after(options.idle_timeout);
    co_await http::async_read_header(s.stream, buffer, parser,
                                     net::redirect_error(net::use_awaitable, ec));
    s.busy = true;
    if (!ec) {
      if (parser.get()[http::field::expect] == "100-continue") {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        s.stream.expires_after(options.request_timeout);
        co_await http::async_write(s.stream, cont, net::redirect_error(net::use_awaitable, ec));
        if (ec) break;
      }
      s.stream.expires_after(options.request_timeout);
      co_await http::async_read(s.stream, buffer, parser,
                                net::redirect_error(net::use_awaitable, ec));
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::connection_reset) {
      break;
    }
    if (ec == http::error::header_limit) {
      co_await WriteError(s, 431, "request headers are larger than 16 KiB");
      break;
    }
    if (ec == http::error::body_limit) {
      co_await WriteError(s, 413, "request body is larger than 1 MiB");
      break;
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
        co_await WriteError(s, 400, "malformed HTTP request: " + ec.message());
      }
      break;
    }

    http::request<http::string_body> req = parser.release();
    Request request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.body = std::move(req.body());
    Response r = co_await Dispatch(request, s.peer);
    WipeString(request.body);
    WipeSpare(buffer);

    const bool keep_alive = req.keep_alive() && !stopping;
    const std::size_t body_size = r.status == 204 ? 0 : r.body.size();
    const std::string head = ResponseHead(r, req.version(), keep_alive, body_size);
    const std::array<net::const_buffer, 2> out = {net::buffer(head),
                                                  net::buffer(r.body.data(), body_size)};
    s.stream.expires_after(options.request_timeout);
    co_await net::async_write(s.stream, out, net::redirect_error(net::use_awaitable, ec));
    if (r.sensitive) WipeString(r.body);
    if (ec || !keep_alive) break;
  }
  s.stream.socket().shutdown(unix_socket::socket::shutdown_both, ec);
  s.stream.close();
}

net::awaitable<Response> Server::Impl::Dispatch(const Request& request, const Peer& peer) {
  if (RunsInline(request)) co_return router->Handle(request, peer);
  co_return co_await net::co_spawn(
      blocking,
      [this, &request, &peer]() -> net::awaitable<Response> {
        co_return router->Handle(request, peer);
      },
      net::use_awaitable);
}

void Server::Impl::Stop() {
  if (stopping.exchange(true)) return;
  net::post(main_ioc, [this] {
    boost::system::error_code ec;
    signals.cancel(ec);
    for (auto& a : acceptors) a->close(ec);
    std::set<std::shared_ptr<Session>> snapshot;
    {
      std::lock_guard<std::mutex> lock(sessions_mu);
      snapshot = sessions;
    }
    // Idle connections close now; busy ones finish their request, then close.
    for (const auto& s : snapshot) {
      net::post(s->stream.get_executor(), [s] {
        if (!s->busy) s->stream.cancel();
      });
    }
    grace_timer = std::make_unique<net::steady_timer>(main_ioc, options.shutdown_grace);
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
    net::co_spawn(impl.main_ioc, impl.Accept(*a), net::detached);
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
