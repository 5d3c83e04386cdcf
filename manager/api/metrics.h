// Prometheus text metrics: requests by route and code, a latency histogram, leases.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace ocisecrets {

class Metrics {
 public:
  // Counts one answered request of route (the pattern, e.g. "POST /v1/leases").
  void Record(const std::string& route, int code, double seconds);
  // Counts one live update of a running container by its result ("refreshed", "skipped",
  // "failed"); for a refreshed one, seconds is the propagation time (the change's
  // publication to its application), observed in ocisecrets_live_update_seconds when
  // >= 0 (a negative one, unknown, is not observed).
  void RecordLiveUpdate(const std::string& result, double seconds);
  // The exposition text; lease_count is the live lease gauge.
  std::string Render(std::size_t lease_count) const;

  static constexpr std::array<double, 11> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0};

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::array<std::uint64_t, kBuckets.size()> bucket_counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
  std::map<std::string, std::uint64_t> live_updates_;
  std::array<std::uint64_t, kBuckets.size()> live_bucket_counts_{};
  std::uint64_t live_count_ = 0;
  double live_sum_ = 0;
};

}  // namespace ocisecrets
