// What every benchmark program shares: interleaved runs of the variants of one
// comparison, their statistics (median, p95, p99), and one table of results with the
// ratios to a reference variant. Nothing here asserts a duration: programs print figures.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace ocisecrets::bench {

// Order statistics of a sample, in the sample's unit (milliseconds for durations).
struct Summary {
  std::size_t n = 0;
  double median = 0;
  double p95 = 0;
  double p99 = 0;
  double mean = 0;
  double min = 0;
  double max = 0;
};

// The q-quantile (0 <= q <= 1) of values, linear between the two nearest ranks
// (the "type 7" definition of R and NumPy). An empty input gives 0.
double Quantile(std::vector<double> values, double q);

// Summarises values; an empty input gives a Summary with n == 0.
Summary Summarize(const std::vector<double>& values);

// One variant of a comparison. `run` is the timed work; `prepare`, when set, runs just
// before each timed run and is not timed (e.g. restoring a file the run rewrites).
struct Variant {
  std::string name;
  std::function<Status()> run;
  std::function<Status()> prepare;
  // When set, called right after each run: the CPU time (ms) that run used, recorded next
  // to its wall time. CPU time is not inflated by waiting for a busy machine's cores.
  std::function<double()> cpu_ms = {};
};

// What became of one variant: its timings in ms, or the first error that stopped it.
struct VariantResult {
  std::string name;
  std::vector<double> ms;
  Summary summary;
  std::vector<double> cpu_ms;  // empty unless the variant reports CPU time
  Summary cpu;
  Status error;  // OK unless the variant failed; it then takes no further part
};

// Runs the variants interleaved, round after round, each round in a freshly shuffled order
// (A C B, B A C, ...; a fixed seed): `warmup` rounds that are not recorded, then `rounds`
// recorded ones, so that drift in the machine's load, and what one run leaves for the
// next, touch every variant alike. A variant whose run fails is dropped from later rounds and
// keeps its error. `progress`, when set, is called after every round with its number.
std::vector<VariantResult> RunInterleaved(const std::vector<Variant>& variants, int rounds,
                                          int warmup,
                                          const std::function<void(int)>& progress = {});

// One line of the results table. Columns: benchmark | variant | n | median | tail |
// throughput | compared with. Cells are preformatted text; an empty cell prints "-".
struct Row {
  std::string benchmark;
  std::string variant;
  std::string n;
  std::string median;
  std::string tail;        // e.g. "p95 27.3 ms" or "p99 1.20 ms"
  std::string throughput;  // e.g. "21,400 leases/s"
  std::string compared;    // e.g. "+0.4 ms (1.02x) vs no hooks"
};

// A row for something that cannot be measured (yet): every figure "-", and the reason
// in the last column, e.g. "n/a: mTLS not built yet".
Row NotAvailableRow(std::string benchmark, std::string variant, std::string reason);

// A row of a distribution in ms: n, median "LABEL X" (label e.g. "p50", "CPU p50"), tail
// "p99 Y, max Z"; throughput and comparison left for the caller.
Row DistributionRow(std::string benchmark, std::string variant, const Summary& s,
                    std::string_view label = "p50");

// "goal WHAT: met" or "goal WHAT: not met", as the goal lines of the issues read.
std::string GoalLine(bool met, std::string_view what);

// The table's header (two lines of Markdown) and one Markdown line per row.
std::string TableHeader();
std::string FormatRow(const Row& row);

// "27.31 ms", "812 us", "1.204 s": three significant figures, unit chosen by size.
std::string FormatMs(double ms);
// "21,400" (thousands separators, rounded to an integer).
std::string FormatCount(double value);
// "+1.21 ms (1.05x) vs NAME": the difference of the medians and their ratio.
std::string CompareMedians(const Summary& s, const Summary& reference, std::string_view name);

// Command-line options every bench program takes.
//   --quick          fewer rounds and smaller data sets (what `bench.sh --quick` uses)
//   --rounds N       recorded rounds per comparison (overrides the default)
//   --rows-only      print only the table's rows (bench.sh prints one header for all)
struct Options {
  bool quick = false;
  std::optional<int> rounds;
  bool rows_only = false;
  std::vector<std::string> rest;  // arguments the program handles itself
};
// Parses argv; unknown "--" flags are left in `rest` for the program.
Result<Options> ParseOptions(int argc, char** argv);

// Prints rows to stdout as the table (with the header unless rows_only) and flushes.
void PrintRows(const std::vector<Row>& rows, const Options& options);

// Progress and diagnostics go to stderr, prefixed with the program's name, so stdout
// holds only the table.
void Log(std::string_view line);

// The directory of the running executable (build/bin), where the product's binaries are.
std::string BinDir();

// True when path names an executable file.
bool IsExecutable(const std::string& path);

// Outcome of a child process.
struct ProcessResult {
  int exit_code = -1;   // exit status, or 128 + signal
  double cpu_ms = 0;    // user + system CPU of it and of the children it waited for
  std::string err;      // its stderr (first 64 KiB), for error messages
  std::string out;      // its stdout when captured, else empty
};

// Runs argv[0] (a path, or a name looked up in PATH) with argv and env (the parent's
// environment when env is empty), stdin from /dev/null, stdout discarded unless
// capture_out, stderr captured. Waits for it. Fails only when it cannot be started.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env = {},
                                 bool capture_out = false);

// How RunProcess below connects a child.
struct ProcessIo {
  // Written to its stdin, which is then closed; empty: stdin from /dev/null. The caller
  // wipes it when it holds a payload. A child that exits unread raises SIGPIPE here unless
  // the program ignores it.
  std::string input = {};
  // When set, its stderr is appended to this file (created 0600) instead of captured: a
  // detached container inherits it and keeps a pipe open for as long as it runs.
  std::string stderr_path = {};
  bool capture_out = false;  // its stdout in ProcessResult::out, else /dev/null
};
// RunProcess with the child's stdio as `io` says. Fails only when it cannot be started.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, const ProcessIo& io,
                                 const std::vector<std::string>& env = {});

// RunProcess, and an error naming the command and its stderr when the exit code is not 0.
// `cpu_ms`, when not null, receives the process's ProcessResult::cpu_ms.
Status RunChecked(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                  double* cpu_ms = nullptr);

// A directory under /tmp (short, so unix socket paths stay below 108 bytes) removed
// with its contents when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes data to path (created 0644 or truncated).
Status WriteFile(const std::string& path, std::string_view data);

// Resident set size of a process in KiB (VmRSS from /proc/PID/status), or an error.
Result<long> ResidentKiB(int pid);
// Its peak resident set size in KiB (VmHWM), or an error.
Result<long> PeakResidentKiB(int pid);
// CPU time (user + system) a process has used so far, in ms, from /proc/PID/stat.
Result<double> CpuTimeMs(int pid);
// "38.2 MiB" from KiB.
std::string FormatKiB(long kib);

}  // namespace ocisecrets::bench
