// A closed-loop HTTP load generator over unix sockets: N keep-alive connections, each
// sending its next request as soon as the previous answer arrives, all driven by one
// epoll thread so that 256 clients do not need 256 threads on a 2-core machine.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "shared/status.h"

namespace ocisecrets::bench {

struct LoadSpec {
  std::string socket;
  int connections = 1;
  // Requests before `warmup` has passed are not recorded; recording stops at
  // warmup + duration, or when `max_requests` recorded requests are done (0: no limit).
  std::chrono::milliseconds warmup{300};
  std::chrono::milliseconds duration{2000};
  std::uint64_t max_requests = 0;
  // The raw bytes of request number `seq` (0, 1, 2, ... across all connections) sent on
  // connection `conn`. See FormatRequest. An empty string leaves the connection idle
  // (a fixed amount of work: the load ends when every connection is idle).
  std::function<std::string(int conn, std::uint64_t seq)> request;
  int expected_status = 200;
};

struct LoadResult {
  std::vector<double> latency_ms;  // one per recorded request
  double seconds = 0;              // the recorded window's length
  std::uint64_t completed = 0;     // expected answers that arrived within the window
  std::uint64_t answered = 0;      // every answer, warm-up and stragglers included
  std::uint64_t unexpected = 0;    // answers with another status (counted, not recorded)
  std::string first_unexpected;    // "HTTP 404 {...}" of the first one
  double per_second() const { return seconds > 0 ? static_cast<double>(completed) / seconds : 0; }
};

// Runs the load. Fails when a connection cannot be made or breaks, or when every
// answer had an unexpected status.
Result<LoadResult> RunLoad(const LoadSpec& spec);

}  // namespace ocisecrets::bench
