#include "tests/faults/run.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/faults/history.h"
#include "tests/faults/inject.h"
#include "tests/faults/invariants.h"
#include "tests/faults/report.h"
#include "tests/faults/run_cluster.h"
#include "tests/faults/schedule.h"
#include "tests/faults/workload.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::faults {
namespace {

using std::chrono::milliseconds;
using nlohmann::json;

constexpr char kFaultEnv[] = "OCI_SECRETS_FAULT_POINTS";
constexpr std::int64_t kRecoveryWaitMs = 30000;
constexpr char kVerifyService[] = "fault-verify-";
constexpr std::size_t kPerService = 40;  // the most secrets a service may grant

void Progress(const std::string& line) { std::fprintf(stderr, "fault_run: %s\n", line.c_str()); }

class Run {
 public:
  Run(const RunOptions& options, const std::atomic<int>& signal)
      : options_(options), signal_(signal) {}

  RunOutcome Go();

 private:
  bool Interrupted() const { return signal_.load() != 0; }
  void Nap(std::int64_t ms) { NapUnless(ms, [this] { return Interrupted(); }); }
  RunOutcome SetupError(const std::string& what) {
    const std::string text = "fault_run: setup: " + what + "\n";
    std::fputs(text.c_str(), stderr);
    return {2, text};
  }
  void WaitRecovered(std::int64_t heal_ms);
  void CheckConvergence();
  void TakeListing();
  void ScanAudit();
  void ScanAtRest(bool final);
  void FinalReadback();
  std::vector<InvariantResult> Check() { return CheckAll(rec_.Snapshot(), check_options_); }

  const RunOptions& options_;
  const std::atomic<int>& signal_;
  CheckOptions check_options_;
  Recorder rec_;
  std::unique_ptr<RunCluster> cluster_;
  std::unique_ptr<Workload> load_;
};

void Run::WaitRecovered(std::int64_t heal_ms) {
  const std::int64_t until = load_->Now() + kRecoveryWaitMs;
  while (!rec_.Recovered(heal_ms) && load_->Now() < until && !Interrupted()) Nap(100);
}

// Every running container on every worker holds, within the bound, the value of each
// granted secret current when the check began (or a later one).
void Run::CheckConvergence() {
  for (int slot = 0; slot < kWorkers; ++slot) load_->Pause(slot);
  const std::int64_t since = load_->Now();
  struct Pair {
    std::shared_ptr<itest::RunningContainer> c;
    std::string secret;
    bool done = false;
    std::string held;
  };
  std::vector<Pair> pairs;
  for (int slot = 0; slot < kWorkers; ++slot) {
    for (const auto& c : load_->Containers(slot)) {
      for (int m = 0; m < kManagers; ++m) pairs.push_back({c, GrantedSecret(m), false, ""});
    }
  }
  std::size_t left = pairs.size();
  while (left > 0 && !Interrupted()) {
    for (Pair& p : pairs) {
      if (p.done) continue;
      std::optional<std::string> content = p.c->Read(p.secret);
      const std::vector<std::string> ok = rec_.ConvergedPayloads(p.secret, since);
      if (content && std::find(ok.begin(), ok.end(), *content) != ok.end()) {
        p.done = true;
        --left;
        rec_.Add(ConvergenceCheck{p.c->id(), p.secret, true, load_->Now() - since, "", load_->Now()});
        continue;
      }
      p.held = !content ? "missing" : "an older value";
    }
    if (load_->Now() - since > check_options_.convergence_bound_ms) break;
    Nap(100);
  }
  for (Pair& p : pairs) {
    if (!p.done && !Interrupted()) {  // a signal cut the wait short: no verdict
      rec_.Add(ConvergenceCheck{p.c->id(), p.secret, false, load_->Now() - since, p.held, load_->Now()});
    }
  }
  for (int slot = 0; slot < kWorkers; ++slot) load_->Resume(slot);
}

// secret ls and secret inspect of every acknowledged create, on a manager that answers.
void Run::TakeListing() {
  Listing l;
  l.taken_ms = load_->Now();
  const History h = rec_.Snapshot();
  std::vector<std::string> names;
  for (const WriteOp& w : h.writes) {
    if (w.kind == WriteKind::kCreate && w.outcome == Outcome::kAcked) names.push_back(w.secret);
  }
  l.complete = false;
  for (int m = 0; m < kManagers && !l.complete; ++m) {
    itest::CommandResult ls = cluster_->manager(m).Cli({"secret", "ls", "--format", "json"});
    if (ls.exit_code != 0) {
      l.error = "secret ls on manager " + std::to_string(m) + ": " + ls.err;
      continue;
    }
    l.ids_by_name.clear();
    std::istringstream in(ls.out);
    for (std::string line; std::getline(in, line);) {
      json row = json::parse(line, nullptr, false);
      if (row.is_object()) l.ids_by_name[row.value("Name", "")].push_back(row.value("ID", ""));
    }
    std::vector<std::string> args = {"secret", "inspect"};
    args.insert(args.end(), names.begin(), names.end());
    itest::CommandResult inspect = cluster_->manager(m).Cli(args);
    json all = json::parse(inspect.out, nullptr, false);
    if (!all.is_array()) {
      l.error = "secret inspect on manager " + std::to_string(m) + ": " + inspect.err;
      continue;
    }
    l.index_by_name.clear();
    for (const json& s : all) {
      l.index_by_name[s["Spec"].value("Name", "")] = s["DataVersion"].value("Index", 0u);
    }
    l.complete = true;
  }
  if (!l.complete) Progress("listing skipped: " + l.error);
  rec_.Add(l);
}

// The lease.create lines of both managers' audit logs, and their tls.refused lines that
// refused a removed node's request ("... node ID was removed from the cluster"), as
// refused leases of that node: what a removed worker's next lease attempt comes to.
void Run::ScanAudit() {
  std::vector<AuditLease> leases;
  constexpr std::string_view kRemoved = " was removed from the cluster";
  for (int m = 0; m < kManagers; ++m) {
    std::istringstream in(itest::ReadFile(cluster_->manager(m).state_dir() + "/audit.log"));
    for (std::string line; std::getline(in, line);) {
      const bool lease = line.find("\"lease.create\"") != std::string::npos;
      if (!lease && line.find("\"tls.refused\"") == std::string::npos) continue;
      json j = json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      Result<TimePoint> t = ParseTime(j.value("time", ""));
      if (!t.ok()) continue;
      if (lease) {
        leases.push_back({m, j.value("node", ""), j.value("result", ""), j.value("container", ""), *t});
        continue;
      }
      const std::string error = j.value("error", "");
      const std::size_t end = error.find(kRemoved);
      const std::size_t begin = error.rfind("node ", end);
      if (end == std::string::npos || begin == std::string::npos) continue;
      leases.push_back({m, error.substr(begin + 5, end - begin - 5), "denied", "", *t});
    }
  }
  rec_.SetLeases(std::move(leases));
}

// The daemons' dirs (state, logs, audit) and etcd's keyspace; at the end also etcd's data
// dirs and member logs.
void Run::ScanAtRest(bool final) {
  std::vector<std::string> roots;
  for (const itest::Daemon* d : cluster_->Daemons()) roots.push_back(d->dir().path());
  if (final) roots.push_back(cluster_->etcd_dir());
  load_->Scan(roots);
  Result<std::string> keyspace = cluster_->etcd().Etcdctl({"get", "", "--prefix"});
  if (keyspace.ok()) load_->ScanText(*keyspace, "etcd's keyspace");
}

// Services granting every secret the last listing found (at most kPerService each, the
// manager's limit); a container of each on worker 0 reads them back.
void Run::FinalReadback() {
  const History h = rec_.Snapshot();
  if (h.listings.empty() || !h.listings.back().complete) return;
  std::vector<std::string> names;
  for (const std::string& name : SecretNames(h)) {
    if (h.listings.back().index_by_name.count(name) != 0) names.push_back(name);
  }
  std::map<std::string, std::optional<std::string>> back;
  for (std::size_t first = 0; first < names.size(); first += kPerService) {
    const std::string service = kVerifyService + std::to_string(first / kPerService);
    std::vector<std::string> args = {"service", "create", "--name", service};
    const std::size_t last = std::min(names.size(), first + kPerService);
    for (std::size_t i = first; i < last; ++i) args.insert(args.end(), {"--secret", names[i]});
    itest::CommandResult created = cluster_->manager(0).Cli(args);
    if (created.exit_code != 0) Progress("service create " + service + ": " + created.err);
    std::shared_ptr<itest::RunningContainer> c = load_->StartOne(0, service);
    for (std::size_t i = first; i < last; ++i) back[names[i]] = c ? c->Read(names[i]) : std::nullopt;
    if (c) load_->Retire(c);
  }
  rec_.SetFinalReadback(std::move(back));
}

RunOutcome Run::Go() {
  const std::vector<FaultStep> schedule =
      MakeSchedule(options_.seed, options_.quick,
                   options_.quick ? std::chrono::seconds(0) : options_.random_phase);
  Progress("seed " + std::to_string(options_.seed) + ", " + std::to_string(schedule.size()) +
           " faults" + (options_.quick ? " (quick)" : ""));
  const std::vector<std::string> mounts_before = itest::OurMounts();
  // Set up with every fault point off; armed after the set-up (a broken create would
  // break the set-up itself).
  Result<std::unique_ptr<RunCluster>> up = RunCluster::Start({std::string(kFaultEnv) + "="});
  if (!up.ok()) return SetupError("the cluster did not come up: " + up.status().message());
  cluster_ = std::move(*up);
  std::vector<std::string> hook_env;
  if (!options_.fault_points.empty()) {
    hook_env.push_back(std::string(kFaultEnv) + "=" + options_.fault_points);
  }
  load_ = std::make_unique<Workload>(*cluster_, rec_, "OCSF-" + itest::UniquePayload());
  Status arranged = load_->Arrange();
  if (!arranged.ok()) return SetupError("the secrets and services: " + arranged.message());
  for (int slot = 0; slot < kWorkers; ++slot) {
    std::shared_ptr<itest::RunningContainer> probe = load_->StartOne(slot, kAppService);
    if (!probe) {
      return SetupError("worker " + std::to_string(slot) + " cannot start a container: " +
                        rec_.Snapshot().starts.back().error);
    }
    load_->Retire(probe);
  }
  if (!hook_env.empty()) {
    Progress("arming fault points " + options_.fault_points);
    Status armed = cluster_->RestartAllWith(hook_env);
    if (!armed.ok()) return SetupError(armed.message());
    load_->set_hook_env(hook_env);
  }
  Progress("cluster up, load on");
  load_->Start();
  Nap(3000);

  Injector injector(*cluster_, *load_, rec_, [this] { return Interrupted(); });
  std::string notes;
  const std::int64_t random_end =
      load_->Now() + std::chrono::duration_cast<milliseconds>(options_.random_phase).count() +
      120000;  // the one-at-a-time phase first
  for (std::size_t i = 0; i < schedule.size() && !Interrupted(); ++i) {
    const FaultStep& step = schedule[i];
    if (step.random_phase && load_->Now() > random_end) break;
    Nap(step.gap.count());
    FaultWindow w{static_cast<int>(i + 1), step, injector.Target(step)};
    Progress("step " + std::to_string(i + 1) + "/" + std::to_string(schedule.size()) + ": " +
             Describe(step) + " on " + w.target);
    Status applied = injector.Apply(step, &w.begin_ms, &w.heal_ms);
    WaitRecovered(w.heal_ms);
    CheckConvergence();
    w.end_ms = load_->Now();
    rec_.Add(w);
    if (!applied.ok()) {
      notes += "step " + std::to_string(i + 1) + " could not heal: " + applied.message() + "\n";
      Progress(notes);
      break;
    }
    TakeListing();
    ScanAudit();
    ScanAtRest(false);
    std::vector<InvariantResult> results = Check();
    const int first = FirstViolated(results);
    if (first >= 0) {
      Progress("after step " + std::to_string(i + 1) + ": " + results[first].name + " violated");
      if (!options_.expect_violation.empty()) break;
    }
  }
  load_->Stop();
  if (Interrupted()) {  // no verdict on a cut-short run: tear down and say so
    for (int slot = 0; slot < kWorkers; ++slot) load_->StopContainers(slot);
    return {128 + signal_.load(), "fault run: interrupted by signal " +
                                      std::to_string(signal_.load()) + " seed=" +
                                      std::to_string(options_.seed) + "\n"};
  }
  Progress("final checks");
  TakeListing();
  FinalReadback();
  for (int slot = 0; slot < kWorkers; ++slot) load_->StopContainers(slot);
  ScanAudit();
  ScanAtRest(true);
  const History h = rec_.Snapshot();
  std::vector<InvariantResult> results = CheckAll(h, check_options_);
  const std::vector<FaultRow> rows = FaultRows(h, results, check_options_);
  if (itest::OurMounts() != mounts_before) notes += "mounts left behind by the run's containers\n";
  RunOutcome out;
  out.report = FormatReport(options_.seed, options_.quick, rows, results, StartsDuringManagerKill(h), notes);
  const int first = FirstViolated(results);
  if (!options_.expect_violation.empty()) {
    const bool caught = first >= 0 && results[first].name == options_.expect_violation;
    out.report += std::string("expected violation ") + options_.expect_violation + ": " +
                  (caught ? "caught" : "missed") + "\n";
    out.exit_code = caught ? 0 : 1;
  } else {
    out.exit_code = Passed(rows, results) && notes.empty() ? 0 : 1;
  }
  return out;
}

}  // namespace

RunOutcome RunFaults(const RunOptions& options, const std::atomic<int>& signal) {
  RunOutcome out;
  {
    Run run(options, signal);
    out = run.Go();
  }  // teardown: containers, workers, managers, etcd
  if (signal.load() != 0) out.exit_code = 128 + signal.load();
  std::fputs(out.report.c_str(), stdout);
  if (!options.report_file.empty()) {
    std::ofstream(options.report_file) << out.report;
  }
  return out;
}

}  // namespace ocisecrets::faults
