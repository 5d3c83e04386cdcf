// ByteStream over TLS: a non-blocking TCP socket under OpenSSL, poll for every wait.
#include "shared/tls_stream.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace ocisecrets {
namespace {

using Deadline = ByteStream::Deadline;

Status Late() { return Status::DeadlineExceeded("deadline passed"); }

// A socket BIO that writes with MSG_NOSIGNAL: a peer gone must be an error, not SIGPIPE.
int BioFd(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

int BioWrite(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  for (;;) {
    ssize_t n = ::send(BioFd(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) BIO_set_retry_write(b);
    return -1;
  }
}

int BioRead(BIO* b, char* out, int len) {
  BIO_clear_retry_flags(b);
  for (;;) {
    ssize_t n = ::recv(BioFd(b), out, static_cast<std::size_t>(len), 0);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN) BIO_set_retry_read(b);
    return -1;
  }
}

long BioCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int BioCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* SocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "oci-secrets socket");
    BIO_meth_set_write(m, BioWrite);
    BIO_meth_set_read(m, BioRead);
    BIO_meth_set_ctrl(m, BioCtrl);
    BIO_meth_set_create(m, BioCreate);
    return m;
  }();
  return method;
}

// Whether an OpenSSL error is the server's alert about our certificate.
bool IsCertificateAlert(unsigned long e) {
  switch (ERR_GET_REASON(e)) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return true;
    default:
      return false;
  }
}

struct HostPort {
  std::string host;  // without brackets
  std::string port;
};

// "HOST:PORT" or "[v6]:PORT", PORT 1 to 65535.
Result<HostPort> ParseHostPort(std::string_view s) {
  auto bad = [&] {
    return Status::InvalidArgument("bad manager address '" + std::string(s) +
                                   "': want HOST:PORT or [IPv6]:PORT");
  };
  HostPort hp;
  std::string_view rest;
  if (s.starts_with("[")) {
    std::size_t close = s.find(']');
    if (close == std::string_view::npos) return bad();
    hp.host = std::string(s.substr(1, close - 1));
    rest = s.substr(close + 1);
  } else {
    std::size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return bad();
    hp.host = std::string(s.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) return bad();
    rest = s.substr(colon);
  }
  if (hp.host.empty() || hp.host.find('\0') != std::string::npos || !rest.starts_with(":")) {
    return bad();
  }
  rest.remove_prefix(1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
  if (ec != std::errc() || end != rest.data() + rest.size() || port == 0 || port > 65535) {
    return bad();
  }
  hp.port = std::string(rest);
  return hp;
}

class TlsStream : public ByteStream {
 public:
  TlsStream(std::string address, Result<HostPort> target, Result<SslCtxPtr> ctx)
      : address_(std::move(address)) {
    if (!target.ok()) {
      init_ = target.status();
    } else if (!ctx.ok()) {
      init_ = ctx.status();
    } else {
      target_ = std::move(*target);
      ctx_ = std::move(*ctx);
    }
  }
  ~TlsStream() override { Close(); }
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  Status Connect(Deadline deadline) override {
    Close();
    RETURN_IF_ERROR(init_, "");  // the options' or address's own message
    Status tcp = ConnectTcp(deadline);
    if (!tcp.ok()) {
      Close();
      return tcp;
    }
    Status tls = Handshake(deadline);
    if (!tls.ok()) Close();
    return tls;
  }

  bool is_open() const override { return ssl_ != nullptr; }

  // Readable while idle: records that carry no data (a TLS 1.3 ticket) leave it usable;
  // data nobody asked for, an alert or the close do not.
  bool IsIdleAndUsable() override {
    if (ssl_ == nullptr || SSL_pending(ssl_) > 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return true;
    char c;
    std::size_t n = 0;
    ERR_clear_error();
    if (SSL_peek_ex(ssl_, &c, 1, &n) == 1) return false;
    bool usable = SSL_get_error(ssl_, 0) == SSL_ERROR_WANT_READ;
    ERR_clear_error();
    return usable;
  }

  Status WriteAll(std::span<const std::string_view> parts, Deadline deadline) override {
    stale_ = false;
    if (ssl_ == nullptr) return Status::Unavailable("not connected to " + address_);
    // One buffer, so that the request leaves in as few records as it can; wiped after,
    // as it may hold a payload.
    std::string_view data = parts.empty() ? std::string_view() : parts[0];
    if (parts.size() > 1) {
      gather_.clear();
      for (std::string_view p : parts) gather_.insert(gather_.end(), p.begin(), p.end());
      data = std::string_view(gather_.data(), gather_.size());
    }
    Status s = WriteBytes(data, deadline);
    if (!gather_.empty()) {
      SecureWipe(gather_.data(), gather_.size());
      gather_.clear();
    }
    return s;
  }

  Result<std::size_t> ReadSome(std::span<char> buf, Deadline deadline) override {
    stale_ = false;
    if (ssl_ == nullptr) return Status::Unavailable("not connected to " + address_);
    for (;;) {
      ERR_clear_error();
      std::size_t n = 0;
      int r = SSL_read_ex(ssl_, buf.data(), buf.size(), &n);
      if (r == 1) return n;
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
      if (err == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0) return std::size_t{0};
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        RETURN_IF_ERROR(Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline),
                        "");  // Wait's message is the whole story
        continue;
      }
      int saved = errno;
      stale_ = err == SSL_ERROR_SYSCALL && saved == ECONNRESET;
      return Failure(err, saved, "connection to " + address_ + " broke");
    }
  }

  void Close() override {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);  // best effort: our close_notify, without waiting for theirs
      SSL_free(ssl_);
      ERR_clear_error();
    }
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool failed_on_stale_connection() const override { return stale_; }
  const std::string& address() const override { return address_; }

 private:
  Status Unreachable(std::string_view reason) const {
    return Status::Unavailable("cannot reach the manager at " + address_ + ": " +
                               std::string(reason));
  }

  Status ConnectTcp(Deadline deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    int gai = ::getaddrinfo(target_.host.c_str(), target_.port.c_str(), &hints, &found);
    if (gai != 0) return Unreachable(gai == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(gai));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
    Status last = Unreachable("no address");
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      last = ConnectOne(ai, deadline);
      if (last.ok() || last.code() == StatusCode::kDeadlineExceeded) return last;
    }
    return last;
  }

  Status ConnectOne(const addrinfo* ai, Deadline deadline) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return PosixError("socket", errno);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int err = 0;
    while (::connect(fd_, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINTR) continue;
      if (err != EINPROGRESS) break;
      RETURN_IF_ERROR(Wait(POLLOUT, deadline), "");  // Wait's message is the whole story
      socklen_t len = sizeof(err);
      if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      break;
    }
    if (err == 0) return Status::Ok();
    return Status::Unavailable(PosixError("cannot reach the manager at " + address_, err).message());
  }

  Status Handshake(Deadline deadline) {
    ssl_ = SSL_new(ctx_.get());
    BIO* bio = ssl_ != nullptr ? BIO_new(SocketMethod()) : nullptr;
    if (bio == nullptr) return Status::Internal("SSL_new: " + TakeSslError("out of memory"));
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd_)));
    SSL_set_bio(ssl_, bio, bio);
    // A server that closes without close_notify has closed: HTTP's framing finds a cut.
    SSL_set_options(ssl_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    in6_addr any;
    if (::inet_pton(AF_INET, target_.host.c_str(), &any) != 1 &&
        ::inet_pton(AF_INET6, target_.host.c_str(), &any) != 1) {
      SSL_set_tlsext_host_name(ssl_, target_.host.c_str());
    }
    for (;;) {
      ERR_clear_error();
      int r = SSL_connect(ssl_);
      if (r == 1) return Status::Ok();
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        RETURN_IF_ERROR(Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline),
                        "");  // Wait's message is the whole story
        continue;
      }
      std::string refusal = ServerRefusalOf(ssl_);
      if (!refusal.empty()) {
        ERR_clear_error();
        return Status::PermissionDenied("TLS handshake with " + address_ + " failed: " + refusal);
      }
      return Failure(err, errno, "TLS handshake with " + address_ + " failed");
    }
  }

  // A failed SSL call, as a Status: the server refusing our certificate is
  // PermissionDenied; anything else Unavailable with OpenSSL's reason or errno's.
  Status Failure(int ssl_error, int saved_errno, const std::string& what) const {
    unsigned long e = ERR_peek_error();
    if (e != 0 && IsCertificateAlert(e)) {
      return Status::PermissionDenied(what + ": the manager refused this node's certificate: " +
                                      TakeSslError(""));
    }
    if (e != 0) return Status::Unavailable(what + ": " + TakeSslError(""));
    if (ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0) {
      return Status::Unavailable(PosixError(what, saved_errno).message());
    }
    return Status::Unavailable(what + ": the server closed the connection");
  }

  Status WriteBytes(std::string_view data, Deadline deadline) {
    bool wrote_any = false;
    while (!data.empty()) {
      ERR_clear_error();
      std::size_t n = 0;
      int r = SSL_write_ex(ssl_, data.data(), data.size(), &n);
      if (r == 1) {
        data.remove_prefix(n);
        wrote_any = true;
        continue;
      }
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        RETURN_IF_ERROR(Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline),
                        "");  // Wait's message is the whole story
        continue;
      }
      int saved = errno;
      stale_ = !wrote_any && err == SSL_ERROR_SYSCALL && (saved == EPIPE || saved == ECONNRESET);
      return Failure(err, saved, "connection to " + address_ + " broke");
    }
    return Status::Ok();
  }

  Status Wait(short events, Deadline deadline) const { return WaitForFd(fd_, events, deadline); }

  std::string address_;
  Status init_ = Status::Ok();
  HostPort target_;
  SslCtxPtr ctx_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool stale_ = false;
  std::vector<char, WipingAllocator<char>> gather_;
};

}  // namespace

std::unique_ptr<ByteStream> MakeTlsStream(std::string host_port, TlsClientOptions options) {
  auto target = ParseHostPort(host_port);
  return std::make_unique<TlsStream>(std::move(host_port), std::move(target),
                                     MakeClientSslContext(options));
}

Result<std::unique_ptr<Transport>> MakeTransport(std::string_view host,
                                                 const TlsClientOptions* tls) {
  if (!host.starts_with("https://")) return MakeTransport(host);
  if (tls == nullptr) {
    return Status::InvalidArgument("https://... needs TLS certificates (a CA, a certificate and its key)");
  }
  std::string_view host_port = host.substr(8);
  if (host_port.ends_with("/")) host_port.remove_suffix(1);
  ASSIGN_OR_RETURN(HostPort target, ParseHostPort(host_port), "");  // names the address
  ASSIGN_OR_RETURN(SslCtxPtr ctx, MakeClientSslContext(*tls), "TLS options");
  return MakeHttpTransport(
      std::make_unique<TlsStream>(std::string(host_port), std::move(target), std::move(ctx)));
}

}  // namespace ocisecrets
