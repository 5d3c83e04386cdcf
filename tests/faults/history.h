// What a fault run saw, event by event: the model of what was acknowledged (every write
// the CLI was asked for, with its payload and what the CLI answered), every container
// start and every read of a secret file, the node removals and the managers' lease audit
// lines, the convergence checks, the payload scans and the fault windows. The invariant
// checks (invariants.h) and the report (report.h) are pure functions of a History.
//
// Times are milliseconds since the run began (a steady clock); audit comparisons use the
// wall clock (TimePoint), as the audit log writes it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shared/time_format.h"
#include "tests/faults/schedule.h"

namespace ocisecrets::faults {

enum class Outcome {
  kPending,  // asked, no answer yet
  kAcked,    // the CLI exited 0
  kFailed,   // the CLI failed or timed out: indeterminate, it may have happened or not
};

enum class WriteKind { kCreate, kRotate, kServiceUpdate, kRotateKey };

struct WriteOp {
  WriteKind kind = WriteKind::kCreate;
  int manager = 0;
  std::string secret;   // create, rotate; the secret added or removed by a service update
  std::string payload;  // create, rotate: what was written (kept for the checks, never printed)
  std::string service;  // service update
  bool add = false;     // service update: --secret-add (else --secret-rm)
  Outcome outcome = Outcome::kPending;
  std::string id;             // create, acked: the ID the CLI printed
  std::uint64_t version = 0;  // create (1) or rotate, acked: the data version; rotate-key: the term
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string error;  // failed: the CLI's last line (never holds a payload)
};

// A pending write of `kind` through `manager` to `secret` (the rest left to fill).
WriteOp NewWrite(WriteKind kind, int manager, std::string secret, std::string payload = {});

struct StartOp {
  std::string container;
  int slot = 0;          // the worker slot
  std::string node_id;   // the worker's node ID at the time
  bool ok = false;
  std::string error;     // failed: the hook's line when there was one, else runc's first line
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
};

// When a read of a container's file happened.
enum class ReadWhen { kStart, kRunning, kDaemonDown, kFinal };

struct ReadOp {
  std::string container;
  std::string secret;
  std::optional<std::string> content;  // nullopt: the file could not be opened
  ReadWhen when = ReadWhen::kRunning;
  std::int64_t at_ms = 0;
};

struct PsOp {
  int manager = 0;
  bool ok = false;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
};

struct NodeRemoval {
  std::string node_id;
  TimePoint returned{};  // wall clock when `node rm` returned 0
  std::int64_t at_ms = 0;
};

// One "lease.create" line of a manager's audit log, or one "tls.refused" line that refused
// a removed node's request (result "denied", no container).
struct AuditLease {
  int manager = 0;
  std::string node_id;
  std::string result;  // "ok", "denied", "error"
  std::string container;
  TimePoint time{};
};

struct ConvergenceCheck {
  std::string container;
  std::string secret;
  bool converged = false;
  std::int64_t waited_ms = 0;
  std::string held;   // what it held at the end: "version 3", "missing", "no written value"
  std::int64_t at_ms = 0;
};

// What `secret inspect` of every acknowledged secret and `secret ls` showed at one time.
struct Listing {
  std::int64_t taken_ms = 0;  // when the listing began: writes answered before count
  std::map<std::string, std::vector<std::string>> ids_by_name;  // secret ls: IDs per name
  std::map<std::string, std::uint64_t> index_by_name;          // secret inspect: DataVersion
  bool complete = true;  // false: the CLI calls failed (a manager down): nothing to check
  std::string error;
};

struct RotateKeyResult {
  std::uint32_t term = 0;   // the term the command made current
  bool completed = false;   // cluster inspect: that term alone, the rotation done
  std::string state;        // what cluster inspect last showed
};

struct PayloadHit {
  std::string where;  // a file path, "etcd keyspace", "log of manager 1"
  std::int64_t at_ms = 0;
};

struct FaultWindow {
  int step = 0;
  FaultStep fault;
  std::string target;          // "manager 1 (127.0.0.1:PORT)"
  std::int64_t begin_ms = 0;   // the fault injected
  std::int64_t heal_ms = 0;    // healed: restarted, resumed, replaced
  std::int64_t end_ms = 0;     // the step's checks done
};

struct History {
  std::vector<WriteOp> writes;
  std::vector<StartOp> starts;
  std::vector<ReadOp> reads;
  std::vector<PsOp> ps;
  std::vector<NodeRemoval> removals;
  std::vector<AuditLease> leases;  // replaced by each scan of the audit logs
  std::vector<ConvergenceCheck> convergence;
  std::vector<Listing> listings;
  std::vector<RotateKeyResult> rotate_keys;
  std::vector<PayloadHit> payload_hits;
  std::vector<FaultWindow> windows;
  std::int64_t payload_scans = 0;
  std::int64_t files_scanned = 0;
  std::optional<std::map<std::string, std::optional<std::string>>> final_readback;
};

// The history of a running run: every thread records through it. Thread-safe.
class Recorder {
 public:
  // Adds a write in state kPending and returns its index for Finish.
  std::size_t Begin(WriteOp op);
  void Finish(std::size_t index, Outcome outcome, std::string id, std::uint64_t version,
              std::string error, std::int64_t end_ms);
  void Add(StartOp op);
  void Add(ReadOp op);
  void Add(PsOp op);
  void Add(NodeRemoval op);
  void Add(ConvergenceCheck op);
  void Add(Listing op);
  void Add(RotateKeyResult op);
  void Add(PayloadHit op);
  void Add(FaultWindow op);
  void SetLeases(std::vector<AuditLease> leases);
  void CountScan(std::int64_t files);
  void SetFinalReadback(std::map<std::string, std::optional<std::string>> readback);
  // A copy of everything so far.
  History Snapshot() const;
  // The payloads a container converged since `since_ms` may hold for `secret`: those of
  // the writes from ConvergedFrom(since_ms) on, as asked so far.
  std::vector<std::string> ConvergedPayloads(const std::string& secret,
                                             std::int64_t since_ms) const;
  // Whether a start and a write, both begun at or after `since_ms`, have succeeded.
  bool Recovered(std::int64_t since_ms) const;
  // Whether an acknowledged rotate of one of `secrets` began at or after `since_ms`.
  bool RotatedSince(const std::vector<std::string>& secrets, std::int64_t since_ms) const;

 private:
  template <typename T>
  void Append(std::vector<T>* list, T op) {
    std::lock_guard lock(mu_);
    list->push_back(std::move(op));
  }

  mutable std::mutex mu_;
  History h_;
};

// The writes to `secret` (create and rotates), in the order they were asked for. One
// thread writes a secret, so this is also the order they happened in.
std::vector<const WriteOp*> WritesOf(const History& h, const std::string& secret);

// Which written value `content` is: the index in WritesOf(h, secret) of the write whose
// payload it equals, or -1 for none (a prefix, a mix, another secret's, empty).
int WhichWrite(const History& h, const std::string& secret, const std::string& content);

// The values a container that converged since `since_ms` may hold: the index in
// WritesOf(h, secret) of the last write acknowledged before since_ms (0 when none was):
// every write from there on is acceptable. Pure.
int ConvergedFrom(const History& h, const std::string& secret, std::int64_t since_ms);

// The secrets the run created or wrote, in the order of their first write.
std::vector<std::string> SecretNames(const History& h);

}  // namespace ocisecrets::faults
