#include "tests/faults/report.h"

#include <algorithm>
#include <cstdio>

namespace ocisecrets::faults {
namespace {

bool In(std::int64_t t, const FaultWindow& w) { return t >= w.begin_ms && t <= w.end_ms; }

void CountWindow(const History& h, const FaultWindow& w, const std::vector<InvariantResult>& results,
                 const CheckOptions& options, FaultRow& row) {
  for (const StartOp& s : h.starts) {
    if (!In(s.start_ms, w)) continue;
    ++row.tried;
    const bool in_time = s.end_ms - s.start_ms <= options.start_limit_ms;
    if (s.ok && in_time) {
      ++row.succeeded;
    } else if (!s.ok && in_time && HasHookLine(s.error)) {
      ++row.failed_closed;
    } else {
      ++row.lost;
    }
  }
  for (const WriteOp& op : h.writes) {
    if (!In(op.start_ms, w)) continue;
    ++row.tried;
    if (op.outcome == Outcome::kAcked) ++row.succeeded;
    if (op.outcome == Outcome::kFailed) ++row.failed_closed;
  }
  // The acknowledged writes the checks did not find: counted as lost, not succeeded.
  for (std::int64_t t : results.at(0).event_ms) {
    if (!In(t, w)) continue;
    ++row.lost;
    --row.succeeded;
  }
  for (const PsOp& p : h.ps) {
    if (!In(p.start_ms, w)) continue;
    ++row.tried;
    (p.ok ? row.succeeded : row.failed_closed)++;
  }
  // Recovery: the heal until a start and a write begun after it both succeeded.
  std::int64_t start_back = -1, write_back = -1;
  for (const StartOp& s : h.starts) {
    if (s.ok && s.start_ms >= w.heal_ms && (start_back < 0 || s.end_ms < start_back)) {
      start_back = s.end_ms;
    }
  }
  for (const WriteOp& op : h.writes) {
    if (op.outcome == Outcome::kAcked && op.start_ms >= w.heal_ms &&
        (write_back < 0 || op.end_ms < write_back)) {
      write_back = op.end_ms;
    }
  }
  if (start_back >= 0 && write_back >= 0) {
    row.recover_ms = std::max(row.recover_ms, std::max(start_back, write_back) - w.heal_ms);
  }
}

std::string Cell(std::int64_t ms) { return ms < 0 ? "-" : std::to_string(ms) + " ms"; }

}  // namespace

std::vector<FaultRow> FaultRows(const History& h, const std::vector<InvariantResult>& results,
                                const CheckOptions& options) {
  std::vector<FaultRow> rows;
  for (FaultKind kind : kAllFaultKinds) {
    FaultRow row;
    row.kind = kind;
    for (const FaultWindow& w : h.windows) {
      if (w.fault.kind != kind) continue;
      ++row.runs;
      CountWindow(h, w, results, options, row);
    }
    rows.push_back(row);
  }
  return rows;
}

StartsDuringKill StartsDuringManagerKill(const History& h) {
  StartsDuringKill out;
  for (const FaultWindow& w : h.windows) {
    if (w.fault.kind != FaultKind::kManagerKill) continue;
    for (const StartOp& s : h.starts) {
      if (s.start_ms < w.begin_ms || s.start_ms > w.heal_ms) continue;
      ++out.tried;
      out.succeeded += s.ok;
    }
  }
  return out;
}

bool Passed(const std::vector<FaultRow>& rows, const std::vector<InvariantResult>& results) {
  for (const FaultRow& row : rows) {
    if (row.lost != 0) return false;
  }
  return FirstViolated(results) < 0;
}

std::string FormatReport(std::uint64_t seed, bool quick, const std::vector<FaultRow>& rows,
                         const std::vector<InvariantResult>& results,
                         const StartsDuringKill& starts, const std::string& notes) {
  std::string out = "seed: " + std::to_string(seed) + " (replay: packaging/faults.sh " +
                    (quick ? "--quick " : "") + "--seed " + std::to_string(seed) + ")\n\n";
  out += "| fault | runs | tried | succeeded | failed closed | lost | time to recover |\n";
  out += "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const FaultRow& r : rows) {
    out += "| " + std::string(FaultKindName(r.kind)) + " | " + std::to_string(r.runs) + " | " +
           std::to_string(r.tried) + " | " + std::to_string(r.succeeded) + " | " +
           std::to_string(r.failed_closed) + " | " + std::to_string(r.lost) + " | " +
           Cell(r.recover_ms) + " |\n";
  }
  out += "\n";
  const int first = FirstViolated(results);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const InvariantResult& r = results[i];
    if (r.held) {
      out += "PASS " + r.name + ": " + r.counts + "\n";
    } else {
      out += "FAIL " + r.name + (static_cast<int>(i) == first ? " (first-violated)" : "") + ": " +
             r.what + " [" + std::to_string(r.event_ms.size()) + " violations; " + r.counts +
             "]\n";
    }
  }
  char pct[32] = "-";
  if (starts.tried > 0) {
    std::snprintf(pct, sizeof pct, "%.1f %%", 100.0 * starts.succeeded / starts.tried);
  }
  out += "starts during a manager kill: " + std::to_string(starts.succeeded) + "/" +
         std::to_string(starts.tried) + " succeeded (" + pct + ")\n";
  out += notes;
  out += std::string("fault run: ") + (Passed(rows, results) && notes.empty() ? "PASS" : "FAIL") +
         " seed=" + std::to_string(seed) + "\n";
  return out;
}

}  // namespace ocisecrets::faults
