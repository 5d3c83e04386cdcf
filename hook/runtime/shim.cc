#include "hook/runtime/shim.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "hook/runtime/bundle_edit.h"
#include "hook/runtime/runtime_args.h"
#include "shared/names.h"
#include "shared/validation.h"

namespace ocisecrets {
namespace {

constexpr std::string_view kProgram = "oci-secrets-runtime";
constexpr std::string_view kSystemDirs =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string NowRfc3339() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Appends a line at `level` ("error", "info") to the runtime's log file in its format:
// containerd reads the last error line of that file into the message the user sees, and
// passes over the others.
void AppendToRuntimeLog(const RuntimeInvocation& inv, std::string_view level,
                        const std::string& message) {
  if (!inv.log_path || inv.log_path->empty()) return;
  int fd = open(inv.log_path->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                0600);
  if (fd < 0) return;
  std::string line;
  if (inv.log_format == "json") {
    nlohmann::json j = {{"level", level}, {"msg", message}, {"time", NowRfc3339()}};
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = "time=\"" + NowRfc3339() + "\" level=" + std::string(level) + " msg=" +
           nlohmann::json(message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  line += '\n';
  ssize_t ignored = write(fd, line.data(), line.size());
  (void)ignored;
  close(fd);
}

int Fail(const RuntimeInvocation& inv, const Status& status, int code) {
  std::string message = std::string(kProgram) + ": " + status.message();
  std::fprintf(stderr, "%s\n", message.c_str());
  AppendToRuntimeLog(inv, "error", message);
  return code;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<std::string> ResolveRuntime(const std::string& runtime) {
  if (runtime.empty()) return Status::InvalidArgument("runtime path is empty");
  if (runtime.find('/') != std::string::npos) return runtime;
  struct stat self{};
  bool have_self = stat("/proc/self/exe", &self) == 0;
  std::string dirs;
  if (const char* path = std::getenv("PATH"); path != nullptr && path[0] != '\0') {
    dirs = std::string(path) + ":";
  }
  dirs += kSystemDirs;
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    start = end + 1;
    if (dir.empty() || dir[0] != '/') continue;  // never a relative PATH entry
    std::string candidate = dir + "/" + runtime;
    struct stat st{};
    if (stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (access(candidate.c_str(), X_OK) != 0) continue;
    if (have_self && SameFile(st, self)) continue;
    return candidate;
  }
  return Status::NotFound("runtime \"" + runtime + "\" not found in PATH or " +
                          std::string(kSystemDirs));
}

int RunShim(int argc, char** argv) {
  RuntimeInvocation inv;
  // The shim's own option comes first (Docker's runtimeArgs are put before runc's global
  // flags) and is removed before the real runtime sees the arguments.
  std::string service;
  int first = 1;
  if (argc > 1) {
    std::string_view a = argv[1];
    constexpr std::string_view kFlag = kShimServiceFlag;
    if (a == kFlag) {
      if (argc < 3) {
        return Fail(inv, Status::InvalidArgument("--oci-secrets-service needs a value"), 2);
      }
      service = argv[2];
      first = 3;
    } else if (a.substr(0, kFlag.size() + 1) == std::string(kFlag) + "=") {
      service = std::string(a.substr(kFlag.size() + 1));
      first = 2;
    }
    if (first > 1) {
      Status valid = ValidateServiceName(service);
      if (!valid.ok()) return Fail(inv, valid.WithContext("--oci-secrets-service"), 2);
    }
  }
  std::vector<std::string> args(argv + first, argv + argc);
  Result<RuntimeInvocation> parsed = ParseRuntimeArgs(args);
  if (!parsed.ok()) return Fail(inv, parsed.status().WithContext("arguments"), 2);
  inv = std::move(parsed).value();

  Result<ShimConfig> config = LoadShimConfig();
  if (!config.ok()) return Fail(inv, config.status().WithContext("config"), 1);

  if (CreatesContainer(inv)) {
    std::string bundle = inv.bundle.value_or(".");
    if (bundle.empty()) bundle = ".";
    std::string context = inv.subcommand + ": bundle " + bundle;
    Result<EditOutcome> outcome = InjectHooksIntoBundle(bundle, *config, service);
    if (!outcome.ok()) return Fail(inv, outcome.status().WithContext(context), 1);
    if (*outcome == EditOutcome::kNotOptedIn) {
      // Why a container on our runtime got nothing, where the engine keeps the runtime's log.
      AppendToRuntimeLog(inv, "info",
                         std::string(kProgram) + ": " + inv.subcommand + ": no " +
                             std::string(kServiceAnnotation) + " annotation and no " +
                             std::string(kServiceEnv) +
                             " in the container's environment: no secrets added");
    }
    if (*outcome != EditOutcome::kNotOptedIn && access(config->hook_path.c_str(), X_OK) != 0) {
      return Fail(inv, PosixError("hook " + config->hook_path, errno).WithContext(context), 1);
    }
  }

  Result<std::string> runtime = ResolveRuntime(config->runtime_path);
  if (!runtime.ok()) return Fail(inv, runtime.status(), 1);
  std::vector<char*> exec_argv;
  exec_argv.push_back(runtime->data());
  for (int i = first; i < argc; ++i) exec_argv.push_back(argv[i]);
  exec_argv.push_back(nullptr);
  execv(runtime->c_str(), exec_argv.data());
  return Fail(inv, PosixError("exec " + *runtime, errno), 1);
}

}  // namespace ocisecrets
