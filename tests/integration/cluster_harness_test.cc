// The cluster harness's own pieces that the cluster tests lean on: a port with nothing
// behind it, a listener that never answers, forged tokens, curl's status line.
#include "tests/integration/cluster_harness.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "shared/join_token.h"

namespace ocisecrets::itest {
namespace {

// A TCP connection to 127.0.0.1:port, or -1 with errno set.
int ConnectLoopback(const std::string& addr) {
  int port = std::stoi(addr.substr(addr.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

TEST(ClusterHarnessTest, FreeLoopbackPortHasNothingListening) {
  int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  EXPECT_EQ(ConnectLoopback("127.0.0.1:" + std::to_string(port)), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
}

TEST(ClusterHarnessTest, SilentListenerTakesConnectionsAndNeverAnswers) {
  SilentTcpListener silent;
  EXPECT_EQ(silent.addr().rfind("127.0.0.1:", 0), 0u) << silent.addr();
  int fd = ConnectLoopback(silent.addr());
  ASSERT_GE(fd, 0) << "connect " << silent.addr() << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, "GET / HTTP/1.1\r\n\r\n", 18), 18);
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 300), 0) << "the silent listener answered";
  ::close(fd);
}

TEST(ClusterHarnessTest, ForgedTokensChangeOnlyTheirPart) {
  const std::string digest(kCaDigestLength, 'a');
  const std::string secret(kJoinSecretLength, 'b');
  const std::string token = FormatJoinToken({digest, secret});
  Result<JoinToken> other_ca = ParseJoinToken(WithCaDigest(token, std::string(50, 'z')));
  ASSERT_TRUE(other_ca.ok()) << other_ca.status().message();
  EXPECT_EQ(other_ca->ca_digest, std::string(50, 'z'));
  EXPECT_EQ(other_ca->secret, secret);
  Result<JoinToken> forged = ParseJoinToken(WithSecret(token, std::string(25, '0')));
  ASSERT_TRUE(forged.ok()) << forged.status().message();
  EXPECT_EQ(forged->ca_digest, digest);
  EXPECT_EQ(forged->secret, std::string(25, '0'));
}

TEST(ClusterHarnessTest, CurlReportsNoStatusWithoutAnAnswer) {
  CurlResult refused = Curl({"http://127.0.0.1:" + std::to_string(FreeLoopbackPort()) + "/"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_EQ(refused.http_status, 0);
  EXPECT_FALSE(refused.err.empty());
}

}  // namespace
}  // namespace ocisecrets::itest
