// Manager: leases per second and p50/p99 latency at 1, 16 and 256 concurrent clients
// over the unix socket; at 16 and 256 connections over mutual TLS with a joined worker's
// node certificate (one thread per connection, each its own kept-alive TLS connection);
// and secret creates per second on the embedded store; on a 3-member etcd on loopback
// (started here): creates, leases as a ratio of the embedded store's, and the start of a
// manager whose etcd holds 100,000 secrets. The
// variants of one comparison run interleaved in time slices (A B C, A B C, ...), each
// slice a closed-loop load from one epoll thread.
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "manager/registry/registry.h"
#include "manager/store/keyring.h"
#include "manager/store/store_factory.h"
#include "shared/crypto.h"
#include "shared/http_client.h"
#include "shared/tls_stream.h"

#include "tests/bench/bench_runner.h"
#include "tests/bench/load_generator.h"
#include "tests/bench/seed.h"
#include "tests/bench/unix_http.h"
#include "tests/testing/etcd_cluster.h"

namespace ocisecrets::bench {
namespace {

constexpr double kLeaseGoalPerSecond = 20000;

struct LoadVariant {
  std::string name;
  int connections;
  std::string service;  // lease variants
  bool create = false;  // secret-create variants
  // Another manager than RunSlices' own (the etcd one): its socket and pid.
  std::string socket = {};
  int pid = 0;
};

struct Aggregate {
  std::vector<double> latency_ms;
  std::uint64_t completed = 0;
  std::uint64_t answered = 0;
  double cpu_ms = 0;  // the daemon's CPU time over every slice
  double seconds = 0;
  Status error;
  std::string unexpected;
  double per_second() const { return seconds > 0 ? static_cast<double>(completed) / seconds : 0; }
};

// A unique container ID in the runtimes' form (64 hex characters).
std::string ContainerId(std::uint64_t run, std::uint64_t seq) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%032" PRIx64 "%032" PRIx64, run, seq);
  return buf;
}

// Runs the variants in `slices` rounds of `slice` each, interleaved.
std::vector<Aggregate> RunSlices(int daemon_pid, const std::string& socket, const std::vector<LoadVariant>& variants,
                                 int slices, std::chrono::milliseconds slice,
                                 std::chrono::milliseconds warmup, std::uint64_t* create_seq) {
  std::vector<Aggregate> agg(variants.size());
  static std::uint64_t run = 0;
  for (int round = 0; round < slices; ++round) {
    for (std::size_t v = 0; v < variants.size(); ++v) {
      if (!agg[v].error.ok()) continue;
      const LoadVariant& lv = variants[v];
      LoadSpec spec;
      spec.socket = lv.socket.empty() ? socket : lv.socket;
      const int pid = lv.socket.empty() ? daemon_pid : lv.pid;
      spec.connections = lv.connections;
      spec.warmup = warmup;
      spec.duration = slice;
      const std::uint64_t this_run = ++run;
      if (lv.create) {
        spec.expected_status = 201;
        spec.request = [create_seq](int, std::uint64_t) {
          std::string name = "load-" + std::to_string((*create_seq)++);
          return FormatRequest("POST", "/v1/secrets", SecretCreateBody(name, 64));
        };
      } else {
        std::string service = lv.service;
        spec.request = [this_run, service](int, std::uint64_t seq) {
          nlohmann::json body = {{"ContainerID", ContainerId(this_run, seq)}, {"Service", service}};
          return FormatRequest("POST", "/v1/leases", body.dump());
        };
      }
      auto cpu_before = CpuTimeMs(pid);
      auto r = RunLoad(spec);
      auto cpu_after = CpuTimeMs(pid);
      if (cpu_before.ok() && cpu_after.ok()) agg[v].cpu_ms += *cpu_after - *cpu_before;
      if (!r.ok()) {
        agg[v].error = r.status();
        continue;
      }
      agg[v].latency_ms.insert(agg[v].latency_ms.end(), r->latency_ms.begin(), r->latency_ms.end());
      agg[v].completed += r->completed;
      agg[v].answered += r->answered;
      agg[v].seconds += r->seconds;
      if (r->unexpected > 0 && agg[v].unexpected.empty()) {
        agg[v].unexpected = std::to_string(r->unexpected) + " unexpected answers, e.g. " + r->first_unexpected;
      }
    }
  }
  return agg;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The worker's node certificate, key and CA as the TLS client takes them.
TlsClientOptions NodeTls(const BenchCluster& cluster) {
  TlsClientOptions tls;
  tls.ca_pem = ReadText(cluster.worker_state + "/cluster/ca.pem");
  tls.cert_pem = ReadText(cluster.worker_state + "/cluster/node.crt");
  std::string key = ReadText(cluster.worker_state + "/cluster/node.key");
  tls.key_pem.assign(key.begin(), key.end());
  std::fill(key.begin(), key.end(), '\0');
  tls.require_role = "manager";
  return tls;
}

// One slice of closed-loop leases over mutual TLS: `connections` threads, each with its
// own kept-alive connection from `pool` (made on first use and kept for the next slices,
// so the handshakes fall in the first slice's warm-up, not in every measurement),
// recording from warmup on for `duration`.
Aggregate RunTlsSlice(const std::string& addr, const TlsClientOptions& tls, int connections,
                      const std::string& service, std::chrono::milliseconds warmup,
                      std::chrono::milliseconds duration,
                      std::vector<std::unique_ptr<Transport>>& pool) {
  pool.resize(static_cast<std::size_t>(connections));
  using Clock = std::chrono::steady_clock;
  static std::atomic<std::uint64_t> run{1u << 20};  // apart from the unix runs' IDs
  const std::uint64_t this_run = ++run;
  const Clock::time_point begin = Clock::now();
  const Clock::time_point record_from = begin + warmup;
  const Clock::time_point end = record_from + duration;
  std::vector<Aggregate> per(static_cast<std::size_t>(connections));
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Aggregate& a = per[static_cast<std::size_t>(c)];
      std::unique_ptr<Transport>& t = pool[static_cast<std::size_t>(c)];
      if (!t) t = MakeHttpTransport(MakeTlsStream(addr, tls));
      for (std::uint64_t seq = 0; Clock::now() < end; ++seq) {
        nlohmann::json body = {{"ContainerID", ContainerId(this_run, (seq << 9) | c)},
                               {"Service", service}};
        const Clock::time_point t0 = Clock::now();
        Result<HttpResponse> r = t->RoundTrip({"POST", "/v1/leases", body.dump()}, t0 + std::chrono::seconds(10));
        if (!r.ok()) {
          a.error = r.status();
          return;
        }
        ++a.answered;
        if (r->status != 200) {
          if (a.unexpected.empty()) a.unexpected = "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200);
          continue;
        }
        if (t0 < record_from) continue;
        a.latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        ++a.completed;
      }
    });
  }
  for (auto& th : threads) th.join();
  Aggregate total;
  total.seconds = std::chrono::duration<double>(Clock::now() - record_from).count();
  for (const Aggregate& a : per) {
    total.latency_ms.insert(total.latency_ms.end(), a.latency_ms.begin(), a.latency_ms.end());
    total.completed += a.completed;
    total.answered += a.answered;
    if (!a.error.ok() && total.error.ok()) total.error = a.error;
    if (!a.unexpected.empty() && total.unexpected.empty()) total.unexpected = a.unexpected;
  }
  return total;
}

Row LoadRow(const std::string& benchmark, const std::string& variant, const Aggregate& a,
            const std::string& unit) {
  if (!a.error.ok()) return NotAvailableRow(benchmark, variant, "failed: " + a.error.ToString());
  Summary s = Summarize(a.latency_ms);
  Row row;
  row.benchmark = benchmark;
  row.variant = variant;
  row.n = FormatCount(static_cast<double>(a.completed));
  row.median = "p50 " + FormatMs(s.median);
  row.tail = "p99 " + FormatMs(s.p99);
  row.throughput = FormatCount(a.per_second()) + " " + unit + "/s";
  if (!a.unexpected.empty()) row.compared = a.unexpected;
  return row;
}

// "daemon CPU 95 us/lease": the daemon's CPU time per answer, which the machine's other
// load does not inflate the way it does wall time.
std::string CpuPerRequest(const Aggregate& a, const std::string& unit) {
  if (a.answered == 0 || a.cpu_ms <= 0) return "";
  return "daemon CPU " + FormatMs(a.cpu_ms / static_cast<double>(a.answered)) + "/" + unit;
}

// "1.20x the goal of 20,000 leases/s; daemon CPU 95 us/lease".
std::string GoalAndCpu(const Aggregate& a) {
  char ratio[64];
  std::snprintf(ratio, sizeof ratio, "%.2fx the goal of 20,000 leases/s", a.per_second() / kLeaseGoalPerSecond);
  return std::string(ratio) + "; " + CpuPerRequest(a, "lease");
}

// "manager leases over mTLS" at 16 and 256 connections, interleaved slice by slice, with
// the node certificate of a worker joined to `manager`'s cluster; n/a rows when the TLS
// client or the cluster is not there.
std::vector<Row> TlsLeaseRows(const ManagerProcess& manager, const std::string& dir, int slices,
                              std::chrono::milliseconds slice, std::chrono::milliseconds warmup,
                              const std::string& only) {
  const std::string bench = "manager leases over mTLS";
  std::vector<LoadVariant> variants = {{"16 connections, 1 secret", 16, "bench-one"},
                                       {"256 connections, 1 secret", 256, "bench-one"}};
  std::erase_if(variants, [&](const LoadVariant& v) { return v.name.find(only) == std::string::npos; });
  std::vector<Row> rows;
  Result<BenchCluster> cluster = MakeCluster(manager, dir);
  if (!cluster.ok()) {
    for (const auto& v : variants) rows.push_back(NotAvailableRow(bench, v.name, "n/a: " + cluster.status().ToString()));
    return rows;
  }
  const TlsClientOptions tls = NodeTls(*cluster);
  Log(bench + ": " + std::to_string(variants.size()) + " variants x " + std::to_string(slices) + " slices of " +
      std::to_string(slice.count()) + " ms, interleaved, one thread per connection");
  std::vector<Aggregate> agg(variants.size());
  std::vector<std::vector<std::unique_ptr<Transport>>> pools(variants.size());
  for (int round = 0; round < slices; ++round) {
    for (std::size_t v = 0; v < variants.size(); ++v) {
      if (!agg[v].error.ok()) continue;
      auto cpu_before = CpuTimeMs(manager.pid());
      Aggregate a = RunTlsSlice(cluster->addr, tls, variants[v].connections, variants[v].service,
                                warmup, slice, pools[v]);
      auto cpu_after = CpuTimeMs(manager.pid());
      if (cpu_before.ok() && cpu_after.ok()) agg[v].cpu_ms += *cpu_after - *cpu_before;
      agg[v].latency_ms.insert(agg[v].latency_ms.end(), a.latency_ms.begin(), a.latency_ms.end());
      agg[v].completed += a.completed;
      agg[v].answered += a.answered;
      agg[v].seconds += a.seconds;
      agg[v].error = a.error;
      if (agg[v].unexpected.empty()) agg[v].unexpected = a.unexpected;
    }
  }
  for (std::size_t v = 0; v < variants.size(); ++v) {
    Row row = LoadRow(bench, variants[v].name, agg[v], "leases");
    if (agg[v].error.ok() && agg[v].unexpected.empty()) row.compared = GoalAndCpu(agg[v]);
    rows.push_back(row);
  }
  cluster->worker->Stop();
  return rows;
}

// ---- the etcd store ------------------------------------------------------------------

constexpr double kEtcdCreateGoalPerSecond = 1000;
constexpr double kEtcdLeaseGoalRatio = 0.90;
constexpr double kEtcdStartGoalMs = 2000;

// A KvStore that gathers the registry's txns into txns of up to kMaxTxnOps ops and
// kMaxTxnBytes for a fresh store, so that 100,000 secrets are written as the API writes
// them in a few thousand txns. Fresh: every compare (on absence) holds and is dropped,
// every read finds nothing. One thread.
class BatchingStore final : public KvStore {
 public:
  explicit BatchingStore(KvStore& target) : target_(target) {}
  Result<KeyValue> Get(const std::string& key) override { return Status::NotFound(key); }
  Result<std::vector<KeyValue>> Range(const std::string&, bool) override {
    return std::vector<KeyValue>{};
  }
  Result<TxnResult> Commit(const Txn& txn) override {
    std::size_t bytes = 0;
    for (const Op& op : txn.ops) bytes += op.key.size() + op.value.size();
    if (pending_.ops.size() + txn.ops.size() > kMaxTxnOps || pending_bytes_ + bytes > kMaxTxnBytes) {
      RETURN_IF_ERROR(Flush(), "");
    }
    pending_.ops.insert(pending_.ops.end(), txn.ops.begin(), txn.ops.end());
    pending_bytes_ += bytes;
    return TxnResult{true, ++revision_};
  }
  Result<std::int64_t> Revision() override { return revision_; }
  Result<std::unique_ptr<Watcher>> Watch(const std::string&, std::int64_t) override {
    return Status::Unavailable("no watch while seeding");
  }
  std::string Engine() const override { return "batch"; }

  // Writes what is gathered.
  Status Flush() {
    if (pending_.ops.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(TxnResult r, target_.Commit(pending_), "seed etcd");
    if (!r.succeeded) return Status::Internal("seed etcd: a txn without compares failed");
    pending_ = Txn{};
    pending_bytes_ = 0;
    return Status::Ok();
  }

 private:
  KvStore& target_;
  Txn pending_;
  std::size_t pending_bytes_ = 0;
  std::int64_t revision_ = 0;
};

// Writes `count` secrets of 64 bytes under prefix in etcd, sealed with the root key at
// root_key_path (made there when missing), straight through EtcdKvStore in big txns.
Status SeedEtcd(const std::vector<std::string>& endpoints, const std::string& prefix, int count,
                const std::string& root_key_path) {
  StoreOptions options;
  options.engine = "etcd";
  options.etcd_endpoints = endpoints;
  options.etcd_prefix = prefix;
  ASSIGN_OR_RETURN(std::unique_ptr<KvStore> store, OpenStore(options), "");
  ASSIGN_OR_RETURN(KeyBytes root, LoadOrCreateRootKey(root_key_path), "");
  ASSIGN_OR_RETURN(std::unique_ptr<Keyring> keyring, Keyring::Open(root, *store), "");
  KeyringSealer sealer(keyring.get());
  BatchingStore batch(*store);
  RegistryOptions registry_options;
  registry_options.new_id = [] { return NewObjectId(); };
  Registry registry(&batch, &sealer, registry_options);
  const SecretBytes payload(64, 'x');
  for (int i = 0; i < count; ++i) {
    RETURN_IF_ERROR(registry.CreateSecret({"start-" + std::to_string(i), {}}, payload).status(),
                    "seed etcd");
  }
  return batch.Flush();
}

// "1.20x the goal of 1,000 creates/s".
std::string GoalRatio(double value, double goal, const std::string& goal_text) {
  char text[96];
  std::snprintf(text, sizeof text, "%.2fx the goal of %s", value / goal, goal_text.c_str());
  return text;
}

// "manager start on etcd with N secrets": exec to /v1/health answering, `rounds` times.
Row EtcdStartRow(const testing::EtcdCluster& etcd, const std::string& dir, bool quick) {
  const int secrets = quick ? 20000 : 100000;
  const std::string bench = "manager start on etcd";
  const std::string variant = FormatCount(secrets) + " secrets, 3 members" + (quick ? " (--quick)" : "");
  const std::string start_dir = dir + "/etcd-start";
  ::mkdir(start_dir.c_str(), 0700);
  ::mkdir((start_dir + "/state").c_str(), 0700);
  Log(bench + ": seeding " + FormatCount(secrets) + " secrets");
  Status seeded = SeedEtcd(etcd.ClientUrls(), "/bench-start/", secrets, start_dir + "/state/root.key");
  if (!seeded.ok()) return NotAvailableRow(bench, variant, "failed: " + seeded.ToString());
  std::vector<double> ms;
  for (int round = 0; round < (quick ? 2 : 5); ++round) {
    auto m = StartManager(start_dir, {"--store", "etcd", "--etcd-endpoints", etcd.EndpointsFlag(),
                                      "--etcd-prefix", "/bench-start/"});
    if (!m.ok()) return NotAvailableRow(bench, variant, "failed: " + m.status().ToString());
    ms.push_back((*m)->start_ms());
    (*m)->Stop();
  }
  Summary s = Summarize(ms);
  Row row;
  row.benchmark = bench;
  row.variant = variant;
  row.n = std::to_string(ms.size());
  row.median = FormatMs(s.median);
  row.tail = "max " + FormatMs(s.max);
  row.compared = GoalRatio(s.median, kEtcdStartGoalMs, "2 s (below 1 meets it)") +
                 "; exec to /v1/health answering";
  return row;
}

// The etcd rows: creates at 1 and 16 clients and leases at 16 clients on a manager on a
// 3-member etcd, the leases interleaved with the same load on `sqlite` (the embedded
// store's manager); then the start with many secrets. n/a rows when etcd cannot start.
std::vector<Row> EtcdRows(const ManagerProcess& sqlite, const std::string& dir, int slices,
                          std::chrono::milliseconds slice, std::chrono::milliseconds warmup,
                          bool quick, std::uint64_t* create_seq) {
  const std::string creates = "manager secret creates";
  const std::string leases = "manager leases with the etcd store";
  std::vector<std::string> names = {"etcd (3 members, loopback), 1 client",
                                    "etcd (3 members, loopback), 16 clients"};
  const std::string lease_name = "16 clients, 1 secret, etcd (3 members) vs SQLite";
  auto unavailable = [&](const std::string& why) {
    std::vector<Row> rows;
    for (const auto& n : names) rows.push_back(NotAvailableRow(creates, n, why));
    rows.push_back(NotAvailableRow(leases, lease_name, why));
    rows.push_back(NotAvailableRow("manager start on etcd", "3 members", why));
    return rows;
  };
  auto etcd = testing::EtcdCluster::Start({});
  if (!etcd.ok()) return unavailable("n/a: " + etcd.status().ToString());
  const std::string etcd_dir = dir + "/etcd-manager";
  ::mkdir(etcd_dir.c_str(), 0700);
  auto manager = StartSeededManager(etcd_dir, {"--store", "etcd", "--etcd-endpoints", (*etcd)->EndpointsFlag()});
  if (!manager.ok()) return unavailable("n/a: " + manager.status().ToString());
  const std::string socket = (*manager)->socket();
  const int pid = (*manager)->pid();

  std::vector<Row> rows;
  std::vector<LoadVariant> create_variants = {{names[0], 1, "", true, socket, pid},
                                              {names[1], 16, "", true, socket, pid}};
  Log(creates + " on etcd: 2 variants x " + std::to_string(slices) + " slices, interleaved");
  auto created = RunSlices(pid, socket, create_variants, slices, slice, warmup, create_seq);
  for (std::size_t i = 0; i < created.size(); ++i) {
    Row row = LoadRow(creates, names[i], created[i], "creates");
    if (created[i].error.ok() && created[i].unexpected.empty()) {
      row.compared = i == 1 ? GoalRatio(created[i].per_second(), kEtcdCreateGoalPerSecond, "1,000 creates/s")
                            : "";
      std::string cpu = CpuPerRequest(created[i], "create");
      if (!cpu.empty()) row.compared += (row.compared.empty() ? "" : "; ") + cpu;
    }
    rows.push_back(row);
  }

  std::vector<LoadVariant> lease_variants = {{"sqlite", 16, "bench-one"},
                                             {"etcd", 16, "bench-one", false, socket, pid}};
  Log(leases + ": SQLite and etcd x " + std::to_string(slices) + " slices, interleaved");
  auto leased = RunSlices(sqlite.pid(), sqlite.socket(), lease_variants, slices, slice, warmup, create_seq);
  Row lease_row = LoadRow(leases, lease_name, leased[1], "leases");
  if (leased[0].error.ok() && leased[1].error.ok() && leased[0].per_second() > 0) {
    double ratio = leased[1].per_second() / leased[0].per_second();
    char text[128];
    std::snprintf(text, sizeof text, "%.0f %% of the SQLite store's %s leases/s (goal >= %.0f %%)",
                  ratio * 100, FormatCount(leased[0].per_second()).c_str(), kEtcdLeaseGoalRatio * 100);
    lease_row.compared = text;
  } else if (!leased[0].error.ok()) {
    lease_row.compared = "SQLite side failed: " + leased[0].error.ToString();
  }
  rows.push_back(lease_row);
  (*manager)->Stop();

  rows.push_back(EtcdStartRow(**etcd, dir, quick));
  return rows;
}

int Main(int argc, char** argv) {
  auto options = ParseOptions(argc, argv);
  if (!options.ok()) {
    Log(options.status().ToString());
    return 2;
  }
  std::string only;  // --only TEXT: just the variants whose name holds TEXT (to profile one)
  for (std::size_t i = 0; i < options->rest.size(); ++i) {
    if (options->rest[i] == "--only" && i + 1 < options->rest.size()) {
      only = options->rest[++i];
    } else {
      Log("unknown argument " + options->rest[i] + " (flags: --quick, --rounds N, --rows-only, --only TEXT)");
      return 2;
    }
  }
  const bool quick = options->quick;
  const int slices = options->rounds.value_or(quick ? 3 : 10);
  const auto slice = std::chrono::milliseconds(quick ? 700 : 1500);
  const auto warmup = std::chrono::milliseconds(quick ? 150 : 300);

  const std::string leases = "manager leases (unix socket)";
  const std::string creates = "manager secret creates";
  std::vector<LoadVariant> lease_variants = {
      {"1 client, 1 secret", 1, "bench-one"},
      {"16 clients, 1 secret", 16, "bench-one"},
      {"256 clients, 1 secret", 256, "bench-one"},
      {"16 clients, 10 secrets of 4 KiB", 16, "bench-ten"},
  };
  std::vector<LoadVariant> create_variants = {
      {"embedded store (SQLite), 1 client", 1, "", true},
      {"embedded store (SQLite), 16 clients", 16, "", true},
  };

  if (!only.empty()) {
    auto keep = [&](std::vector<LoadVariant>& v) {
      std::erase_if(v, [&](const LoadVariant& x) { return x.name.find(only) == std::string::npos; });
    };
    keep(lease_variants);
    keep(create_variants);
  }

  std::vector<Row> rows;
  std::vector<Row> rows_tls;
  TempDir tmp;
  auto manager = StartSeededManager(tmp.path());
  if (!manager.ok()) {
    std::string why = "n/a: " + manager.status().ToString();
    for (const auto& v : lease_variants) rows.push_back(NotAvailableRow(leases, v.name, why));
    for (const auto& v : create_variants) rows.push_back(NotAvailableRow(creates, v.name, why));
  } else {
    const std::string socket = (*manager)->socket();
    std::uint64_t create_seq = 0;
    Log(leases + ": " + std::to_string(lease_variants.size()) + " variants x " + std::to_string(slices) +
        " slices of " + std::to_string(slice.count()) + " ms, interleaved");
    auto lease_agg = RunSlices((*manager)->pid(), socket, lease_variants, slices, slice, warmup, &create_seq);
    for (std::size_t i = 0; i < lease_variants.size(); ++i) {
      Row row = LoadRow(leases, lease_variants[i].name, lease_agg[i], "leases");
      if (lease_agg[i].error.ok() && lease_agg[i].unexpected.empty()) row.compared = GoalAndCpu(lease_agg[i]);
      rows.push_back(row);
    }
    Log(creates + ": " + std::to_string(create_variants.size()) + " variants x " + std::to_string(slices) +
        " slices, interleaved");
    auto create_agg = RunSlices((*manager)->pid(), socket, create_variants, slices, slice, warmup, &create_seq);
    for (std::size_t i = 0; i < create_variants.size(); ++i) {
      Row row = LoadRow(creates, create_variants[i].name, create_agg[i], "creates");
      if (i > 0 && create_agg[0].error.ok() && create_agg[i].error.ok() && create_agg[0].per_second() > 0 &&
          row.compared.empty()) {
        char ratio[64];
        std::snprintf(ratio, sizeof ratio, "%.2fx the throughput of 1 client",
                      create_agg[i].per_second() / create_agg[0].per_second());
        row.compared = ratio;
      }
      std::string cpu = CpuPerRequest(create_agg[i], "create");
      if (!cpu.empty()) row.compared += (row.compared.empty() ? "" : "; ") + cpu;
      rows.push_back(row);
    }
    rows_tls = TlsLeaseRows(**manager, tmp.path(), slices, slice, warmup, only);
    if (only.empty() || only.find("etcd") != std::string::npos) {
      std::vector<Row> etcd_rows = EtcdRows(**manager, tmp.path(), slices, slice, warmup, quick,
                                            &create_seq);
      rows_tls.insert(rows_tls.end(), etcd_rows.begin(), etcd_rows.end());
    }
    auto rss = ResidentKiB((*manager)->pid());
    if (rss.ok()) Log("manager RSS after the load: " + FormatCount(static_cast<double>(*rss)) + " KiB");
    (*manager)->Stop();
  }
  rows.insert(rows.end(), rows_tls.begin(), rows_tls.end());
  std::stable_partition(rows.begin(), rows.end(), [&](const Row& r) { return r.benchmark == leases; });
  PrintRows(rows, *options);
  return 0;
}

}  // namespace
}  // namespace ocisecrets::bench

int main(int argc, char** argv) { return ocisecrets::bench::Main(argc, argv); }
