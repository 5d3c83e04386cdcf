// Live updates on one node: a real daemon (the node role and its launcher), N = 1, 10, 100
// runc containers that keep running with our hook installed, and one service holding
// secret "db". Each round rotates db (POST /v1/secrets/ID/rotate, what `secret rotate`
// sends) and times, from just before the request is sent, until the new value is what
// each container's /run/secrets/db holds, read from the host through /proc/PID/root and
// polled every millisecond. Rows: p50, p99 and max per N over every (rotate, container),
// with the goal "p99 under 1 s for 100 containers". Then the CPU of one refresh: the user
// and system time (wait4) of `oci-secrets-hook refresh` run directly with a plan for one of
// the running containers, against the goal "under 5 ms of CPU". Every container is
// deleted at the end.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/refresh_plan.h"
#include "shared/secure_buffer.h"
#include "tests/bench/bench_runner.h"
#include "tests/bench/bundle.h"
#include "tests/bench/seed.h"
#include "tests/bench/unix_http.h"

namespace ocisecrets::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kBenchmark[] = "rotate → visible in N running runc containers";
constexpr char kService[] = "live";
constexpr char kSecret[] = "db";
constexpr char kSecretsDir[] = "/run/secrets";
constexpr std::uint64_t kTmpfsSize = 16 << 20;  // the hook's default
// How long a value may take to show before the round counts it as never seen.
constexpr auto kVisibleTimeout = std::chrono::seconds(30);

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// What /proc/PID/root/run/secrets/db holds now ("" when it cannot be read).
std::string ReadSecret(int pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/root" + kSecretsDir + "/" + kSecret;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// A printable value no earlier round used.
std::string NewValue(const std::string& tag) {
  static std::mt19937_64 rng{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return "live-" + tag + "-" + buf;
}

struct Container {
  std::string id;
  int pid = 0;
};

// The running containers of the run, all from one bundle; every one is deleted (which
// runs the poststop hook) when the set dies.
class Containers {
 public:
  Containers(std::string runc, std::string dir, std::string bundle)
      : runc_(std::move(runc)), dir_(std::move(dir)), bundle_(std::move(bundle)) {}
  ~Containers() {
    for (const Container& c : running_) {
      auto r = RunProcess({runc_, "--root", dir_ + "/runc", "delete", "--force", c.id},
                          ProcessIo{.stderr_path = dir_ + "/runc.log"});
      if (!r.ok() || r->exit_code != 0) Log("could not delete container " + c.id + ": see runc.log");
    }
  }
  Containers(const Containers&) = delete;
  Containers& operator=(const Containers&) = delete;

  // `runc run -d` of one more container, and its init's pid from `runc state`.
  Status StartOne() {
    Container c;
    c.id = "ocs-live-" + std::to_string(::getpid()) + "-" + std::to_string(running_.size());
    const std::string root = dir_ + "/runc";
    ASSIGN_OR_RETURN(ProcessResult run,
                     RunProcess({runc_, "--root", root, "run", "-d", "--bundle", bundle_, c.id},
                                ProcessIo{.stderr_path = dir_ + "/runc.log"}),
                     "start " + c.id);
    if (run.exit_code != 0) {
      return Status::IOError("runc run -d " + c.id + " exited with " + std::to_string(run.exit_code) +
                             " (see runc.log and hook.log)");
    }
    running_.push_back(c);  // deleted at the end even if what follows fails
    ASSIGN_OR_RETURN(ProcessResult state,
                     RunProcess({runc_, "--root", root, "state", c.id}, ProcessIo{.capture_out = true}),
                     "runc state " + c.id);
    nlohmann::json j = nlohmann::json::parse(state.out, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) {
      return Status::DataLoss("runc state " + c.id + ": no pid");
    }
    running_.back().pid = j["pid"].get<int>();
    return Status::Ok();
  }

  const std::vector<Container>& running() const { return running_; }

 private:
  std::string runc_;
  std::string dir_;
  std::string bundle_;
  std::vector<Container> running_;
};

// Polls every container until it shows `value`; the ms from t0 at which each did.
// DeadlineExceeded naming how many never did within kVisibleTimeout.
Result<std::vector<double>> WaitVisible(const std::vector<Container>& containers,
                                        const std::string& value, Clock::time_point t0) {
  std::vector<double> seen(containers.size(), -1);
  std::size_t pending = containers.size();
  while (pending > 0) {
    for (std::size_t i = 0; i < containers.size(); ++i) {
      if (seen[i] >= 0) continue;
      if (ReadSecret(containers[i].pid) == value) {
        seen[i] = MsSince(t0);
        --pending;
      }
    }
    if (pending == 0) break;
    if (Clock::now() - t0 > kVisibleTimeout) {
      return Status::DeadlineExceeded("the new value was not visible in " + std::to_string(pending) +
                                      " of " + std::to_string(containers.size()) +
                                      " containers within 30 s (live updates off? see manager.log)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return seen;
}

// R rotates with the containers running: one row.
Row MeasureRotates(UnixHttpConnection& conn, const std::string& secret_id,
                   const std::vector<Container>& containers, int rounds, std::string* last_value) {
  const std::size_t n = containers.size();
  const std::string variant = "N = " + std::to_string(n) + ", " + std::to_string(rounds) + " rotates";
  std::vector<double> visible;    // every (rotate, container)
  std::vector<double> last;       // per rotate: its last container
  std::vector<double> answered;   // per rotate: the API's answer
  for (int r = 0; r < rounds; ++r) {
    std::string value = NewValue(std::to_string(n) + "-" + std::to_string(r));
    const Clock::time_point t0 = Clock::now();
    Status st = RotateSecret(conn, secret_id, value);
    answered.push_back(MsSince(t0));
    if (!st.ok()) return NotAvailableRow(kBenchmark, variant, "failed: " + st.ToString());
    *last_value = value;  // current from now on, whether or not it shows
    Result<std::vector<double>> seen = WaitVisible(containers, value, t0);
    if (!seen.ok()) return NotAvailableRow(kBenchmark, variant, "failed: " + seen.status().ToString());
    visible.insert(visible.end(), seen->begin(), seen->end());
    last.push_back(Summarize(*seen).max);
  }
  Summary s = Summarize(visible);
  Row row = DistributionRow(kBenchmark, variant, s);
  row.throughput = "all " + std::to_string(n) + ": p50 " + FormatMs(Summarize(last).median);
  row.compared = "from just before the rotate is sent; its answer p50 " + FormatMs(Summarize(answered).median);
  if (n >= 100) row.compared += "; " + GoalLine(s.p99 < 1000, "p99 under 1 s for 100 containers");
  return row;
}

// The CPU (user + system, from wait4) of `oci-secrets-hook refresh` run directly on one
// container with a plan holding `value`: one row.
Row MeasureRefreshCpu(const std::string& hook, const Container& c, const std::string& value,
                      int runs) {
  const std::string bench = "live refresh of one container (oci-secrets-hook refresh)";
  const std::string variant = "1 file, run directly, " + std::to_string(runs) + " runs";
  Result<std::uint64_t> start_time = ProcessStartTime(c.pid);
  if (!start_time.ok()) return NotAvailableRow(bench, variant, "failed: " + start_time.status().ToString());
  RefreshPlan plan;
  plan.container_id = c.id;
  plan.pid = c.pid;
  plan.start_time = *start_time;
  plan.secrets_dir = kSecretsDir;
  plan.tmpfs_size = kTmpfsSize;
  LeasedFile file;
  file.name = kSecret;
  file.mode = 0444;
  file.data = SecretBytes(value.begin(), value.end());
  plan.files.push_back(std::move(file));
  ProcessIo io;
  io.input = ToJson(plan);
  io.capture_out = true;
  std::vector<double> cpu;
  std::vector<double> wall;
  Status error;
  for (int i = 0; i < runs && error.ok(); ++i) {
    const Clock::time_point t0 = Clock::now();
    Result<ProcessResult> r = RunProcess({hook, "refresh"}, io, {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"});
    wall.push_back(MsSince(t0));
    if (!r.ok()) {
      error = r.status();
    } else if (RefreshOutcome o = ParseRefreshOutcome(r->out); o.kind != RefreshOutcome::Kind::kRefreshed) {
      error = Status::Internal("oci-secrets-hook refresh answered: " + o.detail);
    } else if (ReadSecret(c.pid) != value) {
      error = Status::Internal("after the refresh the container does not show the value");
    } else {
      cpu.push_back(r->cpu_ms);
    }
  }
  WipeString(io.input);
  if (!error.ok()) return NotAvailableRow(bench, variant, "failed: " + error.ToString());
  Summary s = Summarize(cpu);
  Row row = DistributionRow(bench, variant, s, "CPU p50");
  row.compared = "wall p50 " + FormatMs(Summarize(wall).median) + "; " +
                 GoalLine(s.p99 < 5, "under 5 ms of CPU (p99)");
  return row;
}

int Main(int argc, char** argv) {
  auto options = ParseOptions(argc, argv);
  if (!options.ok()) {
    Log(options.status().ToString());
    return 2;
  }
  std::vector<std::size_t> sizes = {1, 10, 100};
  for (std::size_t i = 0; i < options->rest.size(); ++i) {
    if (options->rest[i] == "--containers" && i + 1 < options->rest.size()) {
      sizes = {std::strtoul(options->rest[++i].c_str(), nullptr, 10)};
    } else {
      Log("unknown argument " + options->rest[i] +
          " (flags: --quick, --rounds N, --rows-only, --containers N)");
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);  // a hook that exits before reading its plan
  std::vector<Row> rows;
  auto all_na = [&](const std::string& why) {
    for (std::size_t n : sizes) rows.push_back(NotAvailableRow(kBenchmark, "N = " + std::to_string(n), why));
    rows.push_back(NotAvailableRow("live refresh of one container (oci-secrets-hook refresh)", "1 file", why));
    PrintRows(rows, *options);
    return 0;
  };
  const std::string hook = BinDir() + "/oci-secrets-hook";
  if (!IsExecutable(hook)) return all_na("n/a: oci-secrets-hook not built yet");
  auto runc = RunProcess({"runc", "--version"});
  if (!runc.ok() || runc->exit_code != 0) return all_na("n/a: runc not installed");

  TempDir tmp;
  auto manager = StartManager(tmp.path());
  if (!manager.ok()) return all_na("n/a: " + manager.status().ToString());
  auto conn = UnixHttpConnection::Connect((*manager)->socket());
  if (!conn.ok()) return all_na("failed: " + conn.status().ToString());
  std::string value = NewValue("first");
  Result<std::string> secret_id = CreateSecretWith(**conn, kSecret, value);
  Status st = secret_id.status();
  if (st.ok()) st = CreateService(**conn, kService, {kSecret});
  const std::string hook_config = tmp.path() + "/hook.json";
  if (st.ok()) st = WriteFile(hook_config, HookConfigJson(tmp.path(), (*manager)->socket()));
  const std::string bundle = tmp.path() + "/bundle";
  if (st.ok()) st = BuildRootfs(bundle + "/rootfs");
  if (st.ok()) {
    const Hook prestart{hook, {"oci-secrets-hook", "--config", hook_config, "prestart"}};
    const Hook poststop{hook, {"oci-secrets-hook", "--config", hook_config, "poststop"}};
    st = WriteFile(bundle + "/config.json",
                   ConfigJson(bundle + "/rootfs", {"/bin/sleep", "1000000"}, {prestart}, {poststop},
                              {{kServiceAnnotation, kService}}));
  }
  if (!st.ok()) return all_na("failed: " + st.ToString());

  {
    Containers containers("runc", tmp.path(), bundle);
    for (std::size_t n : sizes) {
      const int rounds = options->rounds.value_or(n >= 100 ? (options->quick ? 3 : 5) : (options->quick ? 5 : 10));
      Status started;
      while (started.ok() && containers.running().size() < n) started = containers.StartOne();
      // A new container starts with the current value; make sure every one shows it.
      if (started.ok()) started = WaitVisible(containers.running(), value, Clock::now()).status();
      if (!started.ok()) {
        rows.push_back(NotAvailableRow(kBenchmark, "N = " + std::to_string(n), "failed: " + started.ToString()));
        break;
      }
      Log("N = " + std::to_string(n) + ": " + std::to_string(rounds) + " rotates");
      rows.push_back(MeasureRotates(**conn, *secret_id, containers.running(), rounds, &value));
    }
    if (containers.running().empty() || containers.running().front().pid == 0) {
      rows.push_back(NotAvailableRow("live refresh of one container (oci-secrets-hook refresh)", "1 file",
                                     "n/a: no container running"));
    } else {
      rows.push_back(MeasureRefreshCpu(hook, containers.running().front(), value,
                                       options->quick ? 20 : 100));
    }
  }
  WipeString(value);
  PrintRows(rows, *options);
  (*manager)->Stop();
  return 0;
}

}  // namespace
}  // namespace ocisecrets::bench

int main(int argc, char** argv) { return ocisecrets::bench::Main(argc, argv); }
