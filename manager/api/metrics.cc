#include "manager/api/metrics.h"

#include <cstdio>

namespace ocisecrets {

void Metrics::Record(const std::string& route, int code, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, code}];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++bucket_counts_[i];
  }
  ++count_;
  sum_ += seconds;
}

std::string Metrics::Render(std::size_t lease_count) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  char buf[256];
  out += "# HELP ocisecrets_requests_total API requests answered, by route and status code.\n";
  out += "# TYPE ocisecrets_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    std::snprintf(buf, sizeof(buf), "ocisecrets_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                  key.first.c_str(), key.second, static_cast<unsigned long long>(n));
    out += buf;
  }
  out += "# HELP ocisecrets_request_duration_seconds Time to answer a request.\n";
  out += "# TYPE ocisecrets_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "ocisecrets_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                  kBuckets[i], static_cast<unsigned long long>(bucket_counts_[i]));
    out += buf;
  }
  std::snprintf(buf, sizeof(buf),
                "ocisecrets_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                "ocisecrets_request_duration_seconds_sum %.9f\n"
                "ocisecrets_request_duration_seconds_count %llu\n",
                static_cast<unsigned long long>(count_), sum_,
                static_cast<unsigned long long>(count_));
  out += buf;
  out += "# HELP ocisecrets_leases Live (unexpired) leases held by containers.\n";
  out += "# TYPE ocisecrets_leases gauge\n";
  out += "ocisecrets_leases " + std::to_string(lease_count) + "\n";
  return out;
}

}  // namespace ocisecrets
