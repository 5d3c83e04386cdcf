#include "tests/bench/load_generator.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/bench_runner.h"
#include "tests/bench/unix_http.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::bench {
namespace {

using ::ocisecrets::testing::IsError;
using ::ocisecrets::testing::TempDir;  // the tests' one, not the benchmarks' own

// A tiny HTTP server on a unix socket: a thread per connection, each request (no body
// expected beyond Content-Length) answered with `answer`. Counts the requests it saw.
class FakeServer {
 public:
  FakeServer(std::string path, std::string answer) : path_(std::move(path)), answer_(std::move(answer)) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 64), 0);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FakeServer() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : workers_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  int requests() const { return requests_; }

 private:
  void Accept() {
    while (!stop_) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    std::string in;
    char buf[4096];
    while (true) {
      auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t len = 0;
        auto cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) len = std::stoul(in.substr(cl + 16));
        if (in.size() >= end + 4 + len) {
          in.erase(0, end + 4 + len);
          ++requests_;
          if (::send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL) < 0) return;
          continue;
        }
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
    }
  }

  std::string path_;
  std::string answer_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::vector<int> fds_;
};

TEST(RunLoadTest, CountsAnswersOfEveryConnectionUpToTheLimit) {
  TempDir dir;
  FakeServer server(dir.path() + "/s.sock", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  LoadSpec spec;
  spec.socket = dir.path() + "/s.sock";
  spec.connections = 8;
  spec.warmup = std::chrono::milliseconds(0);
  spec.duration = std::chrono::seconds(60);
  spec.max_requests = 200;
  std::vector<int> per_conn(8);
  spec.request = [&](int conn, std::uint64_t) {
    ++per_conn[static_cast<std::size_t>(conn)];
    return FormatRequest("POST", "/v1/leases", "{\"ContainerID\":\"x\"}");
  };
  auto r = RunLoad(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->completed, 200u);
  EXPECT_LE(r->completed, 200u + 8u) << "stops once the limit is reached";
  EXPECT_EQ(r->latency_ms.size(), r->completed);
  EXPECT_EQ(r->unexpected, 0u);
  EXPECT_EQ(static_cast<std::uint64_t>(server.requests()), r->completed);
  for (int n : per_conn) EXPECT_GT(n, 0) << "every connection carries load";
}

TEST(RunLoadTest, SendsExactlyTheWorkTheGeneratorGives) {
  TempDir dir;
  FakeServer server(dir.path() + "/s.sock", "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  LoadSpec spec;
  spec.socket = dir.path() + "/s.sock";
  spec.connections = 16;
  spec.warmup = std::chrono::milliseconds(0);
  spec.duration = std::chrono::seconds(60);
  spec.expected_status = 201;
  spec.request = [](int, std::uint64_t seq) {
    return seq < 50 ? FormatRequest("POST", "/v1/secrets", "{}") : std::string();
  };
  auto r = RunLoad(spec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->completed, 50u);
  EXPECT_EQ(server.requests(), 50);
}

TEST(RunLoadTest, FailsWhenEveryAnswerHasAnotherStatus) {
  TempDir dir;
  FakeServer server(dir.path() + "/s.sock",
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 13\r\n\r\n{\"message\":1}");
  LoadSpec spec;
  spec.socket = dir.path() + "/s.sock";
  spec.warmup = std::chrono::milliseconds(0);
  spec.max_requests = 0;
  spec.duration = std::chrono::milliseconds(50);
  spec.request = [](int, std::uint64_t) { return FormatRequest("GET", "/v1/x", ""); };
  auto r = RunLoad(spec);
  ASSERT_TRUE(IsError(r, StatusCode::kIOError, "HTTP 404"));
}

TEST(RunLoadTest, FailsClearlyWithoutAServer) {
  TempDir dir;
  LoadSpec spec;
  spec.socket = dir.path() + "/none.sock";
  spec.request = [](int, std::uint64_t) { return std::string(); };
  auto r = RunLoad(spec);
  ASSERT_TRUE(IsError(r, StatusCode::kNotFound, "connect"));
}

}  // namespace
}  // namespace ocisecrets::bench
