// The TLS listener: accept, detect a TLS client hello, handshake within the deadline,
// identify the peer by its certificate, then the one HTTP session over the TLS stream.
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <optional>

#include "manager/api/server_impl.h"
#include "shared/tls_policy.h"

namespace ocisecrets {

namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using TlsStream = ssl::stream<beast::tcp_stream>;

struct TlsListener {
  TlsListener(net::io_context& ioc, TlsServerConfig c) : acceptor(ioc), config(std::move(c)) {}
  tcp::acceptor acceptor;
  const TlsServerConfig config;
};

void CloseTlsListener(TlsListener& listener) {
  boost::system::error_code ec;
  listener.acceptor.close(ec);
}

namespace {

std::string AddressOf(const tcp::socket& socket) {
  boost::system::error_code ec;
  tcp::endpoint ep = socket.remote_endpoint(ec);
  if (ec) return "(unknown peer)";
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

// Why a handshake failed, in the words the audit log keeps.
std::string HandshakeFailure(const boost::system::error_code& ec, const TlsStream& stream,
                             std::chrono::milliseconds timeout) {
  long verify = SSL_get_verify_result(const_cast<TlsStream&>(stream).native_handle());
  if (verify != X509_V_OK) return VerifyErrorText(verify);
  if (ec == beast::error::timeout) {
    return "no TLS handshake within " + std::to_string(timeout.count()) + " ms";
  }
  if (ec == ssl::error::stream_truncated || ec == net::error::eof) {
    return "the client closed the connection during the TLS handshake";
  }
  if (ec.category() == net::error::get_ssl_category()) {
    if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) {
      return reason;
    }
  }
  return ec.message();
}

// One TLS connection: the handshake, then the HTTP session, for which it is the host
// (forwarding to the server, adding the listener's still_valid).
class TlsConnection final : public SessionBase, public SessionHost {
 public:
  TlsConnection(tcp::socket socket, std::shared_ptr<ssl::context> context,
                std::shared_ptr<const TlsListener> listener, SessionHost* server)
      : context_(std::move(context)),
        listener_(std::move(listener)),
        server_(server),
        peer_addr_(AddressOf(socket)),
        executor_(socket.get_executor()),
        tls_(std::in_place, beast::tcp_stream(std::move(socket)), *context_) {}

  net::any_io_executor executor() override { return executor_; }
  void CloseIfIdle() override {
    if (session_) {
      session_->CloseIfIdle();
    } else if (tls_) {
      beast::get_lowest_layer(*tls_).cancel();  // still handshaking
    }
  }

  net::awaitable<void> Run();

  // SessionHost
  const ServerOptions& options() const override { return server_->options(); }
  bool stopping() const override { return server_->stopping(); }
  net::awaitable<Response> Handle(const Request& request, const Identity& peer) override {
    return server_->Handle(request, peer);
  }
  void RecordTransportError(int status) override { server_->RecordTransportError(status); }
  Status StillValid(const Identity& peer) override {
    if (!admitted_.ok()) return admitted_;  // identify refused it; already reported
    if (!listener_->config.still_valid) return Status::Ok();
    Status s = listener_->config.still_valid(peer);
    if (!s.ok()) Refused(s.message());
    return s;
  }

 private:
  void Refused(std::string_view reason) const {
    if (listener_->config.refused) listener_->config.refused(peer_addr_, reason);
  }
  // Answers a client that spoke plain HTTP to the TLS port, then closes.
  net::awaitable<void> AnswerPlainHttp();

  std::shared_ptr<ssl::context> context_;  // outlives the SSL made from it
  std::shared_ptr<const TlsListener> listener_;
  SessionHost* server_;  // the server
  std::string peer_addr_;
  net::any_io_executor executor_;
  std::optional<TlsStream> tls_;  // until the session takes it
  std::shared_ptr<HttpSession<TlsStream>> session_;
  Status admitted_ = Status::Ok();
};

net::awaitable<void> TlsConnection::AnswerPlainHttp() {
  Response r = ErrorResponse(400, "this port speaks TLS: use https://");
  std::string head = session_internal::ResponseHead(r, 11, false, r.body.size());
  std::array<net::const_buffer, 2> out = {net::buffer(head), net::buffer(r.body)};
  boost::system::error_code ec;
  co_await net::async_write(tls_->next_layer(), out, net::redirect_error(net::use_awaitable, ec));
  server_->RecordTransportError(400);
}

net::awaitable<void> TlsConnection::Run() {
  const TlsServerConfig& config = listener_->config;
  auto& tcp_stream = tls_->next_layer();
  tcp_stream.expires_after(config.handshake_timeout);
  beast::flat_buffer hello;
  boost::system::error_code ec;
  bool is_tls =
      co_await beast::async_detect_ssl(tcp_stream, hello, net::redirect_error(net::use_awaitable, ec));
  if (ec || !is_tls) {
    if (!ec) {
      Refused("not a TLS client hello");
      auto first = static_cast<const char*>(hello.data().data());
      if (hello.size() > 0 && first[0] >= 'A' && first[0] <= 'Z') co_await AnswerPlainHttp();
    } else if (hello.size() > 0 || ec == beast::error::timeout) {
      Refused(HandshakeFailure(ec, *tls_, config.handshake_timeout));
    }
    co_await CloseStream(tcp_stream);
    co_return;
  }
  std::size_t used = co_await tls_->async_handshake(ssl::stream_base::server, hello.data(),
                                                    net::redirect_error(net::use_awaitable, ec));
  hello.consume(used);
  if (ec) {
    Refused(HandshakeFailure(ec, *tls_, config.handshake_timeout));
    co_await CloseStream(tcp_stream);  // OpenSSL's alert, if any, has been written
    co_return;
  }

  X509* cert = SSL_get0_peer_certificate(tls_->native_handle());
  Result<Identity> identity =
      config.identify ? config.identify(cert, peer_addr_)
                      : Result<Identity>(Status::PermissionDenied("permission denied: no identify"));
  Identity peer;
  if (identity.ok()) {
    peer = std::move(*identity);
  } else {
    admitted_ = identity.status();
    Refused(admitted_.message());
  }
  peer.kind = Identity::Kind::kCertificate;
  peer.transport = Identity::Transport::kTls;
  session_ = std::make_shared<HttpSession<TlsStream>>(std::move(*tls_), std::move(peer), this);
  tls_.reset();
  co_await session_->Run();
}

}  // namespace

Status Server::AddTlsListener(int fd, TlsServerConfig config) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return PosixError("listen", errno);
  }
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) {
    return Status::IOError("listen: not a TCP socket");
  }
  auto listener = std::make_shared<TlsListener>(impl_->main_ioc, std::move(config));
  boost::system::error_code ec;
  listener->acceptor.assign(addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) return Status::IOError("listen: " + ec.message());
  net::post(impl_->main_ioc, [impl = impl_.get(), listener] {
    if (impl->stopping_) {
      CloseTlsListener(*listener);
      return;
    }
    impl->tls_listeners.push_back(listener);
    auto on_accepted = [impl, listener](tcp::socket socket) {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::shared_ptr<ssl::context> context =
          listener->config.context ? listener->config.context() : nullptr;
      if (!context) {
        std::fprintf(stderr, "oci-secretsd: TLS: no server certificate to present\n");
        if (listener->config.refused) {
          listener->config.refused(AddressOf(socket), "the server has no TLS certificate");
        }
        return;
      }
      auto connection =
          std::make_shared<TlsConnection>(std::move(socket), std::move(context), listener, impl);
      impl->Launch(connection, connection->Run());
    };
    net::co_spawn(impl->main_ioc, impl->AcceptLoop(listener->acceptor, on_accepted), net::detached);
  });
  return Status::Ok();
}

}  // namespace ocisecrets
