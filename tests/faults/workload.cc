#include "tests/faults/workload.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "shared/base64.h"
#include "tests/faults/invariants.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::faults {
namespace {

using std::chrono::milliseconds;

constexpr char kForever[] = "while :; do sleep 1; done";
constexpr int kPerSlot = 3;           // containers kept running on each worker
constexpr int kCreatesPerWriter = 60;  // then a writer only rotates and grants
constexpr int kWriterPauseMs = 250;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The line of `text` that holds `part`, else its first line; never more than one line.
std::string LineWith(const std::string& text, const std::string& part) {
  std::size_t at = text.find(part);
  if (at == std::string::npos) at = 0;
  const std::size_t begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
  const std::size_t end = text.find('\n', at);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The CLI's last words on a failure (its error line; it never prints a payload).
std::string CliError(const itest::CommandResult& r) {
  std::string err = Trim(r.err);
  const std::size_t nl = err.rfind('\n');
  return "exit " + std::to_string(r.exit_code) + ": " +
         (nl == std::string::npos ? err : err.substr(nl + 1));
}

}  // namespace

std::string GrantedSecret(int manager) { return "fault-g" + std::to_string(manager); }

bool NapUnless(std::int64_t ms, const std::function<bool()>& stop) {
  for (std::int64_t left = ms; left > 0 && !stop(); left -= 50) {
    std::this_thread::sleep_for(milliseconds(std::min<std::int64_t>(left, 50)));
  }
  return !stop();
}

Workload::Workload(RunCluster& cluster, Recorder& recorder, std::string marker)
    : cluster_(cluster),
      rec_(recorder),
      marker_(std::move(marker)),
      t0_(std::chrono::steady_clock::now()),
      slots_(kWorkers) {
  const std::string head = marker_.substr(0, marker_.size() / 3 * 3);
  marker_b64_ = Base64Encode(reinterpret_cast<const std::uint8_t*>(head.data()), head.size());
}

Workload::~Workload() { Stop(); }

std::int64_t Workload::Now() const {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0_).count();
}

std::string Workload::NewPayload(const std::string& secret) {
  return marker_ + "-" + secret + "-" + std::to_string(++counter_) + "-" + std::string(300, 'x') +
         "-END\n";
}

bool Workload::Create(int m, const std::string& name) {
  WriteOp op = NewWrite(WriteKind::kCreate, m, name, NewPayload(name));
  op.start_ms = Now();
  const std::string payload = op.payload;
  const std::size_t index = rec_.Begin(std::move(op));
  itest::CommandResult r = cluster_.manager(m).Cli({"secret", "create", name, "-"}, payload);
  const bool ok = r.exit_code == 0;
  rec_.Finish(index, ok ? Outcome::kAcked : Outcome::kFailed, ok ? Trim(r.out) : "", ok ? 1 : 0,
              ok ? "" : CliError(r), Now());
  return ok;
}

bool Workload::Rotate(int m, const std::string& name) {
  WriteOp op = NewWrite(WriteKind::kRotate, m, name, NewPayload(name));
  op.start_ms = Now();
  const std::string payload = op.payload;
  const std::size_t index = rec_.Begin(std::move(op));
  itest::CommandResult r = cluster_.manager(m).Cli({"secret", "rotate", name, "-"}, payload);
  // "NAME: data version N"
  const std::size_t at = r.out.find("data version ");
  const bool ok = r.exit_code == 0 && at != std::string::npos;
  const std::uint64_t version = ok ? std::stoull(r.out.substr(at + 13)) : 0;
  rec_.Finish(index, ok ? Outcome::kAcked : Outcome::kFailed, "", version, ok ? "" : CliError(r),
              Now());
  return ok;
}

bool Workload::UpdateService(int m, const std::string& service, const std::string& secret,
                             bool add) {
  WriteOp op = NewWrite(WriteKind::kServiceUpdate, m, secret);
  op.service = service;
  op.add = add;
  op.start_ms = Now();
  const std::size_t index = rec_.Begin(std::move(op));
  itest::CommandResult r = cluster_.manager(m).Cli(
      {"service", "update", add ? "--secret-add" : "--secret-rm", secret, service});
  const bool ok = r.exit_code == 0;
  rec_.Finish(index, ok ? Outcome::kAcked : Outcome::kFailed, "", 0, ok ? "" : CliError(r), Now());
  return ok;
}

Status Workload::Arrange() {
  for (int m = 0; m < kManagers; ++m) {
    if (!Create(m, GrantedSecret(m))) {
      return Status::Internal("secret create " + GrantedSecret(m) + " through manager " +
                              std::to_string(m) + " failed");
    }
  }
  itest::CommandResult app = cluster_.manager(0).Cli(
      {"service", "create", "--name", kAppService, "--secret", GrantedSecret(0), "--secret",
       GrantedSecret(1)});
  if (app.exit_code != 0) return Status::Internal("service create fault-app: " + CliError(app));
  for (int m = 0; m < kManagers; ++m) {
    const std::string aux = "fault-aux-" + std::to_string(m);
    itest::CommandResult r = cluster_.manager(m).Cli(
        {"service", "create", "--name", aux, "--secret", GrantedSecret(m)});
    if (r.exit_code != 0) return Status::Internal("service create " + aux + ": " + CliError(r));
  }
  return Status::Ok();
}

std::shared_ptr<itest::RunningContainer> Workload::StartOne(int slot, const std::string& service) {
  itest::Daemon* node = cluster_.worker(slot);
  StartOp op;
  op.container = "ocsf-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_);
  op.slot = slot;
  op.node_id = itest::NodeIdOf(*node);
  op.start_ms = Now();
  auto edit = [this](itest::Bundle& b) {
    if (hook_env_.empty()) return;
    for (auto& stage : b.config()["hooks"].items()) {
      for (auto& entry : stage.value()) {
        for (const std::string& kv : hook_env_) entry["env"].push_back(kv);
      }
    }
  };
  auto c = std::make_shared<itest::RunningContainer>(*node, service, op.container, kForever, edit);
  op.end_ms = Now();
  op.ok = c->ok();
  if (!op.ok) op.error = LineWith(c->error(), "oci-secrets-hook: ");
  rec_.Add(op);
  if (!c->ok()) {
    Retire(c);
    return nullptr;
  }
  if (service == kAppService) ReadAll(*c, ReadWhen::kStart);
  return c;
}

void Workload::ReadAll(const itest::RunningContainer& c, ReadWhen when) {
  for (int m = 0; m < kManagers; ++m) {
    rec_.Add(ReadOp{c.id(), GrantedSecret(m), c.Read(GrantedSecret(m)), when, Now()});
  }
}

void Workload::Retire(const std::shared_ptr<itest::RunningContainer>& c) {
  c->Stop();
  Scan({c->dir().path()});
}

void Workload::Scan(const std::vector<std::string>& roots) {
  std::int64_t files = 0;
  for (const std::string& root : roots) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      files += it->is_regular_file(ec);
    }
  }
  rec_.CountScan(files);
  for (const std::string& needle : {marker_, marker_b64_}) {
    for (const std::string& hit : itest::FilesHolding(needle, roots)) rec_.Add(PayloadHit{hit, Now()});
  }
}

void Workload::ScanText(const std::string& text, const std::string& where) {
  if (text.find(marker_) != std::string::npos || text.find(marker_b64_) != std::string::npos) {
    rec_.Add(PayloadHit{where, Now()});
  }
}

void Workload::Start() {
  stop_ = false;
  for (int slot = 0; slot < kWorkers; ++slot) threads_.emplace_back([this, slot] { StarterLoop(slot); });
  for (int m = 0; m < kManagers; ++m) threads_.emplace_back([this, m] { WriterLoop(m); });
  threads_.emplace_back([this] { SamplerLoop(); });
  threads_.emplace_back([this] { PsLoop(); });
}

void Workload::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void Workload::Pause(int slot) {
  {
    std::lock_guard lock(mu_);
    slots_[slot].paused = true;
  }
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (!slots_[slot].busy) return;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

void Workload::Resume(int slot) {
  std::lock_guard lock(mu_);
  slots_[slot].paused = false;
}

std::vector<std::shared_ptr<itest::RunningContainer>> Workload::Containers(int slot) const {
  std::lock_guard lock(mu_);
  return slots_[slot].running;
}

void Workload::StopContainers(int slot) {
  std::vector<std::shared_ptr<itest::RunningContainer>> running;
  {
    std::lock_guard lock(mu_);
    running.swap(slots_[slot].running);
  }
  for (auto& c : running) Retire(c);
}

void Workload::StarterLoop(int slot) {
  while (Nap(200)) {
    std::shared_ptr<itest::RunningContainer> oldest;
    {
      std::lock_guard lock(mu_);
      Slot& s = slots_[slot];
      if (s.paused) continue;
      s.busy = true;
      if (s.running.size() >= kPerSlot) {
        oldest = s.running.front();
        s.running.erase(s.running.begin());
      }
    }
    if (oldest) Retire(oldest);
    std::shared_ptr<itest::RunningContainer> c = StartOne(slot, kAppService);
    std::lock_guard lock(mu_);
    if (c) slots_[slot].running.push_back(c);
    slots_[slot].busy = false;
  }
}

void Workload::SamplerLoop() {
  while (Nap(300)) {
    for (int slot = 0; slot < kWorkers; ++slot) {
      for (const auto& c : Containers(slot)) ReadAll(*c, ReadWhen::kRunning);
    }
  }
}

void Workload::WriterLoop(int m) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(Now()) * 31 + m);
  std::vector<std::string> owned = {GrantedSecret(m)};
  std::vector<std::string> granted;  // on fault-aux-M, as far as acknowledged
  const std::string aux = "fault-aux-" + std::to_string(m);
  int created = 0;
  while (Nap(kWriterPauseMs)) {
    const int dice = std::uniform_int_distribution<int>(0, 99)(rng);
    if (dice < 25 && created < kCreatesPerWriter) {
      const std::string name = "fa-" + std::to_string(m) + "-" + std::to_string(created++);
      if (Create(m, name)) owned.push_back(name);
    } else if (dice < 85 || owned.size() < 2) {
      // The granted secret half the time: the one the containers hold.
      const std::size_t pick = dice % 2 == 0 ? 0
                                             : std::uniform_int_distribution<std::size_t>(
                                                   0, owned.size() - 1)(rng);
      Rotate(m, owned[pick]);
    } else {
      const std::string& secret = owned[1 + dice % (owned.size() - 1)];
      auto it = std::find(granted.begin(), granted.end(), secret);
      const bool add = it == granted.end();
      if (UpdateService(m, aux, secret, add)) {
        if (add) {
          granted.push_back(secret);
        } else {
          granted.erase(it);
        }
      }
    }
  }
}

void Workload::PsLoop() {
  for (int i = 0; Nap(500); ++i) {
    const int m = i % kManagers;
    PsOp op{m, false, Now()};
    itest::CommandResult r =
        cluster_.manager(m).Cli({"secret", "ps", GrantedSecret(m), "--format", "json"});
    op.ok = r.exit_code == 0;
    op.end_ms = Now();
    rec_.Add(op);
  }
}

}  // namespace ocisecrets::faults
