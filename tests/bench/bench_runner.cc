#include "tests/bench/bench_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

extern char** environ;

namespace ocisecrets::bench {
namespace {

std::string ProgramName() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("bench") : exe.filename().string();
}

// Three significant figures, without a needless exponent.
std::string ThreeFigures(double v) {
  char buf[64];
  double a = std::fabs(v);
  if (a >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (a >= 10) {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  }
  return buf;
}

std::string Cell(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  q = std::clamp(q, 0.0, 1.0);
  double pos = q * static_cast<double>(values.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(pos));
  auto hi = static_cast<std::size_t>(std::ceil(pos));
  double frac = pos - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

Summary Summarize(const std::vector<double>& values) {
  Summary s;
  s.n = values.size();
  if (values.empty()) return s;
  s.median = Quantile(values, 0.5);
  s.p95 = Quantile(values, 0.95);
  s.p99 = Quantile(values, 0.99);
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(s.n);
  auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  s.min = *mn;
  s.max = *mx;
  return s;
}

std::vector<VariantResult> RunInterleaved(const std::vector<Variant>& variants, int rounds,
                                          int warmup, const std::function<void(int)>& progress) {
  std::vector<VariantResult> results(variants.size());
  for (std::size_t i = 0; i < variants.size(); ++i) {
    results[i].name = variants[i].name;
    results[i].ms.reserve(static_cast<std::size_t>(std::max(rounds, 0)));
  }
  // Every round runs each variant once, in an order shuffled anew (with a fixed seed, so a
  // rerun repeats it): whatever a run leaves behind (deferred kernel work, a daemon's
  // bookkeeping) falls on every variant alike, not always on the one that comes next.
  std::mt19937 shuffle(20261130);
  std::vector<std::size_t> order(variants.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int round = 0; round < warmup + rounds; ++round) {
    std::shuffle(order.begin(), order.end(), shuffle);
    for (std::size_t i : order) {
      VariantResult& r = results[i];
      if (!r.error.ok()) continue;
      if (variants[i].prepare) {
        Status st = variants[i].prepare();
        if (!st.ok()) {
          r.error = st.WithContext("prepare");
          continue;
        }
      }
      auto start = std::chrono::steady_clock::now();
      Status st = variants[i].run();
      auto end = std::chrono::steady_clock::now();
      if (!st.ok()) {
        r.error = st;
        continue;
      }
      if (round >= warmup) {
        r.ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
        if (variants[i].cpu_ms) r.cpu_ms.push_back(variants[i].cpu_ms());
      }
    }
    if (progress) progress(round + 1);
  }
  for (auto& r : results) {
    r.summary = Summarize(r.ms);
    r.cpu = Summarize(r.cpu_ms);
  }
  return results;
}

Row NotAvailableRow(std::string benchmark, std::string variant, std::string reason) {
  Row row;
  row.benchmark = std::move(benchmark);
  row.variant = std::move(variant);
  row.compared = std::move(reason);
  return row;
}

Row DistributionRow(std::string benchmark, std::string variant, const Summary& s,
                    std::string_view label) {
  Row row;
  row.benchmark = std::move(benchmark);
  row.variant = std::move(variant);
  row.n = std::to_string(s.n);
  row.median = std::string(label) + " " + FormatMs(s.median);
  row.tail = "p99 " + FormatMs(s.p99) + ", max " + FormatMs(s.max);
  return row;
}

std::string GoalLine(bool met, std::string_view what) {
  return "goal " + std::string(what) + ": " + (met ? "met" : "not met");
}

std::string TableHeader() {
  return "| benchmark | variant | n | median | tail | throughput | compared with |\n"
         "| --- | --- | ---: | ---: | ---: | ---: | --- |\n";
}

std::string FormatRow(const Row& row) {
  std::ostringstream out;
  out << "| " << Cell(row.benchmark) << " | " << Cell(row.variant) << " | " << Cell(row.n)
      << " | " << Cell(row.median) << " | " << Cell(row.tail) << " | " << Cell(row.throughput)
      << " | " << Cell(row.compared) << " |\n";
  return out.str();
}

std::string FormatMs(double ms) {
  double a = std::fabs(ms);
  if (a >= 1000) return ThreeFigures(ms / 1000) + " s";
  if (a >= 1 || a == 0) return ThreeFigures(ms) + " ms";
  return ThreeFigures(ms * 1000) + " us";
}

std::string FormatCount(double value) {
  long long v = std::llround(value);
  bool negative = v < 0;
  std::string digits = std::to_string(negative ? -v : v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return negative ? "-" + out : out;
}

std::string CompareMedians(const Summary& s, const Summary& reference, std::string_view name) {
  if (s.n == 0 || reference.n == 0 || reference.median <= 0) return "";
  double delta = s.median - reference.median;
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2fx", s.median / reference.median);
  return (delta >= 0 ? "+" : "") + FormatMs(delta) + " (" + ratio + ") vs " + std::string(name);
}

Result<Options> ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--rows-only") {
      o.rows_only = true;
    } else if (a == "--rounds") {
      if (i + 1 >= argc) return Status::InvalidArgument("--rounds needs a number");
      char* end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 1000000) {
        return Status::InvalidArgument(std::string("--rounds: not a positive number: ") +
                                       argv[i]);
      }
      o.rounds = static_cast<int>(v);
    } else {
      o.rest.emplace_back(a);
    }
  }
  return o;
}

void PrintRows(const std::vector<Row>& rows, const Options& options) {
  std::string text = options.rows_only ? "" : TableHeader();
  for (const Row& r : rows) text += FormatRow(r);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void Log(std::string_view line) {
  static const std::string name = ProgramName();
  std::string text = name + ": " + std::string(line) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

std::string BinDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env, bool capture_out) {
  ProcessIo io;
  io.capture_out = capture_out;
  return RunProcess(argv, io, env);
}

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, const ProcessIo& io,
                                 const std::vector<std::string>& env) {
  if (argv.empty()) return Status::InvalidArgument("run: empty command");
  const bool capture_err = io.stderr_path.empty();
  const bool feed = !io.input.empty();
  // The parent's ends, polled below: 0 stderr, 1 stdout, 2 stdin (written).
  int parent[3] = {-1, -1, -1};
  int child[3] = {-1, -1, -1};
  auto close_all = [&] {
    for (int* fds : {parent, child}) {
      for (int i = 0; i < 3; ++i) {
        if (fds[i] >= 0) ::close(fds[i]);
        fds[i] = -1;
      }
    }
  };
  for (int i = 0; i < 3; ++i) {
    if ((i == 0 && !capture_err) || (i == 1 && !io.capture_out) || (i == 2 && !feed)) continue;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      int e = errno;
      close_all();
      return PosixError("run: pipe", e);
    }
    parent[i] = i == 2 ? p[1] : p[0];
    child[i] = i == 2 ? p[0] : p[1];
  }
  if (feed) ::fcntl(parent[2], F_SETFL, O_NONBLOCK);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (feed) {
    posix_spawn_file_actions_adddup2(&fa, child[2], 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  if (io.capture_out) {
    posix_spawn_file_actions_adddup2(&fa, child[1], 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  if (capture_err) {
    posix_spawn_file_actions_adddup2(&fa, child[0], 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, io.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
  }

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, nullptr, args.data(),
                          env.empty() ? environ : envp.data());
  posix_spawn_file_actions_destroy(&fa);
  for (int& fd : child) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  if (rc != 0) {
    close_all();
    return PosixError("run " + argv[0], rc);
  }

  ProcessResult result;
  constexpr std::size_t kMaxErr = 64 * 1024;
  std::size_t written = 0;
  char buf[8192];
  for (;;) {
    pollfd fds[3];
    int n_fds = 0;
    int which[3];
    for (int i = 0; i < 3; ++i) {
      if (parent[i] < 0) continue;
      fds[n_fds] = {parent[i], static_cast<short>(i == 2 ? POLLOUT : POLLIN), 0};
      which[n_fds++] = i;
    }
    if (n_fds == 0) break;
    if (::poll(fds, static_cast<nfds_t>(n_fds), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < n_fds; ++k) {
      const int i = which[k];
      if (fds[k].revents == 0) continue;
      if (i == 2) {
        ssize_t n = ::write(parent[2], io.input.data() + written, io.input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if ((n < 0 && errno != EINTR && errno != EAGAIN) || written == io.input.size()) {
          ::close(parent[2]);  // EOF for the child (or it stopped reading: EPIPE)
          parent[2] = -1;
        }
        continue;
      }
      ssize_t n = ::read(parent[i], buf, sizeof buf);
      if (n > 0) {
        std::string& dst = i == 0 ? result.err : result.out;
        if (i == 1 || dst.size() < kMaxErr) dst.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(parent[i]);
        parent[i] = -1;
      }
    }
  }
  int status = 0;
  struct rusage usage {};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  result.cpu_ms = ms(usage.ru_utime) + ms(usage.ru_stime);
  return result;
}

Status RunChecked(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  double* cpu_ms) {
  ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, env), "");
  if (cpu_ms != nullptr) *cpu_ms = r.cpu_ms;
  if (r.exit_code == 0) return Status::Ok();
  std::string err = r.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  // Keep the last line: runtimes print their cause last.
  auto nl = err.rfind('\n');
  if (nl != std::string::npos) err = err.substr(nl + 1);
  return Status::IOError(argv[0] + " exited with " + std::to_string(r.exit_code) +
                         (err.empty() ? "" : ": " + err));
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/ocs-XXXXXX";
  char* p = ::mkdtemp(tmpl);
  if (p == nullptr) {
    std::perror("mkdtemp");
    std::abort();  // the environment cannot give us a temp dir: nothing to measure
  }
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Status WriteFile(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return PosixError("open " + path, errno);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return PosixError("write " + path, e);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return PosixError("close " + path, errno);
  return Status::Ok();
}

namespace {
Result<long> ProcStatusKiB(int pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return Status::NotFound("no process " + std::to_string(pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return Status::NotFound("no " + std::string(field) + " for process " + std::to_string(pid));
}
}  // namespace

Result<long> ResidentKiB(int pid) { return ProcStatusKiB(pid, "VmRSS"); }

Result<long> PeakResidentKiB(int pid) { return ProcStatusKiB(pid, "VmHWM"); }

Result<double> CpuTimeMs(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return Status::NotFound("no process " + std::to_string(pid));
  // Fields after the command (which may hold spaces) start after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return Status::DataLoss("unreadable /proc/PID/stat");
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double utime = 0;
  double stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {  // field 3 is the state; 14 utime, 15 stime
    if (i == 14) utime = std::strtod(f.c_str(), nullptr);
    if (i == 15) stime = std::strtod(f.c_str(), nullptr);
  }
  return (utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string FormatKiB(long kib) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kib) / 1024.0);
  return buf;
}

}  // namespace ocisecrets::bench
