#include "tests/bench/load_generator.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/bench/unix_http.h"

namespace ocisecrets::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string out;       // bytes of the current request not yet sent
  std::size_t sent = 0;
  ResponseParser parser;
  SteadyClock::time_point started{};
  bool busy = false;
};

}  // namespace

Result<LoadResult> RunLoad(const LoadSpec& spec) {
  if (spec.connections < 1) return Status::InvalidArgument("load: connections must be >= 1");
  std::vector<Conn> conns(static_cast<std::size_t>(spec.connections));
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return PosixError("epoll_create1", errno);
  auto cleanup = [&]() {
    for (auto& c : conns) {
      if (c.fd >= 0) ::close(c.fd);
    }
    ::close(ep);
  };
  for (std::size_t i = 0; i < conns.size(); ++i) {
    auto fd = ConnectUnix(spec.socket);
    if (!fd.ok()) {
      cleanup();
      return fd.status().WithContext("load: connection " + std::to_string(i));
    }
    conns[i].fd = *fd;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, *fd, &ev);
  }

  LoadResult result;
  std::uint64_t seq = 0;
  const auto t0 = SteadyClock::now();
  const auto record_from = t0 + spec.warmup;
  const auto record_until = record_from + spec.duration;
  bool stopping = false;
  int busy = 0;
  Status failure;

  // Sends as much of the connection's request as the socket takes.
  auto pump_out = [&](Conn& c) -> Status {
    while (c.sent < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        return Status::Ok();
      } else {
        return PosixError("send", errno);
      }
    }
    return Status::Ok();
  };
  auto start_next = [&](std::size_t i) -> Status {
    Conn& c = conns[i];
    c.out = spec.request(static_cast<int>(i), seq++);
    if (c.out.empty()) return Status::Ok();  // the generator has no more work: stay idle
    c.sent = 0;
    c.parser.Reset();
    c.started = SteadyClock::now();
    c.busy = true;
    ++busy;
    return pump_out(c);
  };

  for (std::size_t i = 0; i < conns.size() && failure.ok(); ++i) failure = start_next(i);

  std::vector<epoll_event> events(conns.size());
  char buf[65536];
  while (failure.ok() && busy > 0) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 30000);
    if (n < 0) {
      if (errno == EINTR) continue;
      failure = PosixError("epoll_wait", errno);
      break;
    }
    if (n == 0) {
      failure = Status::DeadlineExceeded("load: no answer from the server within 30 s");
      break;
    }
    for (int e = 0; e < n && failure.ok(); ++e) {
      std::size_t i = events[e].data.u64;
      Conn& c = conns[i];
      if (!c.busy) {
        // An idle connection that becomes readable was closed by the server.
        if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          ssize_t r = ::recv(c.fd, buf, sizeof buf, MSG_PEEK);
          if (r == 0) failure = Status::Unavailable("load: the server closed an idle connection");
        }
        continue;
      }
      if (events[e].events & EPOLLOUT) {
        if (Status s = pump_out(c); !s.ok()) {
          failure = s;
          break;
        }
      }
      // Drain what arrived (edge-triggered: read until EAGAIN).
      while (c.busy) {
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) {
          failure = r == 0 ? Status::Unavailable("load: the server closed a connection mid-request")
                           : PosixError("recv", errno);
          break;
        }
        auto used = c.parser.Feed(std::string_view(buf, static_cast<std::size_t>(r)));
        if (!used.ok()) {
          failure = used.status().WithContext("load: response");
          break;
        }
        if (!c.parser.done()) continue;
        // One answer complete. (A pipelined surplus cannot happen: one request in flight.)
        auto now = SteadyClock::now();
        c.busy = false;
        --busy;
        const HttpReply& reply = c.parser.reply();
        ++result.answered;
        // Throughput counts every answer inside the window; latency only those whose
        // request also started inside it.
        if (now >= record_from && now <= record_until) {
          if (reply.status == spec.expected_status) {
            ++result.completed;
            if (c.started >= record_from) {
              result.latency_ms.push_back(std::chrono::duration<double, std::milli>(now - c.started).count());
            }
          } else {
            if (result.unexpected++ == 0) {
              result.first_unexpected = "HTTP " + std::to_string(reply.status) + " " + reply.body.substr(0, 200);
            }
          }
        }
        if (!stopping && (now >= record_until ||
                          (spec.max_requests > 0 && result.completed >= spec.max_requests))) {
          stopping = true;
        }
        if (!stopping) {
          if (Status s = start_next(i); !s.ok()) failure = s;
        }
      }
    }
  }
  auto end = std::min(SteadyClock::now(), record_until);
  result.seconds = std::chrono::duration<double>(end - record_from).count();
  cleanup();
  if (!failure.ok()) return failure;
  if (result.completed == 0 && result.unexpected > 0) {
    return Status::IOError("load: every answer was unexpected, e.g. " + result.first_unexpected);
  }
  return result;
}

}  // namespace ocisecrets::bench
