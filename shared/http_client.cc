#include "shared/http_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "shared/secure_buffer.h"

namespace ocisecrets {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t kBodyLimit = 8 * 1024 * 1024;
constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr char kDefaultHost[] = "unix:///run/oci-secrets/manager.sock";

using SteadyTime = std::chrono::steady_clock::time_point;
// A read buffer whose whole capacity is wiped when freed: responses may hold payloads.
using WipedChars = std::vector<char, WipingAllocator<char>>;

// Milliseconds left until `deadline`, rounded up so that a positive remainder never
// becomes a 0 ms poll; 0 when it has passed.
int MillisLeft(SteadyTime deadline) {
  auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  if (left.count() > 24 * 3600 * 1000) return 24 * 3600 * 1000;
  return static_cast<int>(left.count());
}

bool IsIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "DELETE" || method == "PUT" ||
         method == "OPTIONS";
}

bool HasControlOrSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Why a round trip failed, so the caller knows whether a retry on a fresh connection is
// safe: kStale means the reused connection was dead before the server saw anything.
enum class Failure { kNone, kStale, kFatal };

class UnixTransport : public Transport {
 public:
  UnixTransport(std::string path, std::string display)
      : path_(std::move(path)), display_(std::move(display)) {}
  ~UnixTransport() override { Close(); }
  UnixTransport(const UnixTransport&) = delete;
  UnixTransport& operator=(const UnixTransport&) = delete;

  Result<HttpResponse> RoundTrip(const HttpRequest& req, SteadyTime deadline) override {
    if (req.method.empty() || HasControlOrSpace(req.method) || req.target.empty() ||
        req.target[0] != '/' || HasControlOrSpace(req.target)) {
      return Status::InvalidArgument("bad HTTP request line");
    }
    budget_ms_ = MillisLeft(deadline);
    // At most two tries: a reused keep-alive connection the server has closed meanwhile
    // fails before anything was processed, and then one fresh connection is tried.
    for (int attempt = 0;; ++attempt) {
      bool reused = fd_ >= 0;
      if (reused && !StillUsable()) {
        Close();
        reused = false;
      }
      if (fd_ < 0) RETURN_IF_ERROR(Connect(deadline), "");
      Failure failure = Failure::kNone;
      Status sent = Send(req, deadline, &failure);
      if (!sent.ok()) {
        Close();
        if (reused && attempt == 0 && failure == Failure::kStale) continue;
        return sent;
      }
      HttpResponse response;
      bool keep_alive = false;
      Status got = Receive(deadline, &response, &keep_alive, &failure);
      if (!got.ok()) {
        Close();
        if (reused && attempt == 0 && failure == Failure::kStale && IsIdempotent(req.method)) {
          continue;
        }
        return got;
      }
      if (!keep_alive) Close();
      return response;
    }
  }

 private:
  Status Timeout() const {
    return Status::DeadlineExceeded("no answer from the manager within " +
                                    std::to_string(budget_ms_) + " ms");
  }

  Status Unreachable(int err) const {
    Status s = PosixError("cannot reach the manager at " + display_, err);
    if (s.code() == StatusCode::kPermissionDenied) return s;
    return Status::Unavailable(s.message());
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // An idle keep-alive connection is usable only if it has nothing to read: readable
  // means the server closed it (EOF) or sent something unasked for.
  bool StillUsable() const {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, 0);
    return r == 0;
  }

  // Waits until fd_ has `events` or an error condition; DeadlineExceeded at the deadline.
  Status Wait(short events, SteadyTime deadline) const {
    for (;;) {
      int ms = MillisLeft(deadline);
      if (ms == 0) return Timeout();
      pollfd p{fd_, events, 0};
      int r = ::poll(&p, 1, ms);
      if (r > 0) return Status::Ok();
      if (r < 0 && errno != EINTR) return PosixError("poll", errno);
    }
  }

  Status Connect(SteadyTime deadline) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());  // length checked by the factory
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return PosixError("socket", errno);
    for (;;) {
      if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
        return Status::Ok();
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN) {
        // The listener's backlog is full: a unix socket cannot be polled for that, so
        // try again shortly, within the deadline.
        int ms = MillisLeft(deadline);
        if (ms == 0) {
          Close();
          return Timeout();
        }
        ::poll(nullptr, 0, ms < 5 ? ms : 5);
        continue;
      }
      if (err == EINPROGRESS) {
        Status w = Wait(POLLOUT, deadline);
        if (!w.ok()) {
          Close();
          return w;
        }
        int so_error = 0;
        socklen_t len = sizeof(so_error);
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
        if (so_error == 0) return Status::Ok();
        err = so_error;
      }
      Close();
      return Unreachable(err);
    }
  }

  Status Send(const HttpRequest& req, SteadyTime deadline, Failure* failure) {
    std::string head = req.method + " " + req.target +
                       " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: oci-secrets\r\n"
                       "Accept: application/json\r\n";
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
      head +=
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(req.body.size()) +
          "\r\n";
    }
    head += "\r\n";
    iovec iov[2] = {{head.data(), head.size()},
                    {const_cast<char*>(req.body.data()), req.body.size()}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = req.body.empty() ? 1 : 2;
    bool wrote_any = false;
    while (msg.msg_iovlen > 0) {
      ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN) {
          RETURN_IF_ERROR(Wait(POLLOUT, deadline), "");
          continue;
        }
        *failure =
            (!wrote_any && (err == EPIPE || err == ECONNRESET)) ? Failure::kStale : Failure::kFatal;
        return Unreachable(err);
      }
      wrote_any = true;
      auto left = static_cast<std::size_t>(n);
      while (msg.msg_iovlen > 0 && left >= msg.msg_iov[0].iov_len) {
        left -= msg.msg_iov[0].iov_len;
        ++msg.msg_iov;
        --msg.msg_iovlen;
      }
      if (msg.msg_iovlen > 0) {
        msg.msg_iov[0].iov_base = static_cast<char*>(msg.msg_iov[0].iov_base) + left;
        msg.msg_iov[0].iov_len -= left;
      }
    }
    return Status::Ok();
  }

  Status Receive(SteadyTime deadline, HttpResponse* out, bool* keep_alive, Failure* failure) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    parser.header_limit(kHeaderLimit);
    parser.eager(true);
    WipedChars pending;
    char chunk[16 * 1024];
    bool got_any = false;
    Status result = Status::Ok();
    while (!parser.is_done()) {
      if (!pending.empty()) {
        boost::system::error_code ec;
        std::size_t used = parser.put(boost::asio::buffer(pending.data(), pending.size()), ec);
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
        if (ec && ec != http::error::need_more) {
          result = Status::DataLoss("malformed answer from the manager: " + ec.message());
          break;
        }
        if (!ec && used > 0) continue;
      }
      Status w = Wait(POLLIN, deadline);
      if (!w.ok()) {
        result = w;
        break;
      }
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        got_any = true;
        pending.insert(pending.end(), chunk, chunk + n);
        continue;
      }
      if (n == 0) {
        if (!got_any) {
          *failure = Failure::kStale;
          result = Status::Unavailable("the manager at " + display_ +
                                       " closed the connection without an answer");
          break;
        }
        if (parser.is_header_done() && pending.empty()) {
          boost::system::error_code ec;
          parser.put_eof(ec);  // ends a body delimited by the connection's close
          if (!ec) break;
        }
        result = Status::DataLoss("the manager at " + display_ +
                                  " closed the connection in the middle of an answer");
        break;
      }
      int err = errno;
      if (err == EINTR || err == EAGAIN) continue;
      if (!got_any && err == ECONNRESET) *failure = Failure::kStale;
      result = Unreachable(err);
      break;
    }
    SecureWipe(chunk, sizeof(chunk));
    if (!result.ok()) {
      if (*failure == Failure::kNone) *failure = Failure::kFatal;
      return result;
    }
    auto msg = parser.release();
    out->status = static_cast<int>(msg.result_int());
    out->body = std::move(msg.body());
    // Bytes past the end of the answer were never asked for: do not reuse this connection.
    *keep_alive = msg.keep_alive() && pending.empty();
    return Status::Ok();
  }

  std::string path_;
  std::string display_;
  int fd_ = -1;
  int budget_ms_ = 0;
};

}  // namespace

Result<std::unique_ptr<Transport>> MakeTransport(std::string_view host) {
  std::string_view path;
  if (host.starts_with("unix://")) {
    path = host.substr(7);
  } else if (host.starts_with("/")) {
    path = host;
  } else if (host.starts_with("https://")) {
    return Status::InvalidArgument("https transport not available yet");
  } else {
    return Status::InvalidArgument("bad host '" + std::string(host) +
                                   "': want unix:///PATH or https://HOST:PORT");
  }
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("bad host '" + std::string(host) +
                                   "': the socket path must be absolute");
  }
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Status::InvalidArgument("bad host '" + std::string(host) +
                                   "': socket path longer than 107 bytes");
  }
  if (path.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("bad host: NUL in the socket path");
  }
  std::string display = "unix://" + std::string(path);
  return std::unique_ptr<Transport>(new UnixTransport(std::string(path), std::move(display)));
}

std::string DefaultHost() {
  const char* env = std::getenv("OCI_SECRETS_HOST");
  if (env != nullptr && *env != '\0') return env;
  return kDefaultHost;
}

StatusCode StatusCodeOfHttp(int status) {
  switch (status) {
    case 400:
    case 405:
    case 413:
    case 431:
      return StatusCode::kInvalidArgument;
    case 401:
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kFailedPrecondition;
    case 503:
      return StatusCode::kUnavailable;
    case 504:
      return StatusCode::kDeadlineExceeded;
    default:
      return StatusCode::kInternal;
  }
}

Status StatusFromHttp(int status, std::string_view body) {
  if (status >= 200 && status < 300) return Status::Ok();
  std::string message;
  StatusCode code = StatusCodeOfHttp(status);
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_object()) {
    auto it = j.find("message");
    if (it != j.end() && it->is_string()) message = it->get<std::string>();
    it = j.find("code");
    if (it != j.end() && it->is_string()) {
      std::optional<StatusCode> named = StatusCodeFromName(it->get_ref<const std::string&>());
      if (named.has_value() && *named != StatusCode::kOk) code = *named;
    }
  }
  if (message.empty()) {
    message = "HTTP " + std::to_string(status) + " from the manager";
    // A short, printable excerpt: enough to debug a proxy's page, too little to leak.
    std::string excerpt;
    for (char c : body.substr(0, 80)) excerpt += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (!excerpt.empty()) message += ": " + excerpt;
  }
  return Status(code, std::move(message));
}

}  // namespace ocisecrets
