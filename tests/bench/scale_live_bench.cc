// Scale of live updates, simulated: one manager (`cluster init` on a loopback TLS address)
// and N simulated nodes (1,000 by default), each joined for real (POST /v1/cluster/join
// with the node token and a CSR of its own key: a distinct node certificate), each with C
// leased containers (100 by default; POST /v1/leases over its own mutual-TLS connection,
// NodeID itself, a service holding secret "db"), and each holding one long-poll POST
// /v1/changes (WaitMs 25000) at all times on that kept-alive connection. Every node is a
// coroutine of one Asio thread, not a thread of its own. Then `secret rotate db` (POST
// /v1/secrets/ID/rotate on the unix socket), a few times: the time from just before the
// rotate is sent until each node's poll returned with db in Changed (p50, p99, max), the
// goal "all told within 1 s", and the manager's CPU time and RSS (VmRSS, VmHWM) before,
// during and after. --quick is the short run for CI: 50 nodes x 10 containers.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>  // asio 1.74's awaitable needs std::exchange declared first
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "shared/cluster_models.h"
#include "shared/join_token.h"
#include "shared/pki.h"
#include "shared/tls_policy.h"
#include "shared/tls_stream.h"
#include "tests/bench/bench_runner.h"
#include "tests/bench/seed.h"
#include "tests/bench/unix_http.h"

namespace ocisecrets::bench {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using net::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kService[] = "live";
constexpr char kSecret[] = "db";
constexpr int kWaitMs = 25000;
constexpr auto kToldTimeout = std::chrono::seconds(30);

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// What every node coroutine and the main thread share. Counters are atomics; a node's
// own figures are written only by its coroutine and read once `told` says it is done.
struct Shared {
  std::string secret_id;
  int containers = 0;
  int rounds = 0;
  std::atomic<int> ready{0};     // nodes that leased everything and know the feed's epoch
  std::atomic<int> parked{0};    // nodes whose long-poll is sent and not yet answered
  std::atomic<int> failed{0};
  std::atomic<int> round{-1};    // the rotate being timed; -1 before the first
  std::vector<Clock::time_point> sent;        // per round: just before the rotate was sent
  std::unique_ptr<std::atomic<int>[]> told;   // per round: nodes told
  std::mutex mu;
  std::string first_error;
  void Fail(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.empty()) first_error = what;
    failed.fetch_add(1);
  }
};

// One simulated node: its identity from the join, its TLS context and connection.
struct Node {
  std::string node_id;
  std::unique_ptr<net::ssl::context> tls;
  std::optional<net::ssl::stream<tcp::socket>> stream;
  std::vector<double> told_ms;  // per round; -1 until told
};

// A real join of one node: a key of its own, a CSR, POST /v1/cluster/join over TLS with
// the CA pinned by the token; its node ID and a TLS context holding its certificate.
Status Join(const std::string& addr, const std::string& token, int index, Node* node) {
  ASSIGN_OR_RETURN(JoinToken parsed, ParseJoinToken(token), "join token");
  char hostname[32];
  std::snprintf(hostname, sizeof hostname, "sim-%05d", index);
  ASSIGN_OR_RETURN(SecretBytes key, GenerateKeyPem(), "node key");
  JoinRequest wire;
  wire.token = token;
  wire.hostname = hostname;
  ASSIGN_OR_RETURN(wire.csr, MakeCsr(key, hostname), "certificate request");
  TlsClientOptions pinned;
  pinned.pin_ca_digest = parsed.ca_digest;
  ASSIGN_OR_RETURN(auto transport, MakeTransport("https://" + addr, &pinned), "join");
  HttpRequest request{"POST", "/v1/cluster/join", ToJson(wire)};
  WipeString(wire.token);
  auto answer = transport->RoundTrip(request, Clock::now() + std::chrono::seconds(30));
  WipeString(request.body);
  if (!answer.ok()) return answer.status().WithContext("join");
  RETURN_IF_ERROR(StatusFromHttp(answer->status, answer->body), "join");
  ASSIGN_OR_RETURN(JoinResponse joined, ParseJoinResponse(answer->body), "join");
  node->node_id = joined.node_id;
  TlsClientOptions mtls;
  mtls.ca_pem = joined.ca;
  mtls.cert_pem = joined.certificate;
  mtls.key_pem = std::move(key);
  mtls.require_role = "manager";
  ASSIGN_OR_RETURN(SslCtxPtr ctx, MakeClientSslContext(mtls), "node TLS");
  node->tls = std::make_unique<net::ssl::context>(ctx.release());  // takes ownership
  return Status::Ok();
}

// One request and its answer on the node's connection; ec set on a transport error.
net::awaitable<http::response<http::string_body>> Exchange(net::ssl::stream<tcp::socket>& stream,
                                                           boost::beast::flat_buffer& buffer,
                                                           const std::string& target, std::string body,
                                                           boost::system::error_code& ec,
                                                           std::atomic<int>* parked = nullptr) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "manager");
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  http::response<http::string_body> res;
  co_await http::async_write(stream, req, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return res;
  if (parked != nullptr) parked->fetch_add(1);
  co_await http::async_read(stream, buffer, res, net::redirect_error(net::use_awaitable, ec));
  if (parked != nullptr) parked->fetch_sub(1);
  co_return res;
}

std::string ChangesBody(const std::string& epoch, std::uint64_t since, const std::string& secret_id,
                        int wait_ms) {
  return json{{"Epoch", epoch}, {"Since", since}, {"Secrets", {secret_id}}, {"Services", json::array()},
              {"WaitMs", wait_ms}}
      .dump();
}

// A node's life: connect, lease its containers, learn the feed's epoch, then long-poll
// until its connection is closed, noting when each timed rotate reached it.
net::awaitable<void> RunNode(Node& node, int index, tcp::endpoint manager, Shared& shared) {
  const std::string who = "node " + std::to_string(index);
  boost::system::error_code ec;
  auto& stream = *node.stream;
  co_await stream.next_layer().async_connect(manager, net::redirect_error(net::use_awaitable, ec));
  if (!ec) co_await stream.async_handshake(net::ssl::stream_base::client, net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    shared.Fail(who + ": connect: " + ec.message());
    co_return;
  }
  stream.next_layer().set_option(tcp::no_delay(true), ec);
  boost::beast::flat_buffer buffer;
  for (int c = 0; c < shared.containers; ++c) {
    json lease = {{"ContainerID", "sim-" + std::to_string(index) + "-c" + std::to_string(c)},
                  {"Service", kService},
                  {"NodeID", node.node_id}};
    auto res = co_await Exchange(stream, buffer, "/v1/leases", lease.dump(), ec);
    if (ec || res.result_int() != 200) {
      // The answer of a refusal holds no payload; a granted lease's body is never shown.
      shared.Fail(who + ": lease: " + (ec ? ec.message() : "HTTP " + std::to_string(res.result_int()) + " " + res.body()));
      co_return;
    }
    WipeString(res.body());
  }
  std::string epoch;
  std::uint64_t since = 0;
  int wait_ms = 1;  // the first call only learns where the feed is
  bool counted_ready = false;
  for (;;) {
    auto res = co_await Exchange(stream, buffer, "/v1/changes",
                                 ChangesBody(epoch, since, shared.secret_id, wait_ms), ec,
                                 counted_ready ? &shared.parked : nullptr);
    const Clock::time_point at = Clock::now();
    if (ec) {
      // The end of the run closes every connection; anything else is a failure.
      if (ec != net::error::operation_aborted && ec != net::error::bad_descriptor) {
        shared.Fail(who + ": changes: " + ec.message());
      }
      co_return;
    }
    json answer = json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
    if (res.result_int() != 200 || !answer.is_object()) {
      shared.Fail(who + ": changes: HTTP " + std::to_string(res.result_int()) + " " + res.body());
      co_return;
    }
    bool changed = answer.value("Reset", false);
    if (answer.contains("Changed") && answer["Changed"].is_array()) {
      for (const auto& id : answer["Changed"]) changed = changed || (id.is_string() && id == shared.secret_id);
    }
    epoch = answer.value("Epoch", std::string());
    since = answer.value("Revision", std::uint64_t{0});
    const int round = shared.round.load();
    if (changed && round >= 0 && node.told_ms[static_cast<std::size_t>(round)] < 0) {
      node.told_ms[static_cast<std::size_t>(round)] = MsBetween(shared.sent[static_cast<std::size_t>(round)], at);
      shared.told[round].fetch_add(1);
    }
    if (!counted_ready) {
      counted_ready = true;
      shared.ready.fetch_add(1);
    }
    wait_ms = kWaitMs;
  }
}

// The manager's figures at one moment.
struct Sample {
  double cpu_ms = 0;
  long rss_kib = 0;
  long peak_kib = 0;
};
Result<Sample> SampleOf(int pid) {
  Sample s;
  ASSIGN_OR_RETURN(s.cpu_ms, CpuTimeMs(pid), "manager CPU");
  ASSIGN_OR_RETURN(s.rss_kib, ResidentKiB(pid), "manager RSS");
  ASSIGN_OR_RETURN(s.peak_kib, PeakResidentKiB(pid), "manager RSS");
  return s;
}

// Waits until pred() or the deadline; false at the deadline.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit, std::chrono::milliseconds step = std::chrono::milliseconds(5)) {
  const Clock::time_point end = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

// Every file descriptor this process and the manager (its child) may hold: two per node
// connection and then some.
void RaiseFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) Log("cannot raise the file limit");
}

std::vector<Row> Run(int nodes, int containers, int rounds) {
  const std::string bench = "scale, simulated: " + FormatCount(nodes) + " nodes x " +
                            FormatCount(containers) + " containers, long-polling one manager (mTLS)";
  const std::vector<std::string> variants = {"setup: joins and leases", "rotate → every node told",
                                             "manager CPU", "manager RSS"};
  auto all_na = [&](const std::string& why) {
    std::vector<Row> na;
    for (const auto& v : variants) na.push_back(NotAvailableRow(bench, v, why));
    return na;
  };
  TempDir tmp;
  auto manager = StartManager(tmp.path());
  if (!manager.ok()) return all_na("n/a: " + manager.status().ToString());
  const int pid = (*manager)->pid();
  Shared shared;
  shared.containers = containers;
  shared.rounds = rounds;
  shared.sent.resize(static_cast<std::size_t>(rounds));
  shared.told = std::make_unique<std::atomic<int>[]>(static_cast<std::size_t>(rounds));
  auto conn = UnixHttpConnection::Connect((*manager)->socket());
  if (!conn.ok()) return all_na("failed: " + conn.status().ToString());
  {
    auto id = CreateSecretWith(**conn, kSecret, "scale-first-value");
    if (!id.ok()) return all_na("failed: " + id.status().ToString());
    shared.secret_id = *id;
    if (Status st = CreateService(**conn, kService, {kSecret}); !st.ok()) return all_na("failed: " + st.ToString());
  }
  auto cluster = InitCluster(**manager);
  if (!cluster.ok()) return all_na("failed: " + cluster.status().ToString());

  // Joins, sequential: each a TLS handshake, a CSR signed, a node record written.
  Log(bench + ": " + std::to_string(nodes) + " joins");
  const Clock::time_point setup_start = Clock::now();
  net::io_context ioc(1);  // before the nodes: their sockets go first
  std::vector<Node> node(static_cast<std::size_t>(nodes));
  for (int i = 0; i < nodes; ++i) {
    if (Status st = Join(cluster->addr, cluster->node_token, i, &node[static_cast<std::size_t>(i)]); !st.ok()) {
      return all_na("failed: node " + std::to_string(i) + ": " + st.ToString());
    }
    node[static_cast<std::size_t>(i)].told_ms.assign(static_cast<std::size_t>(rounds), -1);
  }
  const double join_ms = MsBetween(setup_start, Clock::now());

  // Leases and the long-polls, every node a coroutine of one thread.
  Log(bench + ": " + std::to_string(nodes * containers) + " leases, then the long-polls");
  const auto colon = cluster->addr.rfind(':');
  tcp::endpoint endpoint(net::ip::make_address(cluster->addr.substr(0, colon)),
                         static_cast<unsigned short>(std::stoi(cluster->addr.substr(colon + 1))));
  for (int i = 0; i < nodes; ++i) {
    Node& n = node[static_cast<std::size_t>(i)];
    n.stream.emplace(ioc, *n.tls);
    net::co_spawn(ioc, RunNode(n, i, endpoint, shared), net::detached);
  }
  const Clock::time_point lease_start = Clock::now();
  std::thread io([&ioc] { ioc.run(); });
  // Closes every node's connection on the I/O thread, ends the coroutines, joins it.
  auto finish = [&] {
    net::post(ioc, [&node] {
      for (Node& n : node) {
        boost::system::error_code ignored;
        n.stream->next_layer().close(ignored);
      }
    });
    io.join();
  };
  const bool all_ready = WaitFor([&] { return shared.ready.load() + shared.failed.load() >= nodes; },
                                 std::chrono::minutes(10), std::chrono::milliseconds(20));
  if (!all_ready || shared.failed.load() > 0) {
    finish();
    std::lock_guard<std::mutex> lock(shared.mu);
    return all_na("failed: " + std::to_string(shared.failed.load()) + " nodes, e.g. " +
                  (shared.first_error.empty() ? std::string("setup took over 10 minutes") : shared.first_error));
  }
  const double lease_ms = MsBetween(lease_start, Clock::now());
  std::vector<Row> rows;
  {
    Row r;
    r.benchmark = bench;
    r.variant = variants[0];
    r.n = FormatCount(nodes) + " + " + FormatCount(static_cast<double>(nodes) * containers);
    r.median = FormatMs(join_ms + lease_ms) + " total";
    r.throughput = FormatCount(nodes / (join_ms / 1000)) + " joins/s (sequential), " +
                   FormatCount(static_cast<double>(nodes) * containers / (lease_ms / 1000)) + " leases/s";
    r.compared = "every node a distinct certificate from a real join";
    rows.push_back(r);
  }

  // Quiet: every node parked on its long-poll; the manager's idle cost of holding them.
  auto all_parked = [&] { return shared.parked.load() >= nodes; };
  WaitFor(all_parked, std::chrono::seconds(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Result<Sample> before = SampleOf(pid);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  Result<Sample> quiet = SampleOf(pid);
  if (!before.ok() || !quiet.ok()) {
    finish();
    return all_na("failed: " + (before.ok() ? quiet.status() : before.status()).ToString());
  }

  std::vector<double> told;       // every (rotate, node)
  std::vector<double> all_told;   // per rotate: its last node
  std::vector<double> cpu_during; // per rotate: manager CPU from the send until all told
  long rss_during = before->rss_kib;
  Status error;
  for (int r = 0; r < rounds && error.ok(); ++r) {
    if (!WaitFor(all_parked, std::chrono::seconds(30))) {
      error = Status::DeadlineExceeded("not every node was long-polling again within 30 s");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Result<Sample> start = SampleOf(pid);
    if (!start.ok()) {
      error = start.status();
      break;
    }
    shared.sent[static_cast<std::size_t>(r)] = Clock::now();
    shared.round.store(r);
    Log(bench + ": rotate " + std::to_string(r + 1) + " of " + std::to_string(rounds));
    if (Status st = RotateSecret(**conn, shared.secret_id, "scale-value-" + std::to_string(r)); !st.ok()) {
      error = st;
      break;
    }
    // Sample the manager while the change fans out.
    const Clock::time_point end = shared.sent[static_cast<std::size_t>(r)] + kToldTimeout;
    while (shared.told[r].load() < nodes && Clock::now() < end) {
      if (auto rss = ResidentKiB(pid); rss.ok()) rss_during = std::max(rss_during, *rss);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    Result<Sample> done = SampleOf(pid);
    if (shared.told[r].load() < nodes) {
      error = Status::DeadlineExceeded(std::to_string(nodes - shared.told[r].load()) + " of " +
                                       std::to_string(nodes) + " nodes not told within 30 s");
      break;
    }
    if (done.ok()) {
      cpu_during.push_back(done->cpu_ms - start->cpu_ms);
      rss_during = std::max(rss_during, done->rss_kib);
    }
    double last = 0;
    for (const Node& n : node) {
      told.push_back(n.told_ms[static_cast<std::size_t>(r)]);
      last = std::max(last, n.told_ms[static_cast<std::size_t>(r)]);
    }
    all_told.push_back(last);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  Result<Sample> after = SampleOf(pid);
  finish();
  (*manager)->Stop();

  if (!error.ok()) {
    rows.push_back(NotAvailableRow(bench, variants[1], "failed: " + error.ToString()));
  } else {
    Summary s = Summarize(told);
    Row row = DistributionRow(bench, variants[1], s);
    const double worst = Summarize(all_told).max;
    row.throughput = "all told: p50 " + FormatMs(Summarize(all_told).median) + ", worst " + FormatMs(worst);
    row.compared = "from just before the rotate is sent, " + std::to_string(rounds) + " rotates; " +
                   GoalLine(worst < 1000, "all " + FormatCount(nodes) + " told within 1 s");
    rows.push_back(row);
  }
  if (!after.ok()) {
    rows.push_back(NotAvailableRow(bench, variants[2], "failed: " + after.status().ToString()));
    rows.push_back(NotAvailableRow(bench, variants[3], "failed: " + after.status().ToString()));
    return rows;
  }
  {
    Row row;
    row.benchmark = bench;
    row.variant = variants[2];
    row.n = std::to_string(cpu_during.size()) + " rotates";
    row.median = cpu_during.empty() ? "" : FormatMs(Summarize(cpu_during).median) + " per rotate";
    row.tail = cpu_during.empty() ? "" : "max " + FormatMs(Summarize(cpu_during).max);
    row.throughput = "idle with every poll held: " + FormatMs(quiet->cpu_ms - before->cpu_ms) + "/s";
    row.compared = "utime+stime: " + FormatMs(before->cpu_ms) + " before (setup), " +
                   FormatMs(after->cpu_ms) + " after";
    rows.push_back(row);
  }
  {
    Row row;
    row.benchmark = bench;
    row.variant = variants[3];
    row.median = "before " + FormatKiB(before->rss_kib);
    row.tail = "during " + FormatKiB(rss_during) + ", after " + FormatKiB(after->rss_kib);
    row.throughput = "peak (VmHWM) " + FormatKiB(after->peak_kib);
    row.compared = GoalLine(after->peak_kib < 256 * 1024, "RSS under 256 MiB (peak)");
    rows.push_back(row);
  }
  return rows;
}

int Main(int argc, char** argv) {
  auto options = ParseOptions(argc, argv);
  if (!options.ok()) {
    Log(options.status().ToString());
    return 2;
  }
  int nodes = options->quick ? 50 : 1000;
  int containers = options->quick ? 10 : 100;
  for (std::size_t i = 0; i < options->rest.size(); ++i) {
    const std::string& flag = options->rest[i];
    if ((flag == "--nodes" || flag == "--containers") && i + 1 < options->rest.size()) {
      int v = std::atoi(options->rest[++i].c_str());
      if (v <= 0) {
        Log(flag + " needs a positive number");
        return 2;
      }
      (flag == "--nodes" ? nodes : containers) = v;
    } else {
      Log("unknown argument " + flag +
          " (flags: --quick, --rounds N, --rows-only, --nodes N, --containers N)");
      return 2;
    }
  }
  RaiseFileLimit();
  const int rounds = options->rounds.value_or(options->quick ? 3 : 5);
  PrintRows(Run(nodes, containers, rounds), *options);
  return 0;
}

}  // namespace
}  // namespace ocisecrets::bench

int main(int argc, char** argv) { return ocisecrets::bench::Main(argc, argv); }
