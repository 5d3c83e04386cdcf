// The one HTTP session (manager/api/session.h) over three stream types: a unix
// socketpair, as the daemon's unix listener uses, TCP on 127.0.0.1 port 0, and TLS over
// that TCP. The limits, deadlines and keep-alive must hold on all. Then the TLS listener
// of the real server (Server::AddTlsListener): who it admits and how it refuses.
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
#include <boost/asio/ssl.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

#include <atomic>

#include "manager/api/server.h"
#include "shared/tls_stream.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/testing/loopback.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/test_pki.h"

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
  Status StillValid(const Identity&) override { return Status::Ok(); }
  std::vector<int> transport_errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return transport_errors_;
  }

 private:
  ServerOptions options_;
  std::mutex mu_;
  std::vector<int> transport_errors_;
};

// The client end of a test connection, blocking; a read gives up after 10 s so that a
// broken session fails, never hangs.
class Client {
 public:
  virtual ~Client() = default;
  virtual bool Send(std::string_view s) = 0;
  // Bytes read into buf; 0 when the server closed; negative on a timeout or an error.
  virtual long Recv(std::span<char> buf) = 0;
};

class FdClient : public Client {
 public:
  explicit FdClient(int fd) : fd_(fd) {
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~FdClient() override { ::close(fd_); }
  bool Send(std::string_view s) override {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  long Recv(std::span<char> buf) override { return ::recv(fd_, buf.data(), buf.size(), 0); }

 private:
  int fd_;
};

// The TLS client of the product (shared/tls_stream.h).
class StreamClient : public Client {
 public:
  explicit StreamClient(std::unique_ptr<ByteStream> stream) : stream_(std::move(stream)) {}
  bool Send(std::string_view s) override {
    std::string_view parts[] = {s};
    return stream_->WriteAll(parts, Deadline()).ok();
  }
  long Recv(std::span<char> buf) override {
    auto n = stream_->ReadSome(buf, Deadline());
    return n.ok() ? static_cast<long>(*n) : -1;
  }
  ByteStream& stream() { return *stream_; }

 private:
  static ByteStream::Deadline Deadline() {
    return std::chrono::steady_clock::now() + std::chrono::seconds(10);
  }
  std::unique_ptr<ByteStream> stream_;
};

// A connected pair: the server side as the session's stream, the client side as a Client.
struct UnixPair {
  using Stream = beast::basic_stream<net::local::stream_protocol>;
  static std::pair<Stream, std::unique_ptr<Client>> Make(net::io_context& ioc) {
    net::local::stream_protocol::socket server(ioc), client(ioc);
    net::local::connect_pair(server, client);
    return {Stream(std::move(server)), std::make_unique<FdClient>(client.release())};
  }
};

struct TcpLoopback {
  using Stream = beast::tcp_stream;
  static std::pair<Stream, std::unique_ptr<Client>> Make(net::io_context& ioc) {
    net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    net::ip::tcp::socket client(ioc);
    client.connect(acceptor.local_endpoint());
    net::ip::tcp::socket server = acceptor.accept();
    return {Stream(std::move(server)), std::make_unique<FdClient>(client.release())};
  }
};

// The cluster's test PKI: one CA, a manager's certificate for the server, a node's.
struct TestPki {
  CertificateAuthority ca = testing::NewTestCa();
  testing::TestMember manager = testing::IssueMember(ca, "manager", "m00000000000000000000000001");
  testing::TestMember node = testing::IssueMember(ca, "node", "n00000000000000000000000001");

  static const TestPki& Get() {
    static const TestPki pki;
    return pki;
  }
  // The server's context under the policy, as the cluster's context() would make it.
  std::shared_ptr<net::ssl::context> ServerContext() const {
    auto ctx = testing::MustOk(MakeServerSslContext(manager.cert_pem, manager.key_pem, ca.cert_pem()),
                               "server context");
    return std::make_shared<net::ssl::context>(ctx.release());
  }
  TlsClientOptions NodeOptions() const {
    TlsClientOptions o;
    o.ca_pem = ca.cert_pem();
    o.cert_pem = node.cert_pem;
    o.key_pem = node.key_pem;
    o.require_role = "manager";
    return o;
  }
};

// TLS over TCP: the server side handshaken, the client the product's TLS stream.
struct TlsLoopback {
  using Stream = net::ssl::stream<beast::tcp_stream>;
  static std::pair<Stream, std::unique_ptr<Client>> Make(net::io_context& ioc) {
    static const std::shared_ptr<net::ssl::context> context = TestPki::Get().ServerContext();
    net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    std::optional<Stream> server;
    boost::system::error_code server_ec;
    std::thread server_side([&] {
      server.emplace(beast::tcp_stream(acceptor.accept()), *context);
      server->handshake(net::ssl::stream_base::server, server_ec);
    });
    auto client = MakeTlsStream("127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()),
                                TestPki::Get().NodeOptions());
    Status connected = client->Connect(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    server_side.join();
    EXPECT_TRUE(connected.ok()) << connected.message();
    EXPECT_FALSE(server_ec) << server_ec.message();
    return {std::move(*server), std::make_unique<StreamClient>(std::move(client))};
  }
};

template <class Pair>
class SessionTest : public ::testing::Test {
 protected:
  using Stream = typename Pair::Stream;

  SessionTest() {
    auto [stream, client] = Pair::Make(ioc_);
    client_ = std::move(client);
    auto session = std::make_shared<HttpSession<Stream>>(std::move(stream), Identity{}, &host_);
    net::co_spawn(ioc_, [session]() -> net::awaitable<void> { co_await session->Run(); },
                  net::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~SessionTest() override {
    client_.reset();
    thread_.join();  // the session ends when the client is gone: run() returns
  }

  void Send(std::string_view s) { ASSERT_TRUE(client_->Send(s)) << "send"; }
  // Everything until the server closes; "(timed out)" appended if it never does.
  std::string ReadToClose() {
    std::string got;
    char buf[4096];
    for (;;) {
      long n = client_->Recv(buf);
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
      long n = client_->Recv(buf);
      if (n <= 0) return got + "(closed or timed out)";
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

  net::io_context ioc_;
  EchoHost host_;
  std::unique_ptr<Client> client_;
  std::thread thread_;
};

using StreamTypes = ::testing::Types<UnixPair, TcpLoopback, TlsLoopback>;
class StreamNames {
 public:
  template <class T>
  static std::string GetName(int) {
    if (std::is_same_v<T, UnixPair>) return "UnixSocketpair";
    return std::is_same_v<T, TcpLoopback> ? "TcpLoopback" : "TlsLoopback";
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

// The real server with a TLS listener on 127.0.0.1, identifying peers as the cluster
// does (role from the certificate's OU, node ID from its CN, no certificate: anonymous),
// recording every refusal and every call the router audits.
class TlsListenerTest : public ::testing::Test {
 protected:
  class Audit : public AuditSink {
   public:
    void Record(const Identity& peer, const AuditEvent& event) override {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(AuditLine(peer, event));
    }
    std::mutex mu;
    std::vector<std::string> lines;
  };

  TlsListenerTest()
      : registry_(&store_, &sealer_, RegistryOptions{}),
        router_(&registry_, &audit_, RouterOptions{}),
        authorizer_(testing::MustOk(Authorizer::Open("", "l00000000000000000000000001"), "authorizer")),
        server_(&router_, &authorizer_, Options()) {
    int fd = testing::ListenOnLoopback(&address_);
    TlsServerConfig config;
    config.context = [] { return TestPki::Get().ServerContext(); };
    config.identify = [](X509* cert, std::string_view) -> Result<Identity> {
      Identity id;
      if (cert == nullptr) {
        id.anonymous = true;
        return id;
      }
      ASSIGN_OR_RETURN(CertInfo info, InspectCertificate(cert), "");
      id.role = info.subject.role == "manager" ? Role::kManager : Role::kNode;
      id.node_id = info.subject.node_id;
      return id;
    };
    config.still_valid = [this](const Identity& id) {
      return removed_ ? Status::PermissionDenied("permission denied: node " + id.node_id +
                                                 " was removed from the cluster")
                      : Status::Ok();
    };
    config.refused = [this](std::string_view peer, std::string_view reason) {
      std::lock_guard<std::mutex> lock(mu_);
      refusals_.push_back(std::string(peer) + " " + std::string(reason));
    };
    EXPECT_TRUE(server_.AddTlsListener(fd, std::move(config)).ok());
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~TlsListenerTest() override {
    server_.Stop();
    thread_.join();
  }
  static ServerOptions Options() {
    ServerOptions o;
    o.threads = 1;
    return o;
  }

  // The refusals so far, once there is at least one (the server reports them after its
  // alert has left, so the client may see the alert first); empty after 10 s without.
  std::vector<std::string> Refusals() {
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!refusals_.empty()) return refusals_;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return {};
  }
  std::vector<std::string> AuditLines() {
    std::lock_guard<std::mutex> lock(audit_.mu);
    return audit_.lines;
  }
  static ByteStream::Deadline Soon() { return std::chrono::steady_clock::now() + std::chrono::seconds(10); }

  // One request over a new connection with `options`.
  Result<HttpResponse> Call(TlsClientOptions options, HttpRequest request) {
    auto transport = MakeHttpTransport(MakeTlsStream(address_, std::move(options)));
    return transport->RoundTrip(request, Soon());
  }

  // A raw OpenSSL handshake with the server, the client's context set up by `configure`:
  // "ok" or OpenSSL's reason.
  std::string RawHandshake(const std::function<void(SSL_CTX*)>& configure) {
    net::io_context ioc;
    net::ip::tcp::socket socket(ioc);
    socket.connect({net::ip::make_address("127.0.0.1"),
                    static_cast<unsigned short>(std::stoi(address_.substr(10)))});
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    configure(ctx);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, socket.native_handle());
    std::string result = SSL_connect(ssl) == 1 ? "ok" : TakeSslError("failed");
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return result;
  }

  MemoryKvStore store_;
  FakeSealer sealer_;
  Registry registry_;
  Audit audit_;
  Router router_;
  Authorizer authorizer_;
  Server server_;
  std::string address_;
  std::atomic<bool> removed_{false};
  std::mutex mu_;
  std::vector<std::string> refusals_;
  std::thread thread_;
};

const HttpRequest kCreate{"POST", "/v1/secrets", R"({"Name":"pw","Data":"aHVudGVyMg=="})"};

TEST_F(TlsListenerTest, MutualTlsGivesTheIdentityIdentifyReturned) {
  auto r = Call(TestPki::Get().NodeOptions(), kCreate);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("role node may not call POST /v1/secrets"), std::string::npos) << r->body;
  auto lines = AuditLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("n00000000000000000000000001"), std::string::npos) << lines[0];
}

TEST_F(TlsListenerTest, RefusesAClientCertificateFromAnotherCa) {
  CertificateAuthority other = testing::NewTestCa();
  testing::TestMember stranger = testing::IssueMember(other, "node", "n00000000000000000000000002");
  TlsClientOptions o = TestPki::Get().NodeOptions();
  o.cert_pem = stranger.cert_pem;
  o.key_pem = stranger.key_pem;
  EXPECT_TRUE(testing::IsError(Call(o, kCreate), StatusCode::kPermissionDenied,
                               "the manager refused this node's certificate"));
  auto refusals = Refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find("not issued by this cluster's CA"), std::string::npos) << refusals[0];
  EXPECT_TRUE(AuditLines().empty());
}

TEST_F(TlsListenerTest, RefusesAnExpiredClientCertificate) {
  testing::TestMember expired =
      testing::IssueMember(TestPki::Get().ca, "node", "n00000000000000000000000003",
                           std::chrono::hours(1), testing::PkiNow() - std::chrono::hours(2));
  TlsClientOptions o = TestPki::Get().NodeOptions();
  o.cert_pem = expired.cert_pem;
  o.key_pem = expired.key_pem;
  EXPECT_TRUE(testing::IsError(Call(o, kCreate), StatusCode::kPermissionDenied,
                               "the manager refused this node's certificate"));
  auto refusals = Refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find("127.0.0.1:"), std::string::npos) << refusals[0];
  EXPECT_NE(refusals[0].find("certificate has expired"), std::string::npos) << refusals[0];
  EXPECT_TRUE(AuditLines().empty());
}

TEST_F(TlsListenerTest, PlainHttpGets400NamingTlsAndIsRefused) {
  net::io_context ioc;
  net::ip::tcp::socket socket(ioc);
  socket.connect({net::ip::make_address("127.0.0.1"),
                  static_cast<unsigned short>(std::stoi(address_.substr(10)))});
  FdClient client(socket.release());
  ASSERT_TRUE(client.Send("POST /v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"));
  std::string got;
  char buf[4096];
  for (long n; (n = client.Recv(buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
  EXPECT_NE(got.find(R"({"message":"this port speaks TLS: use https://","code":"InvalidArgument"})"),
            std::string::npos)
      << got;
  auto refusals = Refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find("not a TLS client hello"), std::string::npos) << refusals[0];
  EXPECT_TRUE(AuditLines().empty());
}

TEST_F(TlsListenerTest, RefusesTls11) {
  std::string got = RawHandshake([](SSL_CTX* ctx) {
    SSL_CTX_set_security_level(ctx, 0);  // let this client offer what the server must refuse
    SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
  });
  EXPECT_NE(got, "ok");
  auto refusals = Refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find("unsupported protocol"), std::string::npos) << refusals[0];
}

TEST_F(TlsListenerTest, RefusesNonAeadTls12Ciphers) {
  std::string got = RawHandshake([](SSL_CTX* ctx) {
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    // CBC with HMAC-SHA1, with RSA key exchange and with ECDHE (which the server's ECDSA
    // key could otherwise serve).
    SSL_CTX_set_cipher_list(ctx, "AES128-SHA:ECDHE-ECDSA-AES128-SHA");
  });
  EXPECT_NE(got, "ok");
  auto refusals = Refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find("no shared cipher"), std::string::npos) << refusals[0];
}

TEST_F(TlsListenerTest, AnOpenConnectionOfARemovedNodeGets403AtItsNextRequestThenCloses) {
  auto stream = MakeTlsStream(address_, TestPki::Get().NodeOptions());
  ASSERT_TRUE(stream->Connect(Soon()).ok());
  StreamClient client(std::move(stream));
  ASSERT_TRUE(client.Send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  char buf[4096];
  long n = client.Recv(buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)).rfind("HTTP/1.1 200 ", 0), 0u);

  removed_ = true;
  ASSERT_TRUE(client.Send("POST /v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"));
  std::string got;
  while ((n = client.Recv(buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(n, 0) << "the server closes the connection";
  EXPECT_EQ(got.rfind("HTTP/1.1 403 ", 0), 0u) << got;
  EXPECT_NE(got.find(R"({"message":"permission denied: node n00000000000000000000000001 was removed from the cluster","code":"PermissionDenied"})"),
            std::string::npos)
      << got;
  auto refusals = Refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find("was removed from the cluster"), std::string::npos) << refusals[0];
  // Every TLS call is audited (the health check too); the refused one never reached the
  // router, so nothing names the secrets route.
  for (const auto& line : AuditLines()) {
    EXPECT_EQ(line.find("/v1/secrets"), std::string::npos) << line;
    EXPECT_EQ(line.find("secret.create"), std::string::npos) << line;
  }
}

TEST_F(TlsListenerTest, APeerWithoutACertificateIsWhatIdentifySays) {
  TlsClientOptions o;
  o.ca_pem = TestPki::Get().ca.cert_pem();
  auto r = Call(o, kCreate);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 403) << r->body;
  auto lines = AuditLines();
  ASSERT_EQ(lines.size(), 1u) << "an anonymous peer reaches the router, which refuses it";
}

}  // namespace
}  // namespace ocisecrets
