#include "tests/faults/invariants.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace ocisecrets::faults {
namespace {

std::string Secs(std::int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

InvariantResult Named(int i) {
  InvariantResult r;
  r.name = kInvariantNames[i];
  return r;
}

// A result that failed on `what` at t_ms (the first violation found; later ones only add
// their times).
void Violate(InvariantResult& r, const History& h, std::int64_t t_ms, const std::string& what) {
  if (r.held || (!r.event_ms.empty() && t_ms < r.event_ms.front())) {
    r.what = what + " (at " + Secs(t_ms) + "; " + EventsBefore(h, t_ms) + ")";
  }
  r.held = false;
  r.event_ms.push_back(t_ms);
  std::sort(r.event_ms.begin(), r.event_ms.end());
}

// What a value that is no written value of `secret` is, by its length and shape only.
std::string DescribeWrong(const History& h, const std::string& secret, const std::string& value) {
  const std::string size = std::to_string(value.size()) + " bytes";
  if (value.empty()) return "an empty file";
  for (const WriteOp* w : WritesOf(h, secret)) {
    if (w->payload.size() > value.size() && w->payload.compare(0, value.size(), value) == 0) {
      return size + ", a prefix of a value written to " + secret;
    }
  }
  for (const std::string& other : SecretNames(h)) {
    if (other != secret && WhichWrite(h, other, value) >= 0) {
      return size + ", the value of another secret (" + other + ")";
    }
  }
  return size + " that are no value written to " + secret;
}

const char* WhenName(ReadWhen when) {
  switch (when) {
    case ReadWhen::kStart:
      return "at its start";
    case ReadWhen::kRunning:
      return "while it ran";
    case ReadWhen::kDaemonDown:
      return "while its worker's daemon was down";
    case ReadWhen::kFinal:
      return "in the final read-back";
  }
  return "";
}

// The acknowledged writes answered before t_ms, last per secret: the version each
// listing must show at least.
std::map<std::string, const WriteOp*> LastAcked(const History& h, std::int64_t t_ms) {
  std::map<std::string, const WriteOp*> out;
  for (const WriteOp& w : h.writes) {
    if ((w.kind == WriteKind::kCreate || w.kind == WriteKind::kRotate) &&
        w.outcome == Outcome::kAcked && w.end_ms <= t_ms) {
      out[w.secret] = &w;
    }
  }
  return out;
}

void CheckListing(const History& h, const Listing& l, InvariantResult& r) {
  for (const WriteOp& w : h.writes) {
    if (w.kind != WriteKind::kCreate || w.end_ms > l.taken_ms || w.outcome == Outcome::kPending) {
      continue;
    }
    auto it = l.ids_by_name.find(w.secret);
    const std::size_t n = it == l.ids_by_name.end() ? 0 : it->second.size();
    if (w.outcome == Outcome::kAcked && n == 0) {
      Violate(r, h, w.end_ms,
              "the acknowledged create of " + w.secret + " (ID " + w.id + ", through manager " +
                  std::to_string(w.manager) + ") is not listed by secret ls at " +
                  Secs(l.taken_ms));
    } else if (w.outcome == Outcome::kAcked && it->second.front() != w.id) {
      Violate(r, h, w.end_ms,
              "secret ls lists " + w.secret + " with ID " + it->second.front() +
                  ", the acknowledged create said " + w.id);
    }
    if (n > 1) {
      Violate(r, h, w.end_ms,
              w.secret + " is listed " + std::to_string(n) + " times at " + Secs(l.taken_ms));
    }
  }
  for (const auto& [name, w] : LastAcked(h, l.taken_ms)) {
    auto it = l.index_by_name.find(name);
    if (it == l.index_by_name.end()) {
      Violate(r, h, w->end_ms, "secret inspect does not find " + name + " at " + Secs(l.taken_ms));
    } else if (it->second < w->version) {
      Violate(r, h, w->end_ms,
              "secret inspect shows " + name + " at data version " + std::to_string(it->second) +
                  " at " + Secs(l.taken_ms) + ", an acknowledged write made it " +
                  std::to_string(w->version));
    }
  }
}

// The final read-back: each secret's file equals the value of the version inspect shows.
void CheckReadback(const History& h, InvariantResult& r) {
  if (!h.final_readback || h.listings.empty()) return;
  const Listing& last = h.listings.back();
  for (const auto& [name, content] : *h.final_readback) {
    std::vector<const WriteOp*> writes = WritesOf(h, name);
    if (writes.empty()) continue;
    const std::int64_t t = writes.back()->end_ms;
    if (!content) {
      Violate(r, h, t, name + " cannot be read back through a container");
      continue;
    }
    auto index = last.index_by_name.find(name);
    const std::uint64_t version = index == last.index_by_name.end() ? 0 : index->second;
    bool matches = false;
    bool acked_version = false;
    for (const WriteOp* w : writes) {
      if (w->outcome == Outcome::kAcked && w->version == version) {
        acked_version = true;
        matches = w->payload == *content;
      }
    }
    if (!acked_version) {  // the version of an indeterminate write: any of those
      for (const WriteOp* w : writes) {
        matches = matches || (w->outcome != Outcome::kAcked && w->payload == *content);
      }
    }
    if (!matches) {
      Violate(r, h, t,
              name + " reads back as " + DescribeWrong(h, name, *content) +
                  (acked_version ? "; its acknowledged version " + std::to_string(version)
                                 : std::string("; no acknowledged write made its version")));
    }
  }
}

}  // namespace

bool HasHookLine(const std::string& error) {
  for (const char* stage : {"prestart: ", "createRuntime: ", "poststop: "}) {
    if (error.find(std::string("oci-secrets-hook: ") + stage) != std::string::npos) return true;
  }
  return false;
}

std::string EventsBefore(const History& h, std::int64_t t_ms) {
  std::string out;
  for (const FaultWindow& w : h.windows) {
    if (w.begin_ms > t_ms || (w.end_ms != 0 && w.end_ms + 10000 < t_ms)) continue;
    if (!out.empty()) out += "; ";
    out += (w.end_ms != 0 && w.end_ms < t_ms ? "after " : "during ") +
           std::string(FaultKindName(w.fault.kind)) + " of " + w.target + " (step " +
           std::to_string(w.step) + ", " + Secs(w.begin_ms) + " to " +
           (w.heal_ms != 0 ? Secs(w.heal_ms) : std::string("not healed")) + ")";
  }
  return out.empty() ? "no fault before it" : out;
}

InvariantResult CheckAcknowledgedWrites(const History& h) {
  InvariantResult r = Named(0);
  int acked = 0, failed = 0, creates = 0, rotates = 0, updates = 0, listings = 0;
  for (const WriteOp& w : h.writes) {
    if (w.outcome == Outcome::kAcked) {
      ++acked;
      creates += w.kind == WriteKind::kCreate;
      rotates += w.kind == WriteKind::kRotate;
      updates += w.kind == WriteKind::kServiceUpdate;
    }
    failed += w.outcome == Outcome::kFailed;
  }
  for (const Listing& l : h.listings) {
    if (!l.complete) continue;
    ++listings;
    CheckListing(h, l, r);
  }
  CheckReadback(h, r);
  int key_rotations = 0;
  for (const RotateKeyResult& k : h.rotate_keys) {
    ++key_rotations;
    if (!k.completed) {
      std::int64_t t = 0;
      for (const WriteOp& w : h.writes) {
        if (w.kind == WriteKind::kRotateKey && w.version == k.term) t = w.end_ms;
      }
      Violate(r, h, t,
              "cluster rotate-key to term " + std::to_string(k.term) +
                  " never completed (cluster inspect: " + k.state + ")");
    }
  }
  r.counts = std::to_string(acked) + " acknowledged (" + std::to_string(creates) + " creates, " +
             std::to_string(rotates) + " rotates, " + std::to_string(updates) +
             " service updates, " + std::to_string(key_rotations) + " key rotations), " +
             std::to_string(failed) + " indeterminate, " + std::to_string(listings) +
             " listings, " +
             std::to_string(h.final_readback ? h.final_readback->size() : 0) + " read back";
  return r;
}

InvariantResult CheckNoLeaseAfterNodeRm(const History& h) {
  InvariantResult r = Named(1);
  int before = 0, refused = 0;
  for (const NodeRemoval& rm : h.removals) {
    for (const AuditLease& l : h.leases) {
      if (l.node_id != rm.node_id) continue;
      if (l.time <= rm.returned) {
        before += l.result == "ok";
        continue;
      }
      if (l.result != "ok") {
        ++refused;
        continue;
      }
      const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(l.time - rm.returned);
      Violate(r, h, rm.at_ms + after.count(),
              "manager " + std::to_string(l.manager) + " granted a lease to removed node " +
                  rm.node_id + " (container " + l.container + ") " +
                  std::to_string(after.count()) + " ms after node rm returned");
    }
  }
  r.counts = std::to_string(h.removals.size()) + " removals, " + std::to_string(h.leases.size()) +
             " leases audited, " + std::to_string(before) +
             " granted to a removed node before its removal, " + std::to_string(refused) +
             " of its requests refused after it";
  return r;
}

InvariantResult CheckWholeReads(const History& h) {
  InvariantResult r = Named(2);
  int whole = 0, missing = 0;
  std::map<ReadWhen, int> by_when;
  for (const ReadOp& read : h.reads) {
    ++by_when[read.when];
    if (!read.content) {
      if (read.when == ReadWhen::kRunning) {
        ++missing;  // a container going away under the sampler: no read happened
      } else {
        Violate(r, h, read.at_ms,
                "container " + read.container + " had no " + read.secret + " " +
                    WhenName(read.when));
      }
      continue;
    }
    if (WhichWrite(h, read.secret, *read.content) >= 0) {
      ++whole;
      continue;
    }
    Violate(r, h, read.at_ms,
            "container " + read.container + " read " + read.secret + " " + WhenName(read.when) +
                " as " + DescribeWrong(h, read.secret, *read.content));
  }
  r.counts = std::to_string(h.reads.size()) + " reads (" +
             std::to_string(by_when[ReadWhen::kStart]) + " at start, " +
             std::to_string(by_when[ReadWhen::kRunning]) + " while running, " +
             std::to_string(by_when[ReadWhen::kDaemonDown]) + " with the daemon down), " +
             std::to_string(whole) + " whole, " + std::to_string(missing) +
             " not opened while running";
  return r;
}

InvariantResult CheckConvergence(const History& h, const CheckOptions& options) {
  InvariantResult r = Named(3);
  std::int64_t slowest = 0;
  for (const ConvergenceCheck& c : h.convergence) {
    slowest = std::max(slowest, c.waited_ms);
    if (c.converged && c.waited_ms <= options.convergence_bound_ms) continue;
    Violate(r, h, c.at_ms,
            "container " + c.container + " still held " + c.secret + " " + c.held + " after " +
                std::to_string(c.waited_ms) + " ms (bound " +
                std::to_string(options.convergence_bound_ms) + " ms)");
  }
  r.counts = std::to_string(h.convergence.size()) + " container-secret checks after " +
             std::to_string(h.windows.size()) + " faults, slowest " + std::to_string(slowest) +
             " ms (bound " + std::to_string(options.convergence_bound_ms) + " ms)";
  return r;
}

InvariantResult CheckNoPayloadAtRest(const History& h) {
  InvariantResult r = Named(4);
  for (const PayloadHit& hit : h.payload_hits) {
    Violate(r, h, hit.at_ms, "a payload of this run in " + hit.where);
  }
  r.counts = std::to_string(h.payload_scans) + " scans of " + std::to_string(h.files_scanned) +
             " files and etcd's keyspace, " + std::to_string(h.payload_hits.size()) + " hits";
  return r;
}

InvariantResult CheckStartsFailClosed(const History& h, const CheckOptions& options) {
  InvariantResult r = Named(5);
  int ok = 0, closed = 0;
  std::int64_t slowest = 0;
  for (const StartOp& s : h.starts) {
    const std::int64_t took = s.end_ms - s.start_ms;
    slowest = std::max(slowest, took);
    const std::string head = "the start of " + s.container + " on worker " +
                             std::to_string(s.slot) + " ";
    if (took > options.start_limit_ms) {
      Violate(r, h, s.start_ms,
              head + "took " + std::to_string(took) + " ms (limit " +
                  std::to_string(options.start_limit_ms) + " ms)" +
                  (s.ok ? "" : ": " + s.error));
    } else if (!s.ok && !HasHookLine(s.error)) {
      Violate(r, h, s.start_ms, head + "failed without the hook's line: " + s.error);
    }
    ok += s.ok;
    closed += !s.ok && HasHookLine(s.error);
  }
  r.counts = std::to_string(h.starts.size()) + " starts, " + std::to_string(ok) +
             " succeeded, " + std::to_string(closed) + " failed closed, slowest " +
             std::to_string(slowest) + " ms (limit " + std::to_string(options.start_limit_ms) +
             " ms)";
  return r;
}

std::vector<InvariantResult> CheckAll(const History& h, const CheckOptions& options) {
  return {CheckAcknowledgedWrites(h),      CheckNoLeaseAfterNodeRm(h),
          CheckWholeReads(h),              CheckConvergence(h, options),
          CheckNoPayloadAtRest(h),         CheckStartsFailClosed(h, options)};
}

int FirstViolated(const std::vector<InvariantResult>& results) {
  int first = -1;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].held) continue;
    const std::int64_t t = results[i].event_ms.empty() ? 0 : results[i].event_ms.front();
    if (first < 0 || t < results[first].event_ms.front()) first = static_cast<int>(i);
  }
  return first;
}

}  // namespace ocisecrets::faults
