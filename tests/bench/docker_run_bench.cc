// docker run through our runtime: wall time of `docker run --rm --network none IMAGE true`
// on a Docker Engine of its own (containerd and dockerd in a temp dir, tests/testing/
// docker_engine.h), with --runtime runc, with --runtime oci-secrets on a container that did
// not opt in, and with --runtime oci-secrets -e OCI_SECRETS_SERVICE=bench-one (1 secret),
// interleaved round after round. Every call Docker's containerd shim makes to the runtime
// (create, start, state, kill, delete) execs our shim first: the rows give p50, p90, max and
// the median added to runc's, against the goals (at most +1 ms without an opt-in, +5 ms
// with one secret; reported, never asserted).
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/bench_runner.h"
#include "tests/bench/bundle.h"
#include "tests/bench/seed.h"
#include "tests/testing/background.h"
#include "tests/testing/docker_engine.h"

namespace ocisecrets::bench {
namespace {

using ::ocisecrets::testing::Background;
using ::ocisecrets::testing::DockerEngineLayout;

constexpr char kBenchmark[] = "docker run";
constexpr char kImage[] = "ocs-bench-busybox";
constexpr char kService[] = "bench-one";       // StartSeededManager's service, 1 secret
constexpr char kSecretFile[] = "bench-one-0";  // ... as a file of its own name

// Runs `docker ARGS` on the engine; an error naming the command unless it exits 0.
Status Docker(const DockerEngineLayout& engine, const std::vector<std::string>& args) {
  return RunChecked(engine.DockerArgv(args));
}

// Polls `docker version` until dockerd answers, up to `seconds`.
Status WaitForDockerd(const DockerEngineLayout& engine, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  Status last = Status::Ok();
  while (std::chrono::steady_clock::now() < until) {
    last = Docker(engine, {"version"});
    if (last.ok()) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return last.WithContext("dockerd did not answer within " + std::to_string(seconds) + " s");
}

// The engine, our manager and the image, ready for `docker run`.
struct World {
  std::unique_ptr<ManagerProcess> manager;
  std::unique_ptr<Background> containerd;
  std::unique_ptr<Background> dockerd;
};

Result<World> StartWorld(const std::string& dir) {
  for (const std::string& tool :
       {std::string(testing::kDockerdPath), std::string(testing::kDockerClientPath),
        std::string(testing::kContainerdPath)}) {
    if (!IsExecutable(tool)) return Status::NotFound(tool + " not installed (docker.io, containerd)");
  }
  for (const char* bin : {"oci-secrets-runtime", "oci-secrets-hook"}) {
    if (!IsExecutable(BinDir() + "/" + bin)) return Status::NotFound(std::string(bin) + " not built yet");
  }
  World world;
  ASSIGN_OR_RETURN(world.manager, StartSeededManager(dir), "manager");
  const std::string hook_config = dir + "/hook.json";
  RETURN_IF_ERROR(WriteFile(hook_config, HookConfigJson(dir, world.manager->socket())), "");
  // The shim's runtime.json (runc behind it, the built hook), in containerd's environment
  // so that every runc.v2 shim containerd starts passes it on to ours.
  const std::string shim_config = dir + "/runtime.json";
  nlohmann::json sc = {{"runtime_path", "runc"},
                       {"hook_path", BinDir() + "/oci-secrets-hook"},
                       {"hook_config", hook_config},
                       {"hook_stage", "prestart"},
                       {"hook_timeout", 10}};
  RETURN_IF_ERROR(WriteFile(shim_config, sc.dump(2)), "");

  DockerEngineLayout engine{dir};
  RETURN_IF_ERROR(WriteFile(engine.ContainerdConfig(), engine.ContainerdToml()), "");
  world.containerd = std::make_unique<Background>(
      engine.ContainerdArgv(), engine.ContainerdLog(),
      std::vector<std::string>{"OCI_SECRETS_RUNTIME_CONFIG=" + shim_config});
  nlohmann::json daemon = {
      {"runtimes", {{"oci-secrets", {{"path", BinDir() + "/oci-secrets-runtime"}}}}}};
  RETURN_IF_ERROR(WriteFile(engine.DockerdConfig(), engine.Hermetic(daemon).dump(1)), "");
  world.dockerd = std::make_unique<Background>(engine.DockerdArgv(), engine.DockerdLog());
  RETURN_IF_ERROR(WaitForDockerd(engine, 60), "see " + engine.DockerdLog());

  const std::string rootfs = dir + "/rootfs";
  RETURN_IF_ERROR(BuildRootfs(rootfs), "rootfs");
  const std::string tar = dir + "/rootfs.tar";
  RETURN_IF_ERROR(RunChecked({"/bin/tar", "-C", rootfs, "-cf", tar, "."}), "rootfs tarball");
  RETURN_IF_ERROR(Docker(engine, {"import", tar, kImage}), "image");
  return world;
}

// `docker run --rm --network none EXTRA... IMAGE COMMAND...`.
std::vector<std::string> RunArgs(const std::vector<std::string>& extra,
                                 const std::vector<std::string>& command) {
  std::vector<std::string> args = {"run", "--rm", "--network", "none"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(kImage);
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

Row FigureRow(const VariantResult& r, const VariantResult* runc, const std::string& goal,
              double goal_ms) {
  if (!r.error.ok()) return NotAvailableRow(kBenchmark, r.name, "failed: " + r.error.ToString());
  Row row;
  row.benchmark = kBenchmark;
  row.variant = r.name;
  row.n = std::to_string(r.summary.n);
  row.median = "p50 " + FormatMs(r.summary.median);
  row.tail = "p90 " + FormatMs(Quantile(r.ms, 0.9)) + ", max " + FormatMs(r.summary.max);
  if (runc != nullptr && runc != &r) {
    row.compared = CompareMedians(r.summary, runc->summary, "runc");
    if (!goal.empty()) {
      row.compared += "; " + GoalLine(r.summary.median - runc->summary.median <= goal_ms, goal);
    }
  }
  return row;
}

int Main(int argc, char** argv) {
  Result<Options> options = ParseOptions(argc, argv);
  if (!options.ok()) {
    Log(options.status().ToString());
    return 2;
  }
  std::optional<int> runs = options->rounds;
  for (std::size_t i = 0; i < options->rest.size(); ++i) {
    if (options->rest[i] == "--runs" && i + 1 < options->rest.size()) {
      runs = std::atoi(options->rest[++i].c_str());
    } else {
      Log("unknown argument " + options->rest[i] + " (flags: --quick, --runs N, --rows-only)");
      return 2;
    }
  }
  // A docker run takes about 300 ms and varies by tens from run to run: 100 rounds of the
  // three variants take a few minutes, --quick 10.
  const int rounds = runs.value_or(options->quick ? 10 : 100);
  const std::string kRunc = "--runtime runc";
  const std::string kNoOptIn = "--runtime oci-secrets, no opt-in";
  const std::string kOneSecret = "--runtime oci-secrets -e OCI_SECRETS_SERVICE, 1 secret";

  TempDir tmp;
  Result<World> world = StartWorld(tmp.path());
  if (!world.ok()) {
    Log(world.status().ToString());
    PrintRows({NotAvailableRow(kBenchmark, "all", "n/a: " + world.status().ToString())}, *options);
    return 0;
  }
  DockerEngineLayout engine{tmp.path()};
  const std::vector<std::string> kOptIn = {"--runtime", "oci-secrets", "-e",
                                           std::string("OCI_SECRETS_SERVICE=") + kService};
  // The opt-in row measures only what it says when the secret is really there.
  Status opted_in = Docker(
      engine, RunArgs(kOptIn, {"sh", "-c", std::string("test -s /run/secrets/") + kSecretFile}));
  std::vector<Variant> variants;
  auto add = [&](const std::string& name, const std::vector<std::string>& extra) {
    const std::vector<std::string> args = RunArgs(extra, {"true"});
    variants.push_back(Variant{name, [engine, args] { return Docker(engine, args); }});
  };
  add(kRunc, {"--runtime", "runc"});
  add(kNoOptIn, {"--runtime", "oci-secrets"});
  if (opted_in.ok()) add(kOneSecret, kOptIn);

  Log(std::string(kBenchmark) + ": " + std::to_string(variants.size()) + " variants x " +
      std::to_string(rounds) + " rounds, interleaved");
  std::vector<VariantResult> results = RunInterleaved(variants, rounds, /*warmup=*/2, [&](int round) {
    if (round % 20 == 0) Log(std::string(kBenchmark) + ": round " + std::to_string(round));
  });
  const VariantResult* runc = nullptr;
  for (const VariantResult& r : results) {
    if (r.name == kRunc && r.error.ok()) runc = &r;
  }
  std::vector<Row> rows;
  for (const VariantResult& r : results) {
    if (r.name == kNoOptIn) {
      rows.push_back(FigureRow(r, runc, "at most +1 ms without an opt-in", 1.0));
    } else if (r.name == kOneSecret) {
      rows.push_back(FigureRow(r, runc, "at most +5 ms with 1 secret", 5.0));
    } else {
      rows.push_back(FigureRow(r, runc, "", 0));
    }
  }
  if (!opted_in.ok()) {
    rows.push_back(NotAvailableRow(kBenchmark, kOneSecret,
                                   "n/a: the secret was not mounted: " + opted_in.ToString()));
  }
  PrintRows(rows, *options);
  world->dockerd->Stop();
  world->containerd->Stop();
  world->manager->Stop();
  return 0;
}

}  // namespace
}  // namespace ocisecrets::bench

int main(int argc, char** argv) { return ocisecrets::bench::Main(argc, argv); }
