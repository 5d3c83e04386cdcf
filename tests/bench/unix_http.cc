#include "tests/bench/unix_http.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <thread>

extern char** environ;

namespace ocisecrets::bench {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string FormatRequest(std::string_view method, std::string_view target, std::string_view body) {
  std::string r;
  r.reserve(128 + body.size());
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    r.append("Content-Type: application/json\r\nContent-Length: ")
        .append(std::to_string(body.size()))
        .append("\r\n");
  }
  r.append("\r\n").append(body);
  return r;
}

void ResponseParser::Reset() {
  state_ = State::kHead;
  buf_.clear();
  remaining_ = 0;
  reply_ = HttpReply{};
}

Result<std::size_t> ResponseParser::Feed(std::string_view data) {
  std::size_t used = 0;
  while (used < data.size() && state_ != State::kDone) {
    std::string_view in = data.substr(used);
    switch (state_) {
      case State::kHead: {
        // Look for the end of the head across what we kept and what arrived.
        std::size_t before = buf_.size();
        buf_.append(in);
        auto end = buf_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
        if (end == std::string::npos) {
          if (buf_.size() > 64 * 1024) return Status::DataLoss("response head over 64 KiB");
          used = data.size();
          break;
        }
        std::size_t head_len = end + 4;
        used += head_len - before;
        std::string head = buf_.substr(0, head_len);
        buf_.clear();
        // Status line: HTTP/1.1 200 OK
        if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) {
          return Status::DataLoss("not an HTTP response");
        }
        reply_.status = std::atoi(head.c_str() + 9);
        bool chunked = false;
        bool has_length = false;
        std::size_t pos = head.find("\r\n") + 2;
        while (pos < head_len - 2) {
          std::size_t eol = head.find("\r\n", pos);
          std::string_view line(head.data() + pos, eol - pos);
          pos = eol + 2;
          auto colon = line.find(':');
          if (colon == std::string_view::npos) continue;
          std::string name = Lower(Trim(line.substr(0, colon)));
          std::string_view value = Trim(line.substr(colon + 1));
          if (name == "content-length") {
            remaining_ = std::strtoull(std::string(value).c_str(), nullptr, 10);
            has_length = true;
          } else if (name == "transfer-encoding" && Lower(value).find("chunked") != std::string::npos) {
            chunked = true;
          }
        }
        if (chunked) {
          state_ = State::kChunkSize;
        } else if (has_length && remaining_ > 0) {
          state_ = State::kBody;
        } else {
          state_ = State::kDone;
        }
        break;
      }
      case State::kBody:
      case State::kChunkData: {
        std::size_t take = std::min(remaining_, in.size());
        reply_.body.append(in.substr(0, take));
        remaining_ -= take;
        used += take;
        if (remaining_ == 0) state_ = state_ == State::kBody ? State::kDone : State::kChunkDataEnd;
        break;
      }
      case State::kChunkSize:
      case State::kChunkDataEnd:
      case State::kTrailer: {
        // Line-oriented states: collect one CRLF-terminated line.
        auto eol = in.find('\n');
        if (eol == std::string_view::npos) {
          buf_.append(in);
          used = data.size();
          if (buf_.size() > 4096) return Status::DataLoss("chunk line too long");
          break;
        }
        buf_.append(in.substr(0, eol + 1));
        used += eol + 1;
        std::string line(Trim(buf_.substr(0, buf_.size() - 1)));
        buf_.clear();
        if (state_ == State::kChunkDataEnd) {
          if (!line.empty()) return Status::DataLoss("chunk not followed by CRLF");
          state_ = State::kChunkSize;
        } else if (state_ == State::kChunkSize) {
          char* end = nullptr;
          remaining_ = std::strtoull(line.c_str(), &end, 16);
          if (end == line.c_str()) return Status::DataLoss("bad chunk size");
          state_ = remaining_ == 0 ? State::kTrailer : State::kChunkData;
        } else if (line.empty()) {  // kTrailer: an empty line ends the message
          state_ = State::kDone;
        }
        break;
      }
      case State::kDone:
        break;
    }
  }
  return used;
}

Result<int> ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return Status::InvalidArgument("socket path over 107 bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return PosixError("socket", errno);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    return PosixError("connect " + path, e);
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return fd;
}

Result<std::unique_ptr<UnixHttpConnection>> UnixHttpConnection::Connect(const std::string& path) {
  ASSIGN_OR_RETURN(int fd, ConnectUnix(path), "");
  return std::unique_ptr<UnixHttpConnection>(new UnixHttpConnection(fd));
}

UnixHttpConnection::~UnixHttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

Result<HttpReply> UnixHttpConnection::Request(std::string_view method, std::string_view target,
                                              std::string_view body) {
  if (fd_ < 0) return Status::Unavailable("connection closed");
  auto fail = [this](const Status& s) {
    ::close(fd_);
    fd_ = -1;
    return s;
  };
  std::string req = FormatRequest(method, target, body);
  std::size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 60000);
    } else {
      return fail(PosixError("send", errno));
    }
  }
  ResponseParser parser;
  std::string pending = std::move(leftover_);
  leftover_.clear();
  char buf[65536];
  while (true) {
    if (!pending.empty()) {
      ASSIGN_OR_RETURN(std::size_t used, parser.Feed(pending), "response");
      pending.erase(0, used);
      if (parser.done()) {
        leftover_ = std::move(pending);
        return parser.reply();
      }
    }
    pollfd p{fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, 60000);
    if (pr == 0) return fail(Status::DeadlineExceeded("no answer within 60 s"));
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      pending.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return fail(Status::Unavailable("the server closed the connection"));
    } else if (errno != EAGAIN && errno != EINTR) {
      return fail(PosixError("recv", errno));
    }
  }
}

Result<std::unique_ptr<ManagerProcess>> ManagerProcess::Start(const std::string& bin,
                                                              const std::string& state_dir,
                                                              const std::string& socket,
                                                              const std::string& log_path,
                                                              const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv = {bin, "--state-dir", state_dir, "--socket", socket};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::unique_ptr<ManagerProcess> m(new ManagerProcess());
  m->socket_ = socket;
  auto start = std::chrono::steady_clock::now();
  int rc = ::posix_spawn(&m->pid_, bin.c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    m->pid_ = -1;
    return PosixError("start " + bin, rc);
  }
  auto deadline = start + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m->pid_, &status, WNOHANG) == m->pid_) {
      m->pid_ = -1;
      return Status::Unavailable(bin + " exited during start-up (see " + log_path + ")");
    }
    auto conn = UnixHttpConnection::Connect(socket);
    if (conn.ok()) {
      auto reply = (*conn)->Request("GET", "/v1/health");
      if (reply.ok() && reply->status == 200) {
        m->start_ms_ = std::chrono::duration<double, std::milli>(
                           std::chrono::steady_clock::now() - start)
                           .count();
        return m;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return Status::DeadlineExceeded(bin + " did not answer /v1/health within 60 s");
}

int ManagerProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return 128 + SIGKILL;
}

ManagerProcess::~ManagerProcess() { Stop(); }

}  // namespace ocisecrets::bench
