// The one HTTP session (manager/api/session.h) over two stream types: a unix socketpair,
// as the daemon's listener uses, and TCP on 127.0.0.1 port 0, standing in for the TLS
// listener to come. The limits, deadlines and keep-alive must hold on both.
#include "manager/api/session.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ocisecrets {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using std::chrono::milliseconds;

// Answers every request inline with its method, target and body size.
class EchoHost : public SessionHost {
 public:
  EchoHost() {
    options_.idle_timeout = milliseconds(100);
    options_.request_timeout = milliseconds(100);
    options_.header_limit = 1024;
    options_.body_limit = 64;
  }
  const ServerOptions& options() const override { return options_; }
  bool stopping() const override { return false; }
  net::awaitable<Response> Handle(const Request& request, const Identity&) override {
    Response r;
    r.body = request.method + " " + request.target + " " + std::to_string(request.body.size());
    co_return r;
  }
  void RecordTransportError(int status) override {
    std::lock_guard<std::mutex> lock(mu_);
    transport_errors_.push_back(status);
  }
  std::vector<int> transport_errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return transport_errors_;
  }

 private:
  ServerOptions options_;
  std::mutex mu_;
  std::vector<int> transport_errors_;
};

// A connected pair: the server side as the session's stream, the client side as a
// blocking fd (reads give up after 10 s so that a broken session fails, never hangs).
struct UnixPair {
  using Stream = beast::basic_stream<net::local::stream_protocol>;
  static std::pair<Stream, int> Make(net::io_context& ioc) {
    net::local::stream_protocol::socket server(ioc), client(ioc);
    net::local::connect_pair(server, client);
    return {Stream(std::move(server)), client.release()};
  }
};

struct TcpLoopback {
  using Stream = beast::tcp_stream;
  static std::pair<Stream, int> Make(net::io_context& ioc) {
    net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    net::ip::tcp::socket client(ioc);
    client.connect(acceptor.local_endpoint());
    net::ip::tcp::socket server = acceptor.accept();
    return {Stream(std::move(server)), client.release()};
  }
};

template <class Pair>
class SessionTest : public ::testing::Test {
 protected:
  using Stream = typename Pair::Stream;

  SessionTest() {
    auto [stream, fd] = Pair::Make(ioc_);
    client_ = fd;
    timeval tv{10, 0};
    ::setsockopt(client_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    auto session = std::make_shared<HttpSession<Stream>>(std::move(stream), Identity{}, &host_);
    net::co_spawn(ioc_, [session]() -> net::awaitable<void> { co_await session->Run(); },
                  net::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~SessionTest() override {
    ::close(client_);
    thread_.join();  // the session ends when the client is gone: run() returns
  }

  void Send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(client_, s.data(), s.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << "send";
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Everything until the server closes; "(timed out)" appended if it never does.
  std::string ReadToClose() {
    std::string got;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(client_, buf, sizeof(buf), 0);
      if (n == 0) return got;
      if (n < 0) return got + "(timed out)";
      got.append(buf, static_cast<std::size_t>(n));
    }
  }
  // Reads until `end` has arrived (or the close).
  std::string ReadUntil(std::string_view end) {
    std::string got;
    char buf[4096];
    while (got.find(end) == std::string::npos) {
      ssize_t n = ::recv(client_, buf, sizeof(buf), 0);
      if (n <= 0) return got + "(closed or timed out)";
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

  net::io_context ioc_;
  EchoHost host_;
  int client_ = -1;
  std::thread thread_;
};

using StreamTypes = ::testing::Types<UnixPair, TcpLoopback>;
class StreamNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, UnixPair> ? "UnixSocketpair" : "TcpLoopback";
  }
};
TYPED_TEST_SUITE(SessionTest, StreamTypes, StreamNames);

TYPED_TEST(SessionTest, ServesSeveralRequestsOnOneKeptAliveConnection) {
  this->Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string first = this->ReadUntil("GET /a 0");
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << first;
  EXPECT_EQ(first.find("Connection: close"), std::string::npos) << first;
  this->Send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  std::string second = this->ReadUntil("POST /b 3");
  EXPECT_NE(second.find("Content-Length: 9\r\n"), std::string::npos) << second;
}

TYPED_TEST(SessionTest, HeadersOverTheLimitAre431AndClose) {
  this->Send("GET / HTTP/1.1\r\nX-Big: " + std::string(2048, 'a') + "\r\n\r\n");
  std::string got = this->ReadToClose();
  EXPECT_EQ(got.rfind("HTTP/1.1 431 ", 0), 0u) << got;
  EXPECT_NE(got.find(R"({"message":"request headers are larger than 1 KiB","code":"InvalidArgument"})"),
            std::string::npos)
      << got;
  EXPECT_EQ(this->host_.transport_errors(), std::vector<int>{431});
}

TYPED_TEST(SessionTest, BodyOverTheLimitIs413AndClose) {
  this->Send("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n" + std::string(65, 'x'));
  std::string got = this->ReadToClose();
  EXPECT_EQ(got.rfind("HTTP/1.1 413 ", 0), 0u) << got;
  EXPECT_NE(got.find(R"("message":"request body is larger than 64 bytes","code":"InvalidArgument")"),
            std::string::npos)
      << got;
}

TYPED_TEST(SessionTest, MalformedHttpIs400AndClose) {
  this->Send("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
  std::string got = this->ReadToClose();
  EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
  EXPECT_NE(got.find(R"("message":"malformed HTTP request: )"), std::string::npos) << got;
  EXPECT_NE(got.find(R"("code":"InvalidArgument")"), std::string::npos) << got;
}

TYPED_TEST(SessionTest, AnswersExpectContinueBeforeTheBody) {
  this->Send("POST /c HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  std::string cont = this->ReadUntil("\r\n\r\n");
  EXPECT_EQ(cont, "HTTP/1.1 100 Continue\r\n\r\n");
  this->Send("hi");
  EXPECT_NE(this->ReadUntil("POST /c 2").find("HTTP/1.1 200 OK"), std::string::npos);
}

TYPED_TEST(SessionTest, AnIdleConnectionIsClosedByTheIdleDeadline) {
  EXPECT_EQ(this->ReadToClose(), "") << "closed without an answer";
}

TYPED_TEST(SessionTest, ARequestThatStallsIsClosedByTheRequestDeadline) {
  this->Send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(this->ReadToClose(), "") << "closed without an answer";
}

TYPED_TEST(SessionTest, ConnectionCloseIsHonoured) {
  this->Send("GET /d HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::string got = this->ReadToClose();
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("GET /d 0"), std::string::npos) << got;
}

}  // namespace
}  // namespace ocisecrets
