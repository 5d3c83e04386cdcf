// The TLS client stream (shared/tls_stream.h) against small OpenSSL servers in threads:
// the join's CA pin, the required role, deadlines, and kept-alive connections.
#include "shared/tls_stream.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "tests/testing/loopback.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/test_pki.h"

namespace ocisecrets {
namespace {

using testing::IsError;

ByteStream::Deadline Soon() { return std::chrono::steady_clock::now() + std::chrono::seconds(10); }

// A TCP listener on 127.0.0.1 that serves one connection with `serve(fd)` in a thread.
class OneConnectionServer {
 public:
  explicit OneConnectionServer(std::function<void(int)> serve) {
    listen_fd_ = testing::ListenOnLoopback(&address_);
    thread_ = std::thread([this, serve] {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      serve(fd);
      ::close(fd);
    });
  }
  ~OneConnectionServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  const std::string& address() const { return address_; }

 private:
  int listen_fd_ = -1;
  std::string address_;
  std::thread thread_;
};

struct Pki {
  CertificateAuthority ca = testing::NewTestCa();
  testing::TestMember manager = testing::IssueMember(ca, "manager", "m00000000000000000000000001");
  testing::TestMember node = testing::IssueMember(ca, "node", "n00000000000000000000000001");
};

// What a TLS test server saw.
struct Seen {
  std::atomic<bool> handshake_started{false};
  std::atomic<bool> handshake_done{false};
  std::atomic<long> request_bytes{0};
};

// Serves TLS with `member`'s certificate: the handshake, then (if it succeeded) one
// request answered "ok", then closes after `linger` (the client's keep-alive window).
std::function<void(int)> TlsServe(const Pki& pki, const testing::TestMember& member, Seen* seen,
                                  std::chrono::milliseconds linger = std::chrono::milliseconds(0)) {
  return [&pki, &member, seen, linger](int fd) {
    auto ctx = testing::MustOk(MakeServerSslContext(member.cert_pem, member.key_pem, pki.ca.cert_pem()),
                               "server context");
    SSL* ssl = SSL_new(ctx.get());
    SSL_set_fd(ssl, fd);
    seen->handshake_started = true;
    if (SSL_accept(ssl) == 1) {
      seen->handshake_done = true;
      char buf[4096];
      std::string got;
      int n;
      while (got.find("\r\n\r\n") == std::string::npos && (n = SSL_read(ssl, buf, sizeof(buf))) > 0) {
        got.append(buf, static_cast<std::size_t>(n));
      }
      seen->request_bytes = static_cast<long>(got.size());
      constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      SSL_write(ssl, kOk.data(), static_cast<int>(kOk.size()));
      std::this_thread::sleep_for(linger);
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
  };
}

TlsClientOptions PinnedTo(std::string digest) {
  TlsClientOptions o;
  o.pin_ca_digest = std::move(digest);
  o.require_role = "manager";
  return o;
}

const HttpRequest kHealth{"GET", "/v1/health", ""};

TEST(TlsStreamTest, APinnedCaThatMatchesIsAccepted) {
  Pki pki;
  Seen seen;
  OneConnectionServer server(TlsServe(pki, pki.manager, &seen));
  TlsClientOptions pinned = PinnedTo(pki.ca.digest());
  auto t = MakeTransport("https://" + server.address(), &pinned);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto r = (*t)->RoundTrip(kHealth, Soon());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "ok");
}

TEST(TlsStreamTest, APinnedCaThatDiffersIsRefusedBeforeAnyRequestByte) {
  Pki pki;
  CertificateAuthority other = testing::NewTestCa();
  Seen seen;
  OneConnectionServer server(TlsServe(pki, pki.manager, &seen));
  auto stream = MakeTlsStream(server.address(), PinnedTo(other.digest()));
  EXPECT_TRUE(IsError(stream->Connect(Soon()), StatusCode::kPermissionDenied,
                      "the manager's CA does not match the join token (digest " + pki.ca.digest() +
                          ", token wants " + other.digest() + ")"));
  EXPECT_FALSE(stream->is_open());
  stream.reset();
  EXPECT_TRUE(seen.handshake_started);
  EXPECT_FALSE(seen.handshake_done);
  EXPECT_EQ(seen.request_bytes, 0);
}

TEST(TlsStreamTest, AServerWithANodeCertificateIsRefusedWhenAManagerIsRequired) {
  Pki pki;
  Seen seen;
  OneConnectionServer server(TlsServe(pki, pki.node, &seen));
  TlsClientOptions o;
  o.ca_pem = pki.ca.cert_pem();
  o.require_role = "manager";
  auto stream = MakeTlsStream(server.address(), o);
  EXPECT_TRUE(IsError(stream->Connect(Soon()), StatusCode::kPermissionDenied,
                      "TLS handshake with " + server.address() +
                          " failed: the server's certificate has role node, not manager"));
  stream.reset();
  EXPECT_EQ(seen.request_bytes, 0);
}

TEST(TlsStreamTest, AServerThatNeverAnswersTheHandshakeMeetsTheDeadline) {
  std::atomic<bool> done{false};
  OneConnectionServer server([&](int) {
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  TlsClientOptions o;
  o.ca_pem = testing::NewTestCa().cert_pem();
  auto stream = MakeTlsStream(server.address(), o);
  EXPECT_TRUE(IsError(stream->Connect(std::chrono::steady_clock::now() + std::chrono::milliseconds(200)),
                      StatusCode::kDeadlineExceeded, "deadline passed"));
  done = true;
}

TEST(TlsStreamTest, AnUnreachableManagerIsUnavailableNamingIt) {
  std::string address;
  ::close(testing::ListenOnLoopback(&address));  // nothing listens there now
  TlsClientOptions o;
  o.ca_pem = testing::NewTestCa().cert_pem();
  EXPECT_TRUE(IsError(MakeTlsStream(address, o)->Connect(Soon()), StatusCode::kUnavailable,
                      "cannot reach the manager at " + address + ": Connection refused"));
}

TEST(TlsStreamTest, AKeptAliveConnectionIsUsableUntilTheServerClosesIt) {
  Pki pki;
  Seen seen;
  OneConnectionServer server(TlsServe(pki, pki.manager, &seen, std::chrono::milliseconds(300)));
  TlsClientOptions o;
  o.ca_pem = pki.ca.cert_pem();
  o.require_role = "manager";
  auto stream = MakeTlsStream(server.address(), o);
  ASSERT_TRUE(stream->Connect(Soon()).ok());
  constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string_view parts[] = {kRequest};
  ASSERT_TRUE(stream->WriteAll(parts, Soon()).ok());
  std::string got;
  char buf[256];
  while (got.find("ok") == std::string::npos) {
    auto n = stream->ReadSome(buf, Soon());
    ASSERT_TRUE(n.ok() && *n > 0);
    got.append(buf, *n);
  }
  EXPECT_TRUE(stream->IsIdleAndUsable()) << "the server has not closed yet";
  bool usable = true;
  for (int i = 0; i < 1000 && usable; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    usable = stream->IsIdleAndUsable();
  }
  EXPECT_FALSE(usable) << "the server's close_notify makes it unusable";
}

TEST(TlsStreamTest, MakeTransportChecksHostAndOptionsBeforeConnecting) {
  TlsClientOptions none;
  EXPECT_TRUE(IsError(MakeTransport("https://127.0.0.1:7443", nullptr), StatusCode::kInvalidArgument,
                      "needs TLS certificates"));
  EXPECT_TRUE(IsError(MakeTransport("https://127.0.0.1:7443", &none), StatusCode::kInvalidArgument,
                      "TLS needs the cluster's CA certificate or a join token's digest"));
  TlsClientOptions o;
  o.ca_pem = testing::NewTestCa().cert_pem();
  EXPECT_TRUE(IsError(MakeTransport("https://127.0.0.1", &o), StatusCode::kInvalidArgument,
                      "want HOST:PORT or [IPv6]:PORT"));
  EXPECT_TRUE(IsError(MakeTransport("https://[::1:7443", &o), StatusCode::kInvalidArgument,
                      "want HOST:PORT or [IPv6]:PORT"));
  EXPECT_TRUE(MakeTransport("https://[::1]:7443/", &o).ok());
  EXPECT_TRUE(MakeTransport("unix:///run/x.sock", nullptr).ok());
}

}  // namespace
}  // namespace ocisecrets
