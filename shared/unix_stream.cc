// ByteStream over a unix socket: non-blocking fd, poll for every wait.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "shared/byte_stream.h"

namespace ocisecrets {
namespace {

using Deadline = ByteStream::Deadline;

Status Late() { return Status::DeadlineExceeded("deadline passed"); }

class UnixStream : public ByteStream {
 public:
  explicit UnixStream(std::string path) : path_(std::move(path)), address_("unix://" + path_) {}
  ~UnixStream() override { Close(); }
  UnixStream(const UnixStream&) = delete;
  UnixStream& operator=(const UnixStream&) = delete;

  Status Connect(Deadline deadline) override {
    Close();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());  // length checked by the caller
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
          return Late();
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

  bool is_open() const override { return fd_ >= 0; }

  // Readable while idle means the server closed it (EOF) or sent something unasked for.
  bool IsIdleAndUsable() override {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

  Status WriteAll(std::span<const std::string_view> parts, Deadline deadline) override {
    stale_ = false;
    std::array<iovec, 8> iov;
    bool wrote_any = false;
    while (!parts.empty()) {
      std::size_t n_iov = 0;
      for (; n_iov < iov.size() && n_iov < parts.size(); ++n_iov) {
        iov[n_iov] = {const_cast<char*>(parts[n_iov].data()), parts[n_iov].size()};
      }
      parts = parts.subspan(n_iov);
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = n_iov;
      while (msg.msg_iovlen > 0) {
        ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
        if (n < 0) {
          int err = errno;
          if (err == EINTR) continue;
          if (err == EAGAIN) {
            RETURN_IF_ERROR(Wait(POLLOUT, deadline), "");  // Wait's message is the whole story
            continue;
          }
          stale_ = !wrote_any && (err == EPIPE || err == ECONNRESET);
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
    }
    return Status::Ok();
  }

  Result<std::size_t> ReadSome(std::span<char> buf, Deadline deadline) override {
    stale_ = false;
    for (;;) {
      RETURN_IF_ERROR(Wait(POLLIN, deadline), "");  // Wait's message is the whole story
      ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n >= 0) return static_cast<std::size_t>(n);
      int err = errno;
      if (err == EINTR || err == EAGAIN) continue;
      stale_ = err == ECONNRESET;
      return Unreachable(err);
    }
  }

  void Close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool failed_on_stale_connection() const override { return stale_; }
  const std::string& address() const override { return address_; }

 private:
  Status Unreachable(int err) const {
    Status s = PosixError("cannot reach the manager at " + address_, err);
    if (s.code() == StatusCode::kPermissionDenied) return s;
    return Status::Unavailable(s.message());
  }

  Status Wait(short events, Deadline deadline) const { return WaitForFd(fd_, events, deadline); }

  std::string path_;
  std::string address_;
  int fd_ = -1;
  bool stale_ = false;
};

}  // namespace

Status WaitForFd(int fd, short events, ByteStream::Deadline deadline) {
  for (;;) {
    int ms = MillisLeft(deadline);
    if (ms == 0) return Late();
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, ms);
    if (r > 0) return Status::Ok();
    if (r < 0 && errno != EINTR) return PosixError("poll", errno);
  }
}

std::unique_ptr<ByteStream> MakeUnixStream(std::string path) {
  return std::make_unique<UnixStream>(std::move(path));
}

}  // namespace ocisecrets
