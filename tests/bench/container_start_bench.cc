// Container start: wall time of `RUNTIME run` of a busybox `true` container, for runc and
// crun, with no hooks; with two /bin/true hooks (the floor any hook pays); with our hook
// on a container without the annotation; with 1 secret; with 10 secrets of 4 KiB; through
// the runc shim; with 1 secret through a worker (a second daemon joined to the manager's
// cluster: the hook asks the worker, which forwards the lease over mutual TLS), and the
// worker daemon's RSS after the runs. Variants of one runtime run interleaved, round after round. Besides wall
// time, each row gives the median CPU time of the start (the runtime and all it waits for:
// hooks, container; the manager's share of a lease is in the manager rows).
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <memory>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "shared/models.h"
#include "tests/bench/bench_runner.h"
#include "tests/bench/bundle.h"
#include "tests/bench/seed.h"
#include "tests/bench/unix_http.h"

namespace ocisecrets::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kBenchmark[] = "container start";
const std::vector<std::string> kTrueArgs = {"/bin/true"};

// crun refuses a hybrid cgroup layout whose cgroup2 still holds a controller; moving
// hugetlb to its own v1 hierarchy fixes it (TESTBED.md). Idempotent.
void PrepareCgroupsForCrun() {
  std::ifstream in("/sys/fs/cgroup/unified/cgroup.controllers");
  std::string controllers;
  if (!in || !std::getline(in, controllers) || controllers.empty()) return;
  ::mkdir("/sys/fs/cgroup/hugetlb", 0755);
  if (::mount("cgroup", "/sys/fs/cgroup/hugetlb", "cgroup", 0, "hugetlb") != 0 && errno != EBUSY) {
    Log(std::string("cannot move hugetlb off cgroup2 (crun may fail): ") + std::strerror(errno));
  }
}

std::string RuntimeVersion(const std::string& runtime) {
  auto r = RunProcess({runtime, "--version"}, {}, /*capture_out=*/true);
  if (!r.ok() || r->exit_code != 0) return "";
  std::string first = r->out.substr(0, r->out.find('\n'));
  return first;
}

class StartBench {
 public:
  StartBench(std::string runtime, std::string dir) : runtime_(std::move(runtime)), dir_(std::move(dir)) {}

  // Writes bundle NAME with config.json; returns the bundle path.
  Result<std::string> Bundle(const std::string& name, const std::string& config) {
    std::string b = dir_ + "/" + runtime_ + "-" + name;
    std::error_code ec;
    fs::create_directories(b, ec);
    if (ec) return Status::IOError("mkdir " + b + ": " + ec.message());
    RETURN_IF_ERROR(WriteFile(b + "/config.json", config), "bundle " + name);
    return b;
  }

  // `RUNTIME --root STATE run --bundle B ID` with a fresh container ID each time.
  Variant RunVariant(const std::string& name, const std::string& runtime_bin,
                     const std::string& bundle, std::vector<std::string> env = {}) {
    // The CPU of the runtime and of everything it waits for: its hooks, the container.
    auto cpu = std::make_shared<double>(0);
    return Variant{name,
                   [this, runtime_bin, bundle, env, cpu]() -> Status {
                     std::string id = "ocsb-" + std::to_string(::getpid()) + "-" + std::to_string(++seq_);
                     return RunChecked({runtime_bin, "--root", dir_ + "/state-" + runtime_, "run",
                                        "--bundle", bundle, id},
                                       env, cpu.get());
                   },
                   {},
                   [cpu] { return *cpu; }};
  }

  const std::string& runtime() const { return runtime_; }

 private:
  std::string runtime_;
  std::string dir_;
  long seq_ = 0;
};

int Main(int argc, char** argv) {
  auto options = ParseOptions(argc, argv);
  if (!options.ok()) {
    Log(options.status().ToString());
    return 2;
  }
  std::vector<std::string> runtimes = {"runc", "crun"};
  for (std::size_t i = 0; i < options->rest.size(); ++i) {
    if (options->rest[i] == "--runtime" && i + 1 < options->rest.size()) {
      runtimes = {options->rest[++i]};
    } else {
      Log("unknown argument " + options->rest[i] +
          " (flags: --quick, --rounds N, --rows-only, --runtime runc|crun)");
      return 2;
    }
  }
  // A runc start varies by several ms from run to run, while the hook's share is about one:
  // the full run takes 500 rounds (the median of a difference then moves by well under a
  // millisecond between runs), --quick 30.
  const int rounds = options->rounds.value_or(options->quick ? 30 : 500);
  const int warmup = 3;
  // crun 1.8.1 writes the state to a hook's stdin after starting it; a hook that exits
  // without reading it (/bin/true) can kill crun with SIGPIPE. Ignored here (the runtimes
  // inherit it), crun sees EPIPE instead, as it does under an engine that ignores SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);

  TempDir tmp;
  const std::string rootfs = tmp.path() + "/rootfs";
  if (Status st = BuildRootfs(rootfs); !st.ok()) {
    Log("rootfs: " + st.ToString());
    return 1;
  }
  PrepareCgroupsForCrun();

  // Our hook's variants need the manager, the hook and (for one) the shim.
  std::string hook_bin = BinDir() + "/oci-secrets-hook";
  std::string shim_bin = BinDir() + "/oci-secrets-runtime";
  std::string hook_missing;
  std::unique_ptr<ManagerProcess> manager;
  if (!IsExecutable(hook_bin)) {
    hook_missing = "n/a: oci-secrets-hook not built yet";
  } else {
    auto m = StartSeededManager(tmp.path());
    if (!m.ok()) {
      hook_missing = "n/a: " + m.status().ToString();
    } else {
      manager = std::move(*m);
    }
  }
  std::string hook_config = tmp.path() + "/hook.json";
  if (manager) {
    if (Status st = WriteFile(hook_config, HookConfigJson(tmp.path(), manager->socket())); !st.ok()) {
      Log(st.ToString());
      return 1;
    }
  }
  // A worker joined to the manager's cluster, and a hook config that asks the worker.
  std::string worker_missing = hook_missing;
  std::optional<BenchCluster> cluster;
  const std::string worker_hook_config = tmp.path() + "/hook-worker.json";
  if (manager) {
    Result<BenchCluster> c = MakeCluster(*manager, tmp.path());
    Status st = c.ok() ? WriteFile(worker_hook_config, HookConfigJson(tmp.path(), c->worker->socket()))
                       : c.status();
    if (st.ok()) {
      cluster = std::move(*c);
    } else {
      worker_missing = "n/a: " + st.ToString();
      Log("worker: " + st.ToString());
    }
  }
  const Hook kTrue{"/bin/true", {"true"}};
  const Hook kPrestart{hook_bin, {"oci-secrets-hook", "--config", hook_config, "prestart"}};
  const Hook kPoststop{hook_bin, {"oci-secrets-hook", "--config", hook_config, "poststop"}};
  const Hook kWorkerPrestart{hook_bin, {"oci-secrets-hook", "--config", worker_hook_config, "prestart"}};
  const Hook kWorkerPoststop{hook_bin, {"oci-secrets-hook", "--config", worker_hook_config, "poststop"}};
  const std::string kOneSecret = "our hook, 1 secret";
  const std::string kThroughWorker = "through a worker (mTLS), 1 secret";

  std::vector<Row> rows;
  for (const std::string& runtime : runtimes) {
    std::string version = RuntimeVersion(runtime);
    std::string bench_name = std::string(kBenchmark) + " (" + runtime + ")";
    if (version.empty()) {
      rows.push_back(NotAvailableRow(bench_name, "all", "n/a: " + runtime + " not installed"));
      continue;
    }
    StartBench sb(runtime, tmp.path());
    const std::string kFloor = runtime == "crun" ? "two no-op hooks reading stdin, dd (floor)"
                                                 : "two /bin/true hooks (floor)";
    std::vector<Variant> variants;
    std::vector<std::string> unavailable;  // variants shown as n/a rows, in order
    auto add = [&](const std::string& name, Result<std::string> bundle, std::vector<std::string> env = {}) {
      if (!bundle.ok()) {
        Log(name + ": " + bundle.status().ToString());
        return;
      }
      variants.push_back(sb.RunVariant(name, runtime, *bundle, env));
    };
    add("no hooks", sb.Bundle("none", ConfigJson(rootfs, kTrueArgs, {}, {}, {})));
    // crun 1.8.1 fails the start ("writing to pipe: Broken pipe") when a hook exits
    // before reading the state it writes: its floor is a no-op that reads its stdin.
    if (runtime == "crun") {
      const Hook kDrain{"/bin/dd", {"dd", "of=/dev/null", "status=none"}};
      add(kFloor, sb.Bundle("floor", ConfigJson(rootfs, kTrueArgs, {kDrain}, {kDrain}, {})));
    } else {
      add(kFloor, sb.Bundle("floor", ConfigJson(rootfs, kTrueArgs, {kTrue}, {kTrue}, {})));
    }
    std::vector<std::pair<std::string, std::string>> hook_rows = {
        {"our hook, no annotation", ""},
        {kOneSecret, "bench-one"},
        {"our hook, 10 secrets of 4 KiB", "bench-ten"}};
    for (const auto& [name, service] : hook_rows) {
      if (!hook_missing.empty()) continue;
      std::map<std::string, std::string> ann;
      if (!service.empty()) ann[kServiceAnnotation] = service;
      add(name, sb.Bundle(service.empty() ? "plain" : service,
                          ConfigJson(rootfs, kTrueArgs, {kPrestart}, {kPoststop}, ann)));
    }
    if (cluster) {
      add(kThroughWorker, sb.Bundle("worker", ConfigJson(rootfs, kTrueArgs, {kWorkerPrestart}, {kWorkerPoststop},
                                                         {{kServiceAnnotation, "bench-one"}})));
    }
    // The shim rewrites config.json on every create: restore the original before each run.
    const std::string shim_name = "through the shim, 1 secret";
    std::string shim_missing = hook_missing;
    if (shim_missing.empty() && !IsExecutable(shim_bin)) {
      shim_missing = "n/a: oci-secrets-runtime not built yet";
    }
    if (shim_missing.empty()) {
      std::string original = ConfigJson(rootfs, kTrueArgs, {}, {}, {{kServiceAnnotation, "bench-one"}});
      auto bundle = sb.Bundle("shim", original);
      if (bundle.ok()) {
        // The shim's runtime.json: the real runtime, our hook and its config.
        std::string shim_config = tmp.path() + "/runtime-" + runtime + ".json";
        json sc = {{"runtime_path", runtime},
                   {"hook_path", hook_bin},
                   {"hook_config", hook_config},
                   {"hook_stage", "prestart"},
                   {"hook_timeout", 10}};
        if (Status st = WriteFile(shim_config, sc.dump(2)); !st.ok()) {
          Log(st.ToString());
          return 1;
        }
        Variant v = sb.RunVariant(shim_name, shim_bin, *bundle,
                                  {"OCI_SECRETS_RUNTIME_CONFIG=" + shim_config, kHookEnvPath});
        std::string path = *bundle + "/config.json";
        v.prepare = [path, original]() { return WriteFile(path, original); };
        variants.push_back(std::move(v));
      }
    }

    Log(bench_name + ": " + version + ", " + std::to_string(variants.size()) + " variants x " +
        std::to_string(rounds) + " rounds, interleaved");
    auto results = RunInterleaved(variants, rounds, warmup, [&](int round) {
      if (round % 50 == 0) Log(bench_name + ": round " + std::to_string(round));
    });

    const VariantResult* none = nullptr;
    const VariantResult* floor = nullptr;
    const VariantResult* one_secret = nullptr;
    for (const auto& r : results) {
      if (r.error.ok() && r.name == "no hooks") none = &r;
      if (r.error.ok() && r.name == kOneSecret) one_secret = &r;
      if (r.error.ok() && r.name.ends_with("(floor)")) floor = &r;
    }
    auto emit = [&](const VariantResult& r) {
      if (!r.error.ok()) {
        rows.push_back(NotAvailableRow(bench_name, r.name, "failed: " + r.error.ToString()));
        return;
      }
      Row row;
      row.benchmark = bench_name;
      row.variant = r.name;
      row.n = std::to_string(r.summary.n);
      row.median = FormatMs(r.summary.median);
      row.tail = "p95 " + FormatMs(r.summary.p95);
      std::string cmp;
      if (r.name == kThroughWorker && one_secret != nullptr) {
        // What the worker adds: the goal is at most 1 ms on the median (reported only).
        cmp = CompareMedians(r.summary, one_secret->summary, "on the manager's socket") +
              " (goal: at most +1 ms); ";
      }
      if (none != nullptr && &r != none) cmp += CompareMedians(r.summary, none->summary, "no hooks");
      if (floor != nullptr && &r != floor && &r != none) {
        cmp += "; " + CompareMedians(r.summary, floor->summary, "floor");
      }
      // CPU of the whole start (runtime, hooks, container; not the manager's share), less
      // noisy than wall time on a shared machine.
      if (r.cpu.n > 0) {
        cmp += std::string(cmp.empty() ? "" : "; ") + "CPU " + FormatMs(r.cpu.median);
        std::vector<std::string> deltas;
        for (const VariantResult* ref : {none, floor}) {
          if (ref == nullptr || ref == &r || ref->cpu.n == 0) continue;
          const double d = r.cpu.median - ref->cpu.median;
          deltas.push_back((d >= 0 ? "+" : "") + FormatMs(d) + " vs " +
                           (ref == none ? "no hooks" : "floor"));
        }
        for (std::size_t i = 0; i < deltas.size(); ++i) cmp += (i == 0 ? " (" : ", ") + deltas[i];
        if (!deltas.empty()) cmp += ")";
      }
      row.compared = cmp;
      rows.push_back(row);
    };
    for (const auto& r : results) {
      if (r.name == shim_name) continue;
      emit(r);
    }
    if (!hook_missing.empty()) {
      for (const auto& [name, service] : hook_rows) rows.push_back(NotAvailableRow(bench_name, name, hook_missing));
    }
    bool shim_done = false;
    for (const auto& r : results) {
      if (r.name == shim_name) {
        emit(r);
        shim_done = true;
      }
    }
    if (!shim_done) rows.push_back(NotAvailableRow(bench_name, shim_name, shim_missing));
    if (!cluster) rows.push_back(NotAvailableRow(bench_name, kThroughWorker, worker_missing));
  }
  // The worker's footprint after every start went through it.
  const std::string kWorkerRss = "worker daemon RSS after the starts";
  if (cluster) {
    Result<long> rss = ResidentKiB(cluster->worker->pid());
    if (rss.ok()) {
      Row row;
      row.benchmark = "container start through a worker (mTLS)";
      row.variant = kWorkerRss;
      row.throughput = FormatKiB(*rss);
      row.compared = std::string(*rss < 32 * 1024 ? "within" : "over") + " the goal of 32 MiB";
      rows.push_back(row);
    } else {
      rows.push_back(NotAvailableRow("container start through a worker (mTLS)", kWorkerRss,
                                     "failed: " + rss.status().ToString()));
    }
    cluster->worker->Stop();
  } else {
    rows.push_back(NotAvailableRow("container start through a worker (mTLS)", kWorkerRss, worker_missing));
  }
  PrintRows(rows, *options);
  if (manager) manager->Stop();
  return 0;
}

}  // namespace
}  // namespace ocisecrets::bench

int main(int argc, char** argv) { return ocisecrets::bench::Main(argc, argv); }
