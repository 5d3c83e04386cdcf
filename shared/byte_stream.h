// The byte stream under the HTTP client's framing (shared/http_client.h): a unix socket
// now; a TLS stream can be added beside it without touching the framing. Blocking calls,
// each bounded by a deadline through poll: no threads, no io_context, so that the hook can
// link it statically and run it under its seccomp allow-list.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace ocisecrets {

// One connection at a time, reopened on demand. Not thread-safe: one caller at a time.
// Errors: Unavailable naming address() when the manager cannot be reached or the
// connection broke, PermissionDenied when the caller may not connect, DeadlineExceeded
// when `deadline` passed first (a bare message: the caller knows its budget and words it).
class ByteStream {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  virtual ~ByteStream() = default;

  // Opens a new connection (closing any open one first).
  virtual Status Connect(Deadline deadline) = 0;

  // Whether a connection is open (Connect succeeded, no Close or failure since).
  virtual bool is_open() const = 0;

  // For an open connection between requests: true when the peer has not closed it and
  // nothing unasked for waits to be read, so it may carry the next request. Never blocks.
  virtual bool IsIdleAndUsable() = 0;

  // Sends every byte of `parts`, in order, as few writes as the kernel allows.
  virtual Status WriteAll(std::span<const std::string_view> parts, Deadline deadline) = 0;

  // Reads 1 to buf.size() bytes into buf; 0 when the peer closed the stream.
  virtual Result<std::size_t> ReadSome(std::span<char> buf, Deadline deadline) = 0;

  // Closes the connection, if open. Idempotent.
  virtual void Close() = 0;

  // After a failed WriteAll or ReadSome: whether it failed because the peer had already
  // closed or reset the connection before the call moved a byte: a kept-alive connection
  // gone stale, on which the server cannot have seen the request.
  virtual bool failed_on_stale_connection() const = 0;

  // Where the stream goes, for messages: "unix:///run/oci-secrets/manager.sock".
  virtual const std::string& address() const = 0;
};

// Milliseconds left until `deadline` for a poll timeout, rounded up so that a positive
// remainder never becomes a 0 ms poll; 0 once it has passed; at most one day.
inline int MillisLeft(ByteStream::Deadline deadline) {
  auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return 0;
  if (left.count() > 24 * 3600 * 1000) return 24 * 3600 * 1000;
  return static_cast<int>(left.count());
}

// Waits until fd has `events` (or an error condition) for a ByteStream: OK then;
// DeadlineExceeded "deadline passed" once `deadline` has passed; IOError if poll fails.
Status WaitForFd(int fd, short events, ByteStream::Deadline deadline);

// A stream to the unix socket at `path` (absolute, shorter than sun_path: the caller
// checks). Nothing is opened before Connect().
std::unique_ptr<ByteStream> MakeUnixStream(std::string path);

}  // namespace ocisecrets
