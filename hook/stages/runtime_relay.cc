#include "hook/stages/runtime_relay.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "hook/mount/scoped_fd.h"
#include "hook/oci/oci_state.h"

namespace ocisecrets::hook {
namespace {

// A runtime's command line is short; anything longer is not one we relay to.
constexpr std::size_t kMaxCmdlineBytes = 64 * 1024;

bool IsDevNull(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

std::vector<std::string_view> SplitNul(std::string_view cmdline) {
  std::vector<std::string_view> args;
  while (!cmdline.empty()) {
    std::size_t end = cmdline.find('\0');
    if (end == std::string_view::npos) end = cmdline.size();
    args.push_back(cmdline.substr(0, end));
    cmdline.remove_prefix(std::min(end + 1, cmdline.size()));
  }
  return args;
}

std::string NowRfc3339() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  gmtime_r(&ts.tv_sec, &tm);
  char buf[32];
  std::size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

// Opens the file `path` names for appending, without creating or following a final
// symlink; only a regular file, or (for stderr) a pipe, socket or terminal, is kept.
ScopedFd OpenForAppend(const std::string& path, bool regular_only) {
  ScopedFd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC |
                                     (regular_only ? O_NOFOLLOW : 0)));
  struct stat st {};
  if (!fd.valid() || fstat(fd.get(), &st) != 0 || IsDevNull(st)) return ScopedFd();
  bool ok = S_ISREG(st.st_mode) ||
            (!regular_only && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)));
  return ok ? std::move(fd) : ScopedFd();
}

void WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::optional<std::string> RuntimeJsonLogPath(std::string_view cmdline) {
  std::vector<std::string_view> args = SplitNul(cmdline);
  std::optional<std::string> log;
  bool json = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> value;
    std::string_view name = arg;
    if (std::size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "--log" || name == "--log-format") {
      if (!value) {
        if (i + 1 >= args.size()) break;
        value = args[++i];
      }
      if (name == "--log") {
        log = std::string(*value);
      } else {
        json = *value == "json";
      }
      continue;
    }
    // The subcommand ends the global options (create, run, start, delete, ...). Options
    // with a separate value (--root DIR) make their value look like one: a runtime that
    // puts --log after them is simply not relayed to.
    if (arg.empty() || arg[0] != '-') break;
  }
  if (!json || !log || log->empty() || (*log)[0] != '/') return std::nullopt;
  return log;
}

std::string RuntimeJsonLogLine(std::string_view message, std::string_view time) {
  nlohmann::json entry = nlohmann::json::object();
  entry["msg"] = std::string(message);
  entry["level"] = "error";
  entry["time"] = std::string(time);
  // Replace, never throw, on bytes that are not UTF-8.
  return entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void RelayToRuntime(pid_t runtime_pid, const std::string& line, bool stops_container) {
  if (runtime_pid <= 1) return;
  const std::string proc = "/proc/" + std::to_string(runtime_pid);
  if (ScopedFd err = OpenForAppend(proc + "/fd/2", /*regular_only=*/false); err.valid()) {
    WriteAll(err.get(), line + "\n");
  }
  if (!stops_container) return;
  // Podman reads the runtime's JSON log (conmon passes --log-format=json --log FILE) as
  // one JSON object and shows its "msg". With our entry before the runtime's own, the
  // file holds two; Podman then shows what the runtime wrote on stderr instead, which
  // starts with our line. Either way the user reads why the hook failed.
  ScopedFd cmdline_fd(open((proc + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC));
  if (!cmdline_fd.valid()) return;
  Result<std::string> cmdline = ReadAllBounded(cmdline_fd.get(), kMaxCmdlineBytes);
  if (!cmdline.ok()) return;
  std::optional<std::string> log = RuntimeJsonLogPath(*cmdline);
  if (!log) return;
  if (ScopedFd fd = OpenForAppend(*log, /*regular_only=*/true); fd.valid()) {
    WriteAll(fd.get(), RuntimeJsonLogLine(line, NowRfc3339()));
  }
}

}  // namespace ocisecrets::hook
