#include "manager/cli/payload_input.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

// A pipe fed by a writer thread, like `cmd | oci-secrets secret create x -`.
class Pipe {
 public:
  explicit Pipe(std::size_t bytes) {
    EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    writer_ = std::thread([this, bytes] {
      std::string chunk(4096, 'x');
      std::size_t left = bytes;
      while (left > 0) {
        ssize_t n = ::write(fds_[1], chunk.data(), std::min(left, chunk.size()));
        if (n <= 0) break;  // the reader stopped: EPIPE
        left -= static_cast<std::size_t>(n);
      }
      ::close(fds_[1]);
    });
  }
  ~Pipe() {
    ::close(fds_[0]);
    writer_.join();
  }
  int read_fd() const { return fds_[0]; }

 private:
  int fds_[2];
  std::thread writer_;
};

TEST(PayloadInputTest, ReadsUpToTheLimit) {
  Pipe p(511999);
  auto data = ReadPayloadFd(p.read_fd(), 511999, "stdin");
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data->size(), 511999u);
}

TEST(PayloadInputTest, StopsReadingPastTheLimit) {
  ::signal(SIGPIPE, SIG_IGN);
  Pipe p(64u << 20);  // far more than the limit; the reader must not wait for all of it
  auto data = ReadPayloadFd(p.read_fd(), 511999, "stdin");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(data.status().message().find("less than 512000 bytes"), std::string::npos);
}

TEST(PayloadInputTest, MissingFileNamesThePath) {
  auto data = ReadPayload("/nonexistent/cert.pem");
  ASSERT_TRUE(IsError(data, StatusCode::kNotFound, "/nonexistent/cert.pem"));
  EXPECT_EQ(data.status().message(),
            "open /nonexistent/cert.pem: No such file or directory (ENOENT)");
}

TEST(PayloadInputTest, EmptyFileIsRefused) {
  char tmpl[] = "/tmp/ocs-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto data = ReadPayload(tmpl);
  ::unlink(tmpl);
  ASSERT_TRUE(IsError(data, StatusCode::kInvalidArgument, "larger than 0"));
}

TEST(PayloadInputTest, DirectoryIsAnError) {
  auto data = ReadPayload("/");
  ASSERT_TRUE(IsError(data, StatusCode::kIOError, "EISDIR"));
}

}  // namespace
}  // namespace ocisecrets
