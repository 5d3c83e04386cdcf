#include "shared/http_client.h"

#include <sys/un.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdlib>
#include <span>
#include <nlohmann/json.hpp>
#include <vector>

#include "shared/names.h"
#include "shared/secure_buffer.h"

namespace ocisecrets {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t kBodyLimit = 8 * 1024 * 1024;
constexpr std::size_t kHeaderLimit = 64 * 1024;

using SteadyTime = std::chrono::steady_clock::time_point;
// A read buffer whose whole capacity is wiped when freed: responses may hold payloads.
using WipedChars = std::vector<char, WipingAllocator<char>>;

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

// HTTP/1.1 over any ByteStream: serializes the request, parses the answer (Content-Length,
// chunked, or delimited by the close), keeps the connection alive when the server does,
// and retries once on a fresh connection when a kept-alive one turns out stale.
class HttpTransport : public Transport {
 public:
  explicit HttpTransport(std::unique_ptr<ByteStream> stream) : stream_(std::move(stream)) {}
  ~HttpTransport() override { stream_->Close(); }
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  Result<HttpResponse> RoundTrip(const HttpRequest& req, SteadyTime deadline) override {
    if (req.method.empty() || HasControlOrSpace(req.method) || req.target.empty() ||
        req.target[0] != '/' || HasControlOrSpace(req.target)) {
      return Status::InvalidArgument("bad HTTP request line");
    }
    budget_ms_ = MillisLeft(deadline);
    // At most two tries: a reused keep-alive connection the server has closed meanwhile
    // fails before anything was processed, and then one fresh connection is tried.
    for (int attempt = 0;; ++attempt) {
      bool reused = stream_->is_open();
      if (reused && !stream_->IsIdleAndUsable()) {
        stream_->Close();
        reused = false;
      }
      if (!stream_->is_open()) {
        Status connected = stream_->Connect(deadline);
        if (!connected.ok()) return Worded(connected);
      }
      Failure failure = Failure::kNone;
      Status sent = Send(req, deadline, &failure);
      if (!sent.ok()) {
        stream_->Close();
        if (reused && attempt == 0 && failure == Failure::kStale) continue;
        return Worded(sent);
      }
      HttpResponse response;
      bool keep_alive = false;
      Status got = Receive(deadline, &response, &keep_alive, &failure);
      if (!got.ok()) {
        stream_->Close();
        if (reused && attempt == 0 && failure == Failure::kStale && IsIdempotent(req.method)) {
          continue;
        }
        return Worded(got);
      }
      if (!keep_alive) stream_->Close();
      return response;
    }
  }

 private:
  // The stream's bare DeadlineExceeded, worded with this round trip's budget.
  Status Worded(const Status& s) const {
    if (s.code() != StatusCode::kDeadlineExceeded) return s;
    return Status::DeadlineExceeded("no answer from the manager within " +
                                    std::to_string(budget_ms_) + " ms");
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
    const std::string_view parts[2] = {head, req.body};
    Status s = stream_->WriteAll(std::span(parts, req.body.empty() ? 1 : 2), deadline);
    if (!s.ok()) *failure = stream_->failed_on_stale_connection() ? Failure::kStale : Failure::kFatal;
    return s;
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
      Result<std::size_t> n = stream_->ReadSome(std::span(chunk), deadline);
      if (!n.ok()) {
        if (!got_any && stream_->failed_on_stale_connection()) *failure = Failure::kStale;
        result = n.status();
        break;
      }
      if (*n > 0) {
        got_any = true;
        pending.insert(pending.end(), chunk, chunk + *n);
        continue;
      }
      if (!got_any) {
        *failure = Failure::kStale;
        result = Status::Unavailable("the manager at " + stream_->address() +
                                     " closed the connection without an answer");
        break;
      }
      if (parser.is_header_done() && pending.empty()) {
        boost::system::error_code ec;
        parser.put_eof(ec);  // ends a body delimited by the connection's close
        if (!ec) break;
      }
      result = Status::DataLoss("the manager at " + stream_->address() +
                                " closed the connection in the middle of an answer");
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

  std::unique_ptr<ByteStream> stream_;
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
  return MakeHttpTransport(MakeUnixStream(std::string(path)));
}

std::unique_ptr<Transport> MakeHttpTransport(std::unique_ptr<ByteStream> stream) {
  return std::make_unique<HttpTransport>(std::move(stream));
}

std::string DefaultHost() {
  const char* env = std::getenv(std::string(kHostEnv).c_str());
  if (env != nullptr && *env != '\0') return env;
  return std::string(kDefaultManagerAddress);
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
