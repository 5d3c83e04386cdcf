// The unix transport against a tiny scripted server on a real socket in a temp dir.
#include "shared/http_client.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace ocisecrets {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

bool WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads one request (head + Content-Length body); "" when the peer closed first.
std::string ReadRequest(int fd) {
  std::string data;
  char buf[4096];
  std::size_t head_end = std::string::npos;
  std::size_t want = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        auto cl = data.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) want = std::stoul(data.substr(cl + 16));
      }
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + want) return data;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return "";
    data.append(buf, static_cast<std::size_t>(n));
  }
}

// Serves each accepted connection with `handler` on a background thread, one at a time.
class ScriptedServer {
 public:
  using Handler = std::function<void(int conn, int index)>;

  explicit ScriptedServer(Handler handler) : handler_(std::move(handler)) {
    char tmpl[] = "/tmp/ocs-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/s.sock";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    EXPECT_EQ(::pipe(stop_), 0);
    thread_ = std::thread([this] { Loop(); });
  }
  ~ScriptedServer() {
    (void)!::write(stop_[1], "x", 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
    std::filesystem::remove_all(dir_);
  }

  std::string host() const { return "unix://" + path_; }
  int accepted() const { return accepted_.load(); }

 private:
  void Loop() {
    for (;;) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) continue;
      if (p[1].revents != 0) return;
      int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      int index = accepted_++;
      handler_(conn, index);
      ::close(conn);
    }
  }

  Handler handler_;
  std::string dir_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::unique_ptr<Transport> Connect(const std::string& host) {
  auto t = MakeTransport(host);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return std::move(t).value();
}

steady_clock::time_point In(milliseconds ms) { return steady_clock::now() + ms; }

const HttpRequest kGetHealth{"GET", "/v1/health", ""};

TEST(HttpClientTest, ReadsAContentLengthAnswer) {
  std::string seen;
  ScriptedServer server([&](int conn, int) {
    seen = ReadRequest(conn);
    WriteAll(conn, "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"Status\":\"ok\"}");
  });
  auto t = Connect(server.host());
  auto r = t->RoundTrip({"POST", "/v1/secrets", "{\"a\":1}"}, In(milliseconds(5000)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"Status\":\"ok\"}");
  EXPECT_EQ(seen.rfind("POST /v1/secrets HTTP/1.1\r\n", 0), 0u) << seen;
  EXPECT_NE(seen.find("Content-Length: 7\r\n"), std::string::npos);
  EXPECT_NE(seen.find("\r\n\r\n{\"a\":1}"), std::string::npos);
}

TEST(HttpClientTest, TimesOutWhenTheServerNeverAnswers) {
  std::atomic<bool> done{false};
  ScriptedServer server([&](int conn, int) {
    ReadRequest(conn);
    while (!done) ::poll(nullptr, 0, 10);
  });
  auto t = Connect(server.host());
  auto r = t->RoundTrip(kGetHealth, In(milliseconds(200)));
  done = true;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "no answer from the manager within 200 ms");
}

TEST(HttpClientTest, GarbageAnswerIsDataLoss) {
  ScriptedServer server([&](int conn, int) {
    ReadRequest(conn);
    WriteAll(conn, "hello, this is not HTTP\r\n\r\n");
  });
  auto t = Connect(server.host());
  auto r = t->RoundTrip(kGetHealth, In(milliseconds(5000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("malformed answer from the manager"), std::string::npos)
      << r.status().message();
}

TEST(HttpClientTest, AnswerCutShortIsAnError) {
  ScriptedServer server([&](int conn, int) {
    ReadRequest(conn);
    WriteAll(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial");
  });
  auto t = Connect(server.host());
  auto r = t->RoundTrip(kGetHealth, In(milliseconds(5000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("in the middle of an answer"), std::string::npos);
}

TEST(HttpClientTest, ReadsAChunkedAnswerSentInPieces) {
  ScriptedServer server([&](int conn, int) {
    ReadRequest(conn);
    // Split inside the header, inside a chunk size and inside chunk data.
    const char* pieces[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Enc",  "oding: chunked\r\n\r\n", "5\r\nhel", "lo\r\n", "1",
        "\r\n,\r\n6\r\n world\r\n0\r\n\r\n"};
    for (const char* p : pieces) {
      WriteAll(conn, p);
      ::poll(nullptr, 0, 5);
    }
  });
  auto t = Connect(server.host());
  auto r = t->RoundTrip(kGetHealth, In(milliseconds(5000)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "hello, world");
}

TEST(HttpClientTest, ReadsABodyDelimitedByClose) {
  ScriptedServer server([&](int conn, int) {
    ReadRequest(conn);
    WriteAll(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
  });
  auto t = Connect(server.host());
  auto r = t->RoundTrip(kGetHealth, In(milliseconds(5000)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "until the end");
}

TEST(HttpClientTest, RefusesAnAnswerOverTheBodyLimit) {
  ScriptedServer server([&](int conn, int) {
    ReadRequest(conn);
    WriteAll(conn, "HTTP/1.1 200 OK\r\nContent-Length: 9437184\r\n\r\n");
  });
  auto t = Connect(server.host());
  auto r = t->RoundTrip(kGetHealth, In(milliseconds(5000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
}

TEST(HttpClientTest, ReusesOneConnectionForSeveralRequests) {
  std::atomic<int> requests{0};
  ScriptedServer server([&](int conn, int) {
    while (!ReadRequest(conn).empty()) {
      ++requests;
      WriteAll(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  auto t = Connect(server.host());
  for (int i = 0; i < 3; ++i) {
    auto r = t->RoundTrip(kGetHealth, In(milliseconds(5000)));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->body, "ok");
  }
  t.reset();  // closes the connection, which ends the handler's loop
  EXPECT_EQ(requests, 3);
}

TEST(HttpClientTest, ReconnectsAfterTheServerClosedTheConnection) {
  ScriptedServer server([&](int conn, int) {
    ReadRequest(conn);
    WriteAll(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    // Keep-alive was promised, but the connection ends here (an idle timeout).
  });
  auto t = Connect(server.host());
  for (int i = 0; i < 2; ++i) {
    auto r = t->RoundTrip(kGetHealth, In(milliseconds(5000)));
    ASSERT_TRUE(r.ok()) << "request " << i << ": " << r.status().message();
  }
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClientTest, MissingSocketIsUnavailableNamingTheHost) {
  auto t = Connect("unix:///tmp/ocs-does-not-exist/none.sock");
  auto r = t->RoundTrip(kGetHealth, In(milliseconds(1000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "cannot reach the manager at unix:///tmp/ocs-does-not-exist/none.sock: "
            "No such file or directory (ENOENT)");
}

TEST(HttpClientTest, RefusesARequestLineWithControlCharacters) {
  auto t = Connect("/tmp/ocs-unused.sock");
  auto r = t->RoundTrip({"GET", "/v1/health HTTP/1.1\r\nX: y", ""}, In(milliseconds(1000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

// A ByteStream in memory: each connection answers with its script, `step` bytes per read;
// a connection marked stale_on_reuse fails its second write as a socket the server
// closed while it was kept alive does.
class ScriptedStream : public ByteStream {
 public:
  struct Connection {
    std::string answer;
    bool stale_on_reuse = false;
  };
  ScriptedStream(std::vector<Connection> connections, std::size_t step, std::string* sent)
      : connections_(std::move(connections)), step_(step), sent_(sent) {}

  Status Connect(Deadline) override {
    if (next_ >= connections_.size()) return Status::Unavailable("no more connections");
    current_ = connections_[next_++];
    writes_ = 0;
    open_ = true;
    return Status::Ok();
  }
  bool is_open() const override { return open_; }
  bool IsIdleAndUsable() override { return open_; }
  Status WriteAll(std::span<const std::string_view> parts, Deadline) override {
    stale_ = current_.stale_on_reuse && writes_++ > 0;
    if (stale_) return Status::Unavailable("broken pipe");
    for (auto p : parts) sent_->append(p);
    return Status::Ok();
  }
  Result<std::size_t> ReadSome(std::span<char> buf, Deadline deadline) override {
    stale_ = false;
    if (std::chrono::steady_clock::now() >= deadline) return Status::DeadlineExceeded("late");
    std::size_t n = std::min({step_, buf.size(), current_.answer.size()});
    std::memcpy(buf.data(), current_.answer.data(), n);
    current_.answer.erase(0, n);
    return n;
  }
  void Close() override { open_ = false; }
  bool failed_on_stale_connection() const override { return stale_; }
  const std::string& address() const override { return address_; }

  std::size_t connects() const { return next_; }

 private:
  std::vector<Connection> connections_;
  std::size_t step_;
  std::string* sent_;
  Connection current_;
  std::size_t next_ = 0;
  int writes_ = 0;
  bool open_ = false;
  bool stale_ = false;
  std::string address_ = "test://scripted";
};

constexpr char kOkAnswer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST(HttpFramingTest, ParsesAnAnswerArrivingOneByteAtATimeFromAnyStream) {
  std::string sent;
  auto t = MakeHttpTransport(
      std::make_unique<ScriptedStream>(std::vector<ScriptedStream::Connection>{{kOkAnswer}}, 1,
                                       &sent));
  auto r = t->RoundTrip({"POST", "/v1/leases", "{}"}, In(milliseconds(5000)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(sent.rfind("POST /v1/leases HTTP/1.1\r\n", 0), 0u) << sent;
  EXPECT_NE(sent.find("Content-Length: 2\r\n\r\n{}"), std::string::npos) << sent;
}

TEST(HttpFramingTest, RetriesOnceOnAFreshConnectionWhenTheKeptOneWasStale) {
  std::string sent;
  auto stream = std::make_unique<ScriptedStream>(
      std::vector<ScriptedStream::Connection>{{kOkAnswer, true}, {kOkAnswer}}, 64, &sent);
  ScriptedStream* s = stream.get();
  auto t = MakeHttpTransport(std::move(stream));
  for (int i = 0; i < 2; ++i) {
    auto r = t->RoundTrip({"POST", "/v1/leases", "{}"}, In(milliseconds(5000)));
    ASSERT_TRUE(r.ok()) << "request " << i << ": " << r.status().message();
  }
  EXPECT_EQ(s->connects(), 2u);
}

TEST(HttpFramingTest, TheStreamsDeadlineIsWordedWithTheBudget) {
  std::string sent;
  auto t = MakeHttpTransport(std::make_unique<ScriptedStream>(
      std::vector<ScriptedStream::Connection>{{kOkAnswer}}, 1, &sent));
  auto r = t->RoundTrip(kGetHealth, In(milliseconds(-1)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "no answer from the manager within 0 ms");
}

TEST(MakeTransportTest, AcceptsUnixUrlsAndBarePathsOnly) {
  struct Case {
    const char* description;
    const char* host;
    bool ok;
    const char* message;
  } cases[] = {
      {"unix url", "unix:///run/oci-secrets/manager.sock", true, ""},
      {"bare absolute path", "/run/oci-secrets/manager.sock", true, ""},
      {"https is reserved", "https://manager:2377", false, "https transport not available yet"},
      {"relative unix path", "unix://manager.sock", false,
       "bad host 'unix://manager.sock': the socket path must be absolute"},
      {"unknown scheme", "tcp://1.2.3.4:80", false,
       "bad host 'tcp://1.2.3.4:80': want unix:///PATH or https://HOST:PORT"},
      {"empty", "", false, "bad host '': want unix:///PATH or https://HOST:PORT"},
  };
  for (const auto& c : cases) {
    auto t = MakeTransport(c.host);
    EXPECT_EQ(t.ok(), c.ok) << c.description;
    if (!c.ok) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << c.description;
      EXPECT_EQ(t.status().message(), c.message) << c.description;
    }
  }
}

TEST(MakeTransportTest, RefusesASocketPathTooLongForSunPath) {
  auto t = MakeTransport("unix:///" + std::string(120, 'a'));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("longer than 107 bytes"), std::string::npos);
}

TEST(DefaultHostTest, ComesFromTheEnvironmentElseTheStandardSocket) {
  ::unsetenv("OCI_SECRETS_HOST");
  EXPECT_EQ(DefaultHost(), "unix:///run/oci-secrets/manager.sock");
  ::setenv("OCI_SECRETS_HOST", "unix:///tmp/ocs-x/m.sock", 1);
  EXPECT_EQ(DefaultHost(), "unix:///tmp/ocs-x/m.sock");
  ::setenv("OCI_SECRETS_HOST", "", 1);
  EXPECT_EQ(DefaultHost(), "unix:///run/oci-secrets/manager.sock");
  ::unsetenv("OCI_SECRETS_HOST");
}

// The body's code decides (409 told apart by it alone); without a valid one, an older
// server's answer, the HTTP status alone does, whatever the message says.
TEST(StatusFromHttpTest, TakesTheBodysCodeElseMapsTheStatusAndKeepsTheMessage) {
  struct Case {
    const char* description;
    int status;
    const char* body;
    StatusCode code;
    const char* message;
  } cases[] = {
      {"409 named AlreadyExists", 409, R"({"message":"m","code":"AlreadyExists"})",
       StatusCode::kAlreadyExists, "m"},
      {"409 named FailedPrecondition, whatever the text", 409,
       R"({"message":"secret x already exists","code":"FailedPrecondition"})",
       StatusCode::kFailedPrecondition, "secret x already exists"},
      {"500 named DataLoss", 500, R"({"message":"m","code":"DataLoss"})", StatusCode::kDataLoss,
       "m"},
      {"500 named IOError", 500, R"({"message":"m","code":"IOError"})", StatusCode::kIOError, "m"},
      {"bogus code: by status", 409, R"({"message":"m","code":"Conflict"})",
       StatusCode::kFailedPrecondition, "m"},
      {"wrong case: by status", 404, R"({"message":"m","code":"notfound"})",
       StatusCode::kNotFound, "m"},
      {"OK is no error code: by status", 403, R"({"message":"m","code":"OK"})",
       StatusCode::kPermissionDenied, "m"},
      {"code not a string: by status", 400, R"({"message":"m","code":3})",
       StatusCode::kInvalidArgument, "m"},
      {"bad input", 400, R"({"message":"invalid name"})", StatusCode::kInvalidArgument,
       "invalid name"},
      {"not allowed", 403, R"({"message":"permission denied: uid 65534 is not an admin"})",
       StatusCode::kPermissionDenied, "permission denied: uid 65534 is not an admin"},
      {"missing", 404, R"({"message":"secret x not found"})", StatusCode::kNotFound,
       "secret x not found"},
      {"name taken, no code: by status alone", 409, R"({"message":"secret x already exists"})",
       StatusCode::kFailedPrecondition, "secret x already exists"},
      {"in use", 409, R"({"message":"secret 'x' is in use by the following service: redis"})",
       StatusCode::kFailedPrecondition, "secret 'x' is in use by the following service: redis"},
      {"too large", 413, R"({"message":"body too large"})", StatusCode::kInvalidArgument,
       "body too large"},
      {"sealed", 503, R"({"message":"manager is sealed"})", StatusCode::kUnavailable,
       "manager is sealed"},
      {"no json", 502, "<html>bad gateway</html>", StatusCode::kInternal,
       "HTTP 502 from the manager: <html>bad gateway</html>"},
      {"empty body", 500, "", StatusCode::kInternal, "HTTP 500 from the manager"},
  };
  for (const auto& c : cases) {
    Status s = StatusFromHttp(c.status, c.body);
    EXPECT_EQ(s.code(), c.code) << c.description;
    EXPECT_EQ(s.message(), c.message) << c.description;
  }
  EXPECT_TRUE(StatusFromHttp(204, "").ok());
}

}  // namespace
}  // namespace ocisecrets
