// A TCP socket listening on 127.0.0.1 at a port the kernel picks, for tests of the TLS
// transports (port 0: tests never collide).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace ocisecrets::testing {

// The listening fd (the caller owns it); *address is set to "127.0.0.1:PORT".
inline int ListenOnLoopback(std::string* address) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << "bind 127.0.0.1:0";
  EXPECT_EQ(::listen(fd, 16), 0) << "listen";
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  return fd;
}

}  // namespace ocisecrets::testing
