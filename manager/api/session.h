// The HTTP/1.1 session of one connection, written once for every transport. It is a
// template over the stream type (a Beast stream: beast::basic_stream over a unix or TCP
// socket, or ssl::stream<beast::tcp_stream> for TLS) rather than a virtual
// byte-stream interface: Beast's parser and writer then work on the stream directly,
// with no virtual call or type-erased handler per read on the lease hot path.
//
// A listener does only what differs per transport: accept, decide the caller (SO_PEERCRED
// on the unix socket; the TLS listener handshakes with a deadline and reads the peer
// certificate), then construct an HttpSession over its stream and co_await Run().
//
// Every read has a deadline (idle_timeout between requests, request_timeout within one);
// header and body limits become 431/413, malformed HTTP 400, each followed by a close;
// "Expect: 100-continue" is answered; keep-alive is honoured; request bodies and
// sensitive responses are wiped once used; before each request the host confirms that
// the caller is still admitted (a removed node's open connection dies at its next
// request). A failure only ever ends its own session.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "manager/api/auth.h"
#include "manager/api/router.h"
#include "manager/api/server.h"
#include "shared/secure_buffer.h"

namespace ocisecrets {

// What a session needs from the server that runs it. Thread-safe: sessions on every
// thread call it.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // The limits and deadlines; constant while sessions run.
  virtual const ServerOptions& options() const = 0;
  // True once the server is stopping: a session finishes its request, then closes.
  virtual bool stopping() const = 0;
  // The answer to one request of `peer` (the host decides where it runs).
  virtual boost::asio::awaitable<Response> Handle(const Request& request, const Identity& peer) = 0;
  // Counts a request the session answered itself (400, 403, 413, 431).
  virtual void RecordTransportError(int status) = 0;
  // Whether `peer` may still make requests on its open connection; asked before each
  // one. An error: that request gets 403 with the error's message, and the connection
  // closes (the host reports the refusal itself).
  virtual Status StillValid(const Identity& peer) = 0;
};

// What the server needs of every live session, whatever its stream.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // The executor the session runs on; call CloseIfIdle only there.
  virtual boost::asio::any_io_executor executor() = 0;
  // Closes the connection if it is waiting for a request; a busy session finishes its
  // request, sees the host stopping and closes then. A held long-poll (a deferred
  // answer) is answered at once.
  virtual void CloseIfIdle() = 0;
};

namespace session_internal {

// The response head Beast would write (fields in the same order), built by hand so that
// head and body leave in one gather write: serializing through http::response cost about
// a tenth of the daemon's CPU per lease.
std::string ResponseHead(const Response& r, unsigned version, bool keep_alive,
                         std::size_t body_size);

// Wipes the spare capacity of a read buffer: request bodies (payloads) passed through it.
void WipeSpare(boost::beast::flat_buffer& buffer);

// "16 KiB", "1 MiB", "100 bytes": a limit as the error messages name it.
std::string SizeText(std::size_t bytes);

// Whether ec is a peer that left or a deadline that passed: close without an answer.
bool IsQuietEnd(const boost::system::error_code& ec);

}  // namespace session_internal

// How a session ends a connection; the defaults suit plain sockets (unix, TCP).
template <class Stream>
boost::asio::awaitable<void> ShutdownSend(Stream& stream) {
  boost::system::error_code ec;
  boost::beast::get_lowest_layer(stream).socket().shutdown(
      boost::asio::socket_base::shutdown_send, ec);
  co_return;
}
template <class Stream>
boost::asio::awaitable<void> CloseStream(Stream& stream) {
  boost::system::error_code ec;
  boost::beast::get_lowest_layer(stream).socket().shutdown(
      boost::asio::socket_base::shutdown_both, ec);
  boost::beast::get_lowest_layer(stream).close();
  co_return;
}

// How long a TLS session waits for its close_notify to leave.
inline constexpr std::chrono::milliseconds kCloseNotifyTimeout{500};

// TLS: close_notify first, without waiting for the peer's (its arrival is marked as
// seen, so the shutdown completes once ours is written), within kCloseNotifyTimeout.
template <class Next>
boost::asio::awaitable<void> ShutdownSend(boost::asio::ssl::stream<Next>& stream) {
  namespace net = boost::asio;
  SSL* ssl = stream.native_handle();
  if ((SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) == 0) {
    SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
    boost::beast::get_lowest_layer(stream).expires_after(kCloseNotifyTimeout);
    boost::system::error_code ec;
    co_await stream.async_shutdown(net::redirect_error(net::use_awaitable, ec));
  }
  co_await ShutdownSend(stream.next_layer());
}
template <class Next>
boost::asio::awaitable<void> CloseStream(boost::asio::ssl::stream<Next>& stream) {
  co_await ShutdownSend(stream);
  co_await CloseStream(stream.next_layer());
}

// One connection: constructed by a listener once it knows the caller, then Run().
// Not thread-safe: everything happens on the stream's executor.
template <class Stream>
class HttpSession final : public SessionBase {
 public:
  // host must outlive the session.
  HttpSession(Stream stream, Identity peer, SessionHost* host)
      : stream_(std::move(stream)), peer_(std::move(peer)), host_(host) {}

  boost::asio::any_io_executor executor() override { return stream_.get_executor(); }
  void CloseIfIdle() override {
    if (held_ != nullptr) held_->cancel();  // Hold sees the host stopping and answers
    if (!busy_) boost::beast::get_lowest_layer(stream_).cancel();
  }

  // Serves requests until the client leaves, a deadline passes, an error closes the
  // connection or the host stops; then closes the stream. Never throws for I/O errors.
  boost::asio::awaitable<void> Run();

 private:
  boost::asio::awaitable<void> WriteError(int status, std::string_view message);
  // The answer of a deferred response: ready() after each wake, answer() at its deadline
  // or when the host stops. Waits on a timer of this connection's executor, no thread;
  // no read is pending meanwhile, so the stream's deadlines cannot cut it.
  boost::asio::awaitable<Response> Hold(const DeferredAnswer& deferred);

  Stream stream_;
  Identity peer_;
  SessionHost* host_;
  bool busy_ = false;
  std::shared_ptr<boost::asio::steady_timer> held_;  // while Hold waits
};

template <class Stream>
boost::asio::awaitable<void> HttpSession<Stream>::WriteError(int status,
                                                             std::string_view message) {
  namespace http = boost::beast::http;
  namespace net = boost::asio;
  host_->RecordTransportError(status);
  Response r = ErrorResponse(status, message);
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, r.content_type);
  res.keep_alive(false);
  res.body() = std::move(r.body);
  res.prepare_payload();
  boost::beast::get_lowest_layer(stream_).expires_after(host_->options().request_timeout);
  boost::system::error_code ec;
  co_await http::async_write(stream_, res, net::redirect_error(net::use_awaitable, ec));
  co_await ShutdownSend(stream_);
}

template <class Stream>
boost::asio::awaitable<Response> HttpSession<Stream>::Hold(const DeferredAnswer& deferred) {
  namespace net = boost::asio;
  auto timer = std::make_shared<net::steady_timer>(stream_.get_executor());
  held_ = timer;
  std::optional<Response> out;
  while (!out) {
    // Subscribe first, then ask: a change between the route's check and now is seen
    // here, one after it wakes the timer. The wake may come from any thread, and after
    // this session is gone: it holds the executor and a weak timer only.
    const std::uint64_t token = deferred.subscribe(
        [executor = stream_.get_executor(), weak = std::weak_ptr<net::steady_timer>(timer)] {
          net::post(executor, [weak] {
            if (auto t = weak.lock()) t->cancel();
          });
        });
    out = deferred.ready();
    if (!out && !host_->stopping() &&
        std::chrono::steady_clock::now() < deferred.deadline) {
      timer->expires_at(deferred.deadline);
      boost::system::error_code ec;
      co_await timer->async_wait(net::redirect_error(net::use_awaitable, ec));
      out = deferred.ready();
      if (!out && (host_->stopping() || std::chrono::steady_clock::now() >= deferred.deadline)) {
        out = deferred.answer();
      }
    } else if (!out) {
      out = deferred.answer();
    }
    deferred.unsubscribe(token);
  }
  held_.reset();
  co_return std::move(*out);
}

template <class Stream>
boost::asio::awaitable<void> HttpSession<Stream>::Run() {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace net = boost::asio;
  using namespace session_internal;
  const ServerOptions& options = host_->options();
  auto& lowest = beast::get_lowest_layer(stream_);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (!host_->stopping()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    busy_ = false;
    lowest.expires_after(options.idle_timeout);
    co_await http::async_read_header(stream_, buffer, parser,
                                     net::redirect_error(net::use_awaitable, ec));
    busy_ = true;
    if (!ec) {
      if (parser.get()[http::field::expect] == "100-continue") {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        lowest.expires_after(options.request_timeout);
        co_await http::async_write(stream_, cont, net::redirect_error(net::use_awaitable, ec));
        if (ec) break;
      }
      lowest.expires_after(options.request_timeout);
      co_await http::async_read(stream_, buffer, parser,
                                net::redirect_error(net::use_awaitable, ec));
    }
    if (IsQuietEnd(ec)) break;
    if (ec == http::error::header_limit) {
      co_await WriteError(431, "request headers are larger than " + SizeText(options.header_limit));
      break;
    }
    if (ec == http::error::body_limit) {
      co_await WriteError(413, "request body is larger than " + SizeText(options.body_limit));
      break;
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
        co_await WriteError(400, "malformed HTTP request: " + ec.message());
      }
      break;
    }

    http::request<http::string_body> req = parser.release();
    if (Status valid = host_->StillValid(peer_); !valid.ok()) {
      WipeString(req.body());
      WipeSpare(buffer);
      co_await WriteError(403, valid.message());
      break;
    }
    Request request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.body = std::move(req.body());
    Response r = co_await host_->Handle(request, peer_);
    if (r.deferred != nullptr) r = co_await Hold(*r.deferred);
    WipeString(request.body);
    WipeSpare(buffer);

    const bool keep_alive = req.keep_alive() && !host_->stopping();
    const std::size_t body_size = r.status == 204 ? 0 : r.body.size();
    const std::string head = ResponseHead(r, req.version(), keep_alive, body_size);
    const std::array<net::const_buffer, 2> out = {net::buffer(head),
                                                  net::buffer(r.body.data(), body_size)};
    lowest.expires_after(options.request_timeout);
    co_await net::async_write(stream_, out, net::redirect_error(net::use_awaitable, ec));
    if (r.sensitive) WipeString(r.body);
    if (ec || !keep_alive) break;
  }
  co_await CloseStream(stream_);
}

}  // namespace ocisecrets
