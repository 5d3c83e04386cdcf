#include "tests/bench/bundle.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/bench/bench_runner.h"

namespace ocisecrets::bench {

namespace fs = std::filesystem;
using nlohmann::json;

Status BuildRootfs(const std::string& root) {
  std::error_code ec;
  for (const char* d : {"bin", "proc", "sys", "dev", "tmp", "etc", "run/secrets"}) {
    fs::create_directories(root + "/" + d, ec);
    if (ec) return Status::IOError("mkdir " + root + "/" + d + ": " + ec.message());
  }
  const std::string busybox = "/bin/busybox";
  if (!IsExecutable(busybox)) {
    return Status::NotFound("/bin/busybox is missing: install busybox-static");
  }
  fs::copy_file(busybox, root + "/bin/busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return Status::IOError("copy busybox: " + ec.message());
  for (const char* link : {"sh", "true", "cat", "ls", "sleep"}) {
    fs::create_symlink("busybox", root + "/bin/" + link, ec);
    if (ec) return Status::IOError(std::string("symlink ") + link + ": " + ec.message());
  }
  return Status::Ok();
}

namespace {

json HookJson(const Hook& h) {
  return {{"path", h.path}, {"args", h.args}, {"env", {kHookEnvPath}}, {"timeout", 10}};
}

}  // namespace

std::string ConfigJson(const std::string& rootfs, const std::vector<std::string>& args,
                       const std::vector<Hook>& prestart, const std::vector<Hook>& poststop,
                       const std::map<std::string, std::string>& annotations) {
  json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  json config = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", args},
        {"env", {"PATH=/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", rootfs}, {"readonly", true}}},
      {"hostname", "bench"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"},
         {"type", "mqueue"},
         {"source", "mqueue"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}}}},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}},
          {{"type", "mount"}}}},
        {"maskedPaths",
         {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths",
         {"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
          "/proc/sysrq-trigger"}}}},
  };
  json hooks = json::object();
  if (!prestart.empty()) {
    for (const auto& h : prestart) hooks["prestart"].push_back(HookJson(h));
  }
  if (!poststop.empty()) {
    for (const auto& h : poststop) hooks["poststop"].push_back(HookJson(h));
  }
  if (!hooks.empty()) config["hooks"] = hooks;
  if (!annotations.empty()) config["annotations"] = annotations;
  return config.dump(2);
}

std::string HookConfigJson(const std::string& dir, const std::string& socket) {
  json c = {{"manager", "unix://" + socket},
            {"deadline_ms", 5000},
            {"log_file", dir + "/hook.log"}};
  return c.dump(2);
}


}  // namespace ocisecrets::bench
