#include "tests/faults/history.h"

#include <algorithm>

namespace ocisecrets::faults {

WriteOp NewWrite(WriteKind kind, int manager, std::string secret, std::string payload) {
  WriteOp op;
  op.kind = kind;
  op.manager = manager;
  op.secret = std::move(secret);
  op.payload = std::move(payload);
  return op;
}

std::size_t Recorder::Begin(WriteOp op) {
  std::lock_guard lock(mu_);
  op.outcome = Outcome::kPending;
  h_.writes.push_back(std::move(op));
  return h_.writes.size() - 1;
}

void Recorder::Finish(std::size_t index, Outcome outcome, std::string id, std::uint64_t version,
                      std::string error, std::int64_t end_ms) {
  std::lock_guard lock(mu_);
  WriteOp& op = h_.writes.at(index);
  op.outcome = outcome;
  op.id = std::move(id);
  op.version = version;
  op.error = std::move(error);
  op.end_ms = end_ms;
}

void Recorder::Add(StartOp op) { Append(&h_.starts, std::move(op)); }
void Recorder::Add(ReadOp op) { Append(&h_.reads, std::move(op)); }
void Recorder::Add(PsOp op) { Append(&h_.ps, std::move(op)); }
void Recorder::Add(NodeRemoval op) { Append(&h_.removals, std::move(op)); }
void Recorder::Add(ConvergenceCheck op) { Append(&h_.convergence, std::move(op)); }
void Recorder::Add(Listing op) { Append(&h_.listings, std::move(op)); }
void Recorder::Add(RotateKeyResult op) { Append(&h_.rotate_keys, std::move(op)); }
void Recorder::Add(PayloadHit op) { Append(&h_.payload_hits, std::move(op)); }
void Recorder::Add(FaultWindow op) { Append(&h_.windows, std::move(op)); }
void Recorder::SetLeases(std::vector<AuditLease> leases) {
  std::lock_guard lock(mu_);
  h_.leases = std::move(leases);
}
void Recorder::CountScan(std::int64_t files) {
  std::lock_guard lock(mu_);
  ++h_.payload_scans;
  h_.files_scanned += files;
}
void Recorder::SetFinalReadback(std::map<std::string, std::optional<std::string>> readback) {
  std::lock_guard lock(mu_);
  h_.final_readback = std::move(readback);
}

History Recorder::Snapshot() const {
  std::lock_guard lock(mu_);
  return h_;
}

std::vector<std::string> Recorder::ConvergedPayloads(const std::string& secret,
                                                     std::int64_t since_ms) const {
  std::lock_guard lock(mu_);
  std::vector<const WriteOp*> writes = WritesOf(h_, secret);
  std::vector<std::string> out;
  for (std::size_t i = ConvergedFrom(h_, secret, since_ms); i < writes.size(); ++i) {
    out.push_back(writes[i]->payload);
  }
  return out;
}

bool Recorder::Recovered(std::int64_t since_ms) const {
  std::lock_guard lock(mu_);
  bool started = false, wrote = false;
  for (const StartOp& s : h_.starts) started = started || (s.ok && s.start_ms >= since_ms);
  for (const WriteOp& w : h_.writes) {
    wrote = wrote || (w.outcome == Outcome::kAcked && w.start_ms >= since_ms);
  }
  return started && wrote;
}

bool Recorder::RotatedSince(const std::vector<std::string>& secrets, std::int64_t since_ms) const {
  std::lock_guard lock(mu_);
  for (const WriteOp& w : h_.writes) {
    if (w.kind == WriteKind::kRotate && w.outcome == Outcome::kAcked && w.start_ms >= since_ms &&
        std::find(secrets.begin(), secrets.end(), w.secret) != secrets.end()) {
      return true;
    }
  }
  return false;
}

std::vector<const WriteOp*> WritesOf(const History& h, const std::string& secret) {
  std::vector<const WriteOp*> out;
  for (const WriteOp& w : h.writes) {
    if (w.secret == secret && (w.kind == WriteKind::kCreate || w.kind == WriteKind::kRotate)) {
      out.push_back(&w);
    }
  }
  return out;
}

int WhichWrite(const History& h, const std::string& secret, const std::string& content) {
  std::vector<const WriteOp*> writes = WritesOf(h, secret);
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (writes[i]->payload == content) return static_cast<int>(i);
  }
  return -1;
}

int ConvergedFrom(const History& h, const std::string& secret, std::int64_t since_ms) {
  std::vector<const WriteOp*> writes = WritesOf(h, secret);
  int from = 0;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (writes[i]->outcome == Outcome::kAcked && writes[i]->end_ms <= since_ms) {
      from = static_cast<int>(i);
    }
  }
  return from;
}

std::vector<std::string> SecretNames(const History& h) {
  std::vector<std::string> out;
  for (const WriteOp& w : h.writes) {
    if (w.kind != WriteKind::kCreate && w.kind != WriteKind::kRotate) continue;
    if (std::find(out.begin(), out.end(), w.secret) == out.end()) out.push_back(w.secret);
  }
  return out;
}

}  // namespace ocisecrets::faults
