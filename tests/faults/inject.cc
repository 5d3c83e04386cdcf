#include "tests/faults/inject.h"

#include <signal.h>

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace ocisecrets::faults {
namespace {

constexpr std::int64_t kRotationBoundMs = 60000;  // rotate-key: the pass must finish in this

// "terms [1, 2] current 2, rotation running 40 of 130" from `cluster inspect`'s JSON;
// completed when only `term` is left and it is current.
bool KeysDone(const std::string& inspect, std::uint32_t term, std::string* state) {
  nlohmann::json j = nlohmann::json::parse(inspect, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty()) {
    *state = "no answer";
    return false;
  }
  const nlohmann::json& c = j[0];
  const nlohmann::json terms = c.value("KeyTerms", nlohmann::json::array());
  const std::uint32_t current = c.value("CurrentTerm", 0u);
  *state = "terms " + terms.dump() + " current " + std::to_string(current);
  if (c.contains("Rotation") && c["Rotation"].is_object()) {
    const nlohmann::json& r = c["Rotation"];
    *state += ", rotation " + r.value("State", std::string()) + " " +
              std::to_string(r.value("Done", 0)) + " of " + std::to_string(r.value("Total", 0));
  }
  return current == term && terms == nlohmann::json::array({term});
}

}  // namespace

Injector::Injector(RunCluster& cluster, Workload& workload, Recorder& recorder,
                   std::function<bool()> interrupted)
    : cluster_(cluster), workload_(workload), rec_(recorder), interrupted_(std::move(interrupted)) {}

std::string Injector::Target(const FaultStep& step) const {
  switch (step.kind) {
    case FaultKind::kManagerKill:
    case FaultKind::kRotateKeyKill:
      return "manager " + std::to_string(step.target) + " (" + cluster_.manager_addr(step.target) +
             ")";
    case FaultKind::kEtcdKill:
      return "etcd member " + std::to_string(step.target);
    default:
      return "worker " + std::to_string(step.target) + " (" +
             itest::NodeIdOf(*cluster_.worker(step.target)) + ")";
  }
}

void Injector::Hold(std::int64_t ms) { NapUnless(ms, interrupted_); }

Status Injector::Restart(itest::Daemon& daemon, const std::string& what) {
  Status started = daemon.Start();
  if (started.ok()) return started;
  Hold(1000);  // once more: a port or a lock not yet released
  RETURN_IF_ERROR(daemon.Start(), "restart " + what);
  return Status::Ok();
}

Status Injector::Apply(const FaultStep& step, std::int64_t* begin_ms, std::int64_t* heal_ms) {
  *begin_ms = workload_.Now();
  *heal_ms = 0;
  Status s;
  switch (step.kind) {
    case FaultKind::kManagerKill:
      s = ManagerKill(step);
      break;
    case FaultKind::kEtcdKill:
      s = EtcdKill(step);
      break;
    case FaultKind::kWorkerKill:
      s = WorkerKill(step);
      break;
    case FaultKind::kWorkerCut:
      s = WorkerCut(step);
      break;
    case FaultKind::kNodeRm:
      s = NodeRm(step, heal_ms);
      break;
    case FaultKind::kRotateKeyKill:
      s = RotateKeyKill(step);
      break;
  }
  if (*heal_ms == 0) *heal_ms = workload_.Now();
  return s;
}

Status Injector::ManagerKill(const FaultStep& step) {
  itest::Daemon& m = cluster_.manager(step.target);
  m.Kill();
  Hold(step.hold.count());
  return Restart(m, "manager " + std::to_string(step.target));
}

Status Injector::EtcdKill(const FaultStep& step) {
  RETURN_IF_ERROR(cluster_.etcd().Kill(step.target), "kill etcd member");
  Hold(step.hold.count());
  RETURN_IF_ERROR(cluster_.etcd().Restart(step.target), "");
  return Status::Ok();
}

Status Injector::WorkerKill(const FaultStep& step) {
  itest::Daemon& w = *cluster_.worker(step.target);
  w.Kill();
  Hold(step.hold.count() / 2);
  // Its containers keep their files while the daemon is gone.
  for (const auto& c : workload_.Containers(step.target)) {
    workload_.ReadAll(*c, ReadWhen::kDaemonDown);
  }
  Hold(step.hold.count() - step.hold.count() / 2);
  return Restart(w, "worker " + std::to_string(step.target));
}

Status Injector::WorkerCut(const FaultStep& step) {
  itest::Daemon& w = *cluster_.worker(step.target);
  const std::int64_t cut = workload_.Now();
  if (!w.Signal(SIGSTOP)) return Status::Internal("SIGSTOP of the worker's daemon failed");
  Hold(step.hold.count());
  // Rotations happen during the cut: wait for one if the writers were slow.
  const std::vector<std::string> granted = {GrantedSecret(0), GrantedSecret(1)};
  for (int i = 0; i < 200 && !rec_.RotatedSince(granted, cut) && !interrupted_(); ++i) Hold(50);
  if (!w.Signal(SIGCONT)) return Status::Internal("SIGCONT of the worker's daemon failed");
  return Status::Ok();
}

Status Injector::NodeRm(const FaultStep& step, std::int64_t* heal_ms) {
  itest::Daemon& w = *cluster_.worker(step.target);
  const std::string id = itest::NodeIdOf(w);
  itest::CommandResult rm = cluster_.manager(0).Cli({"node", "rm", "--force", id});
  if (rm.exit_code == 0) {
    rec_.Add(NodeRemoval{id, Clock::now(), workload_.Now()});
  } else {
    std::fprintf(stderr, "fault_run: node rm --force %s exited %d: %s\n", id.c_str(), rm.exit_code,
                 rm.err.c_str());
  }
  Hold(step.hold.count());  // its starter keeps trying: refused from now on
  workload_.Pause(step.target);
  workload_.StopContainers(step.target);
  w.Stop();
  Status joined = cluster_.ReplaceWorker(step.target);
  workload_.Resume(step.target);
  *heal_ms = workload_.Now();
  RETURN_IF_ERROR(joined, "a new worker in slot " + std::to_string(step.target));
  return Status::Ok();
}

Status Injector::RotateKeyKill(const FaultStep& step) {
  itest::Daemon& m = cluster_.manager(step.target);
  WriteOp op = NewWrite(WriteKind::kRotateKey, step.target, "");
  op.start_ms = workload_.Now();
  const std::size_t index = rec_.Begin(op);
  itest::CommandResult r = m.Cli({"cluster", "rotate-key"});
  m.Kill();  // right after the command returned
  // "Key term N is now current: ..."
  const std::size_t at = r.out.find("Key term ");
  const bool ok = r.exit_code == 0 && at != std::string::npos;
  const std::uint32_t term = ok ? static_cast<std::uint32_t>(std::stoul(r.out.substr(at + 9))) : 0;
  rec_.Finish(index, ok ? Outcome::kAcked : Outcome::kFailed, "", term,
              ok ? "" : "exit " + std::to_string(r.exit_code), workload_.Now());
  Hold(step.hold.count());
  RETURN_IF_ERROR(Restart(m, "manager " + std::to_string(step.target)), "");
  if (!ok) return Status::Ok();
  RotateKeyResult result;
  result.term = term;
  const std::int64_t until = workload_.Now() + kRotationBoundMs;
  while (workload_.Now() < until && !interrupted_()) {
    itest::CommandResult inspect = m.Cli({"cluster", "inspect"});
    if (KeysDone(inspect.out, term, &result.state)) {
      result.completed = true;
      break;
    }
    Hold(500);
  }
  rec_.Add(result);
  return Status::Ok();
}

}  // namespace ocisecrets::faults
