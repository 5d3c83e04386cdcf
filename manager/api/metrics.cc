#include "manager/api/metrics.h"

#include <cstdio>

namespace ocisecrets {

namespace {

// The _bucket, _sum and _count lines of histogram `name`.
void AppendHistogram(std::string& out, const char* name,
                     const std::array<std::uint64_t, Metrics::kBuckets.size()>& buckets,
                     std::uint64_t count, double sum) {
  char buf[256];
  for (std::size_t i = 0; i < Metrics::kBuckets.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%s_bucket{le=\"%g\"} %llu\n", name, Metrics::kBuckets[i],
                  static_cast<unsigned long long>(buckets[i]));
    out += buf;
  }
  std::snprintf(buf, sizeof(buf), "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", name,
                static_cast<unsigned long long>(count), name, sum, name,
                static_cast<unsigned long long>(count));
  out += buf;
}

}  // namespace

void Metrics::Record(const std::string& route, int code, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, code}];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++bucket_counts_[i];
  }
  ++count_;
  sum_ += seconds;
}

void Metrics::RecordLiveUpdate(const std::string& result, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++live_updates_[result];
  if (seconds < 0) return;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++live_bucket_counts_[i];
  }
  ++live_count_;
  live_sum_ += seconds;
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
  AppendHistogram(out, "ocisecrets_request_duration_seconds", bucket_counts_, count_, sum_);
  out += "# HELP ocisecrets_leases Live (unexpired) leases held by containers.\n";
  out += "# TYPE ocisecrets_leases gauge\n";
  out += "ocisecrets_leases " + std::to_string(lease_count) + "\n";
  out += "# HELP ocisecrets_live_updates_total Live updates of running containers, by result.\n";
  out += "# TYPE ocisecrets_live_updates_total counter\n";
  for (const auto& [result, n] : live_updates_) {
    std::snprintf(buf, sizeof(buf), "ocisecrets_live_updates_total{result=\"%s\"} %llu\n",
                  result.c_str(), static_cast<unsigned long long>(n));
    out += buf;
  }
  out += "# HELP ocisecrets_live_update_seconds Time from a change to its application in a "
         "running container.\n";
  out += "# TYPE ocisecrets_live_update_seconds histogram\n";
  AppendHistogram(out, "ocisecrets_live_update_seconds", live_bucket_counts_, live_count_,
                  live_sum_);
  return out;
}

}  // namespace ocisecrets
