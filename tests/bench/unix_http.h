// A minimal HTTP/1.1 client over a unix socket for the benchmarks: a blocking
// keep-alive connection for seeding data, and an incremental response parser that the
// load generator feeds from non-blocking sockets. It speaks only the fixed wire contract
// (docs/API.md), so it measures the server and not a client library.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace ocisecrets::bench {

struct HttpReply {
  int status = 0;
  std::string body;
};

// The bytes of a request with a JSON body (Content-Length, keep-alive).
std::string FormatRequest(std::string_view method, std::string_view target, std::string_view body);

// Parses one response from bytes fed in pieces. Understands Content-Length and chunked
// bodies; a response with neither has an empty body.
class ResponseParser {
 public:
  // Consumes bytes; returns how many it used (the rest belong to the next response),
  // or an error for a malformed response. done() says when the response is complete.
  Result<std::size_t> Feed(std::string_view data);
  bool done() const { return state_ == State::kDone; }
  const HttpReply& reply() const { return reply_; }
  void Reset();

 private:
  enum class State { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailer, kDone };
  State state_ = State::kHead;
  std::string buf_;
  std::size_t remaining_ = 0;
  HttpReply reply_;
};

// Connects a non-blocking AF_UNIX stream socket to path (blocks until connected).
Result<int> ConnectUnix(const std::string& path);

// One blocking keep-alive connection.
class UnixHttpConnection {
 public:
  // Connects to the socket at path.
  static Result<std::unique_ptr<UnixHttpConnection>> Connect(const std::string& path);
  ~UnixHttpConnection();

  // Sends one request and reads its whole response. A transport error closes the
  // connection; the HTTP status is the caller's to judge.
  Result<HttpReply> Request(std::string_view method, std::string_view target,
                            std::string_view body = {});

 private:
  explicit UnixHttpConnection(int fd) : fd_(fd) {}
  int fd_ = -1;
  std::string leftover_;
};

// The running manager daemon, started for a benchmark and stopped with it.
class ManagerProcess {
 public:
  // Starts `bin --state-dir state_dir --socket socket extra_args...` with its stderr in
  // log_path, and waits (up to 60 s) until GET /v1/health answers 200.
  static Result<std::unique_ptr<ManagerProcess>> Start(const std::string& bin,
                                                       const std::string& state_dir,
                                                       const std::string& socket,
                                                       const std::string& log_path,
                                                       const std::vector<std::string>& extra_args = {});
  // SIGTERM, then SIGKILL after 10 s.
  ~ManagerProcess();
  ManagerProcess(const ManagerProcess&) = delete;
  ManagerProcess& operator=(const ManagerProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  // Wall time from spawn to the first 200 on /v1/health.
  double start_ms() const { return start_ms_; }
  // Stops the daemon now (SIGTERM and wait); returns its exit status.
  int Stop();

 private:
  ManagerProcess() = default;
  pid_t pid_ = -1;
  std::string socket_;
  double start_ms_ = 0;
};

}  // namespace ocisecrets::bench
