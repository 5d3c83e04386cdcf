// Scale: a manager holding 10,000 or 100,000 secrets and 10,000 services. Measures
// `oci-secrets secret ls` (the CLI, interleaved with the bare GET /v1/secrets it makes),
// the daemon's resident memory, its start time on the full state dir, and lease latency.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tests/bench/bench_runner.h"
#include "tests/bench/load_generator.h"
#include "tests/bench/seed.h"
#include "tests/bench/unix_http.h"

namespace ocisecrets::bench {
namespace {

constexpr int kServices = 10000;

std::string SecretName(std::uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "s-%07llu", static_cast<unsigned long long>(i));
  return buf;
}

// Creates `count` requests' worth of objects through 16 connections; returns creates/s.
Result<double> Seed(const std::string& socket, std::uint64_t count,
                    std::function<std::string(std::uint64_t)> body, const std::string& target) {
  LoadSpec spec;
  spec.socket = socket;
  spec.connections = 16;
  spec.warmup = std::chrono::milliseconds(0);
  spec.duration = std::chrono::hours(1);
  spec.expected_status = 201;
  spec.request = [&](int, std::uint64_t seq) {
    return seq < count ? FormatRequest("POST", target, body(seq)) : std::string();
  };
  ASSIGN_OR_RETURN(LoadResult r, RunLoad(spec), "seed " + target);
  if (r.unexpected > 0) {
    return Status::IOError("seed " + target + ": " + std::to_string(r.unexpected) +
                           " failed, e.g. " + r.first_unexpected);
  }
  return r.per_second();
}

std::string GoalText(double value, double goal, const std::string& what) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "goal %s: %s (%.2fx)", what.c_str(), value <= goal ? "met" : "missed",
                value / goal);
  return buf;
}

// Every row of one scale point.
std::vector<Row> RunScale(std::uint64_t secrets, const Options& options) {
  const std::string bench = "scale: " + FormatCount(static_cast<double>(secrets)) + " secrets, " +
                            FormatCount(kServices) + " services";
  const bool big = secrets >= 100000;
  const std::vector<std::string> variants = {"seeding through the API, 16 clients", "secret ls (CLI)",
                                             "GET /v1/secrets (server only)", "daemon RSS", "daemon start",
                                             "lease, 1 client"};
  std::vector<Row> rows;
  auto all_na = [&](const std::string& why) {
    std::vector<Row> na;
    for (const auto& v : variants) na.push_back(NotAvailableRow(bench, v, why));
    return na;
  };

  TempDir tmp;
  auto manager = StartManager(tmp.path());
  if (!manager.ok()) return all_na("n/a: " + manager.status().ToString());
  std::string socket = (*manager)->socket();

  // Seed: the secrets, then services each using one of them.
  Log(bench + ": seeding");
  auto t0 = std::chrono::steady_clock::now();
  auto secret_rate = Seed(socket, secrets,
                          [](std::uint64_t i) { return SecretCreateBody(SecretName(i), 64); }, "/v1/secrets");
  if (!secret_rate.ok()) return all_na("failed: " + secret_rate.status().ToString());
  auto service_rate = Seed(
      socket, kServices,
      [secrets](std::uint64_t i) {
        return ServiceCreateBody("svc-" + std::to_string(i), {SecretName(i % secrets)});
      },
      "/v1/services");
  if (!service_rate.ok()) return all_na("failed: " + service_rate.status().ToString());
  double seed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    Row r;
    r.benchmark = bench;
    r.variant = variants[0];
    r.n = FormatCount(static_cast<double>(secrets + kServices));
    r.median = FormatMs(seed_s * 1000) + " total";
    r.throughput = FormatCount(*secret_rate) + " secrets/s, " + FormatCount(*service_rate) + " services/s";
    rows.push_back(r);
  }

  // secret ls through the CLI, interleaved with the bare request it makes.
  const int rounds = options.rounds.value_or(options.quick ? 3 : 10);
  std::string cli = BinDir() + "/oci-secrets";
  std::vector<Variant> ls;
  bool have_cli = IsExecutable(cli);
  if (have_cli) {
    ls.push_back({variants[1], [&]() -> Status {
                    ASSIGN_OR_RETURN(ProcessResult r,
                                     RunProcess({cli, "--host", "unix://" + socket, "secret", "ls"}, {}, true),
                                     "secret ls");
                    if (r.exit_code != 0) return Status::IOError("secret ls: " + r.err);
                    // The table's header plus one line per secret.
                    std::size_t lines = static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
                    if (lines != secrets + 1) {
                      return Status::IOError("secret ls printed " + std::to_string(lines) + " lines, want " +
                                             std::to_string(secrets + 1));
                    }
                    return Status::Ok();
                  },
                  {}});
  }
  ls.push_back({variants[2], [&]() -> Status {
                  ASSIGN_OR_RETURN(auto conn, UnixHttpConnection::Connect(socket), "connect");
                  ASSIGN_OR_RETURN(HttpReply r, conn->Request("GET", "/v1/secrets"), "GET /v1/secrets");
                  if (r.status != 200) return Status::IOError("GET /v1/secrets: HTTP " + std::to_string(r.status));
                  return Status::Ok();
                },
                {}});
  Log(bench + ": secret ls x " + std::to_string(rounds));
  auto ls_results = RunInterleaved(ls, rounds, 1);
  if (!have_cli) rows.push_back(NotAvailableRow(bench, variants[1], "n/a: oci-secrets (CLI) not built yet"));
  for (const auto& r : ls_results) {
    if (!r.error.ok()) {
      rows.push_back(NotAvailableRow(bench, r.name, "failed: " + r.error.ToString()));
      continue;
    }
    Row row;
    row.benchmark = bench;
    row.variant = r.name;
    row.n = std::to_string(r.summary.n);
    row.median = FormatMs(r.summary.median);
    row.tail = "p95 " + FormatMs(r.summary.p95);
    if (big && r.name == variants[1]) row.compared = GoalText(r.summary.median, 1000, "< 1 s");
    rows.push_back(row);
  }

  // Memory after the listing (the largest answer the daemon builds).
  {
    auto rss = ResidentKiB((*manager)->pid());
    auto peak = PeakResidentKiB((*manager)->pid());
    if (rss.ok() && peak.ok()) {
      Row row;
      row.benchmark = bench;
      row.variant = variants[3];
      row.median = FormatKiB(*rss);
      row.tail = "peak " + FormatKiB(*peak);
      if (big) row.compared = GoalText(static_cast<double>(*peak), 256 * 1024, "< 256 MiB (peak)");
      rows.push_back(row);
    } else {
      rows.push_back(NotAvailableRow(bench, variants[3], "failed: " + rss.status().ToString()));
    }
  }

  // Lease latency with the store full (service svc-0, one secret).
  auto lease_row = [&]() -> Row {
    LoadSpec spec;
    spec.socket = socket;
    spec.connections = 1;
    spec.warmup = std::chrono::milliseconds(200);
    spec.duration = std::chrono::milliseconds(options.quick ? 1000 : 3000);
    std::uint64_t run = secrets;
    spec.request = [run](int, std::uint64_t seq) {
      nlohmann::json body = {{"ContainerID", "scale-" + std::to_string(run) + "-" + std::to_string(seq)},
                             {"Service", "svc-0"}};
      return FormatRequest("POST", "/v1/leases", body.dump());
    };
    auto r = RunLoad(spec);
    if (!r.ok()) return NotAvailableRow(bench, variants[5], "failed: " + r.status().ToString());
    Summary s = Summarize(r->latency_ms);
    Row row;
    row.benchmark = bench;
    row.variant = variants[5];
    row.n = FormatCount(static_cast<double>(r->completed));
    row.median = "p50 " + FormatMs(s.median);
    row.tail = "p99 " + FormatMs(s.p99);
    row.throughput = FormatCount(r->per_second()) + " leases/s";
    if (!r->first_unexpected.empty()) row.compared = r->first_unexpected;
    return row;
  }();

  // Start time on the full state dir: stop, start again, until /v1/health answers.
  const int starts = options.quick ? 3 : 5;
  std::vector<double> start_ms;
  Status start_error;
  (*manager)->Stop();
  manager->reset();
  for (int i = 0; i < starts && start_error.ok(); ++i) {
    auto m = StartManager(tmp.path());
    if (!m.ok()) {
      start_error = m.status();
      break;
    }
    start_ms.push_back((*m)->start_ms());
    (*m)->Stop();
  }
  if (!start_error.ok()) {
    rows.push_back(NotAvailableRow(bench, variants[4], "failed: " + start_error.ToString()));
  } else {
    Summary s = Summarize(start_ms);
    Row row;
    row.benchmark = bench;
    row.variant = variants[4];
    row.n = std::to_string(s.n);
    row.median = FormatMs(s.median);
    row.tail = "max " + FormatMs(s.max);
    if (big) row.compared = GoalText(s.median, 1000, "< 1 s");
    rows.push_back(row);
  }
  rows.push_back(lease_row);
  return rows;
}

int Main(int argc, char** argv) {
  auto options = ParseOptions(argc, argv);
  if (!options.ok()) {
    Log(options.status().ToString());
    return 2;
  }
  std::vector<std::uint64_t> sizes = {10000, 100000};
  for (std::size_t i = 0; i < options->rest.size(); ++i) {
    if (options->rest[i] == "--secrets" && i + 1 < options->rest.size()) {
      sizes = {std::strtoull(options->rest[++i].c_str(), nullptr, 10)};
    } else {
      Log("unknown argument " + options->rest[i] + " (flags: --quick, --rounds N, --rows-only, --secrets N)");
      return 2;
    }
  }
  std::vector<Row> rows;
  for (std::uint64_t n : sizes) {
    auto r = RunScale(n, *options);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  PrintRows(rows, *options);
  return 0;
}

}  // namespace
}  // namespace ocisecrets::bench

int main(int argc, char** argv) { return ocisecrets::bench::Main(argc, argv); }
