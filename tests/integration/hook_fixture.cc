#include "tests/integration/hook_fixture.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/testing/requirements.h"

namespace ocisecrets::itest {
namespace {

using nlohmann::json;

const char* const kApplets[] = {"sh",   "cat",  "ls",    "grep", "true", "stat", "touch",
                                "echo", "sed",  "mkdir", "id",   "test", "sleep"};

std::string FindBinary(const std::string& name) {
  for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin",
                          "/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// What `runc spec` writes (runc 1.1), trimmed to what a test container needs.
json SpecLikeRuncSpec() {
  json caps = json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  return json{
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", json::array({"sh"})},
        {"env", json::array({"PATH=/bin", "TERM=xterm"})},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "ocs"},
      {"mounts",
       json::array({
           {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
           {{"destination", "/dev"},
            {"type", "tmpfs"},
            {"source", "tmpfs"},
            {"options", json::array({"nosuid", "strictatime", "mode=755", "size=65536k"})}},
           {{"destination", "/dev/pts"},
            {"type", "devpts"},
            {"source", "devpts"},
            {"options", json::array({"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                     "mode=0620"})}},
           {{"destination", "/dev/shm"},
            {"type", "tmpfs"},
            {"source", "shm"},
            {"options", json::array({"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"})}},
           {{"destination", "/sys"},
            {"type", "sysfs"},
            {"source", "sysfs"},
            {"options", json::array({"nosuid", "noexec", "nodev", "ro"})}},
       })},
      {"linux",
       {{"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
        {"namespaces", json::array({{{"type", "pid"}},
                                    {{"type", "network"}},
                                    {{"type", "ipc"}},
                                    {{"type", "uts"}},
                                    {{"type", "mount"}}})},
        {"maskedPaths", json::array({"/proc/kcore", "/proc/keys", "/sys/firmware"})},
        {"readonlyPaths", json::array({"/proc/bus", "/proc/fs", "/proc/sys"})}}},
  };
}

}  // namespace

std::vector<Runtime> Runtimes() {
  std::vector<Runtime> out;
  for (Runtime runtime :
       {Runtime{"runc", "/usr/sbin/runc", 1}, Runtime{"crun", "/usr/bin/crun", 255}}) {
    if (std::string found = FindBinary(runtime.name); !found.empty()) runtime.path = found;
    out.push_back(std::move(runtime));
  }
  return out;
}

Runtime Runc() {
  for (const Runtime& r : Runtimes()) {
    if (r.name == "runc") return r;
  }
  return {"runc", "/usr/sbin/runc", 1};
}

::testing::AssertionResult CanRun(const Runtime& runtime) {
  if (::testing::AssertionResult root = testing::IsRoot(runtime.name); !root) return root;
  // Debian names both packages after their binary.
  return testing::IsInstalled(runtime.path, runtime.name);
}

void EnsureCrunCgroupFix() {
  std::string controllers = ReadFile("/sys/fs/cgroup/unified/cgroup.controllers");
  if (controllers.find_first_not_of(" \n") == std::string::npos) return;
  mkdir("/sys/fs/cgroup/hugetlb", 0755);
  // EBUSY/EEXIST-like failures mean it is already done; the next run of crun will tell.
  mount("cgroup", "/sys/fs/cgroup/hugetlb", "cgroup", 0, "hugetlb");
}

Bundle::Bundle(const TempDir& dir, std::string hook_config)
    : path_(dir.File("bundle")), state_(dir.File("state")), hook_config_(std::move(hook_config)) {
  mkdir(path_.c_str(), 0755);
  mkdir(state_.c_str(), 0700);
  std::string root = rootfs();
  mkdir(root.c_str(), 0755);
  // What every image has (runtimes mount on them); /run is left out on purpose.
  for (const char* d : {"/bin", "/proc", "/dev", "/sys"}) mkdir((root + d).c_str(), 0755);
  std::string busybox = FindBinary("busybox");
  EXPECT_TRUE(testing::IsInstalled(busybox.empty() ? "/bin/busybox" : busybox, "busybox-static"));
  CommandResult cp = RunCommand({"/bin/cp", busybox, root + "/bin/busybox"});
  EXPECT_EQ(cp.exit_code, 0) << cp.err;
  for (const char* applet : kApplets) {
    EXPECT_EQ(symlink("busybox", (root + "/bin/" + applet).c_str()), 0) << applet;
  }
  config_ = SpecLikeRuncSpec();
}

void Bundle::SetScript(const std::string& script) {
  config_["process"]["args"] = json::array({"sh", "-c", script});
}

void Bundle::SetUser(unsigned uid, unsigned gid) {
  config_["process"]["user"] = {{"uid", uid}, {"gid", gid}};
}

void Bundle::SetAnnotation(const std::string& key, const std::string& value) {
  config_["annotations"][key] = value;
}

void Bundle::UseUserNamespace(unsigned base) {
  config_["linux"]["namespaces"].push_back({{"type", "user"}});
  json mapping = json::array({{{"containerID", 0}, {"hostID", base}, {"size", 65536}}});
  config_["linux"]["uidMappings"] = mapping;
  config_["linux"]["gidMappings"] = mapping;
}

void Bundle::InstallHook(bool poststop) {
  auto entry = [&](const char* stage) {
    return json{{"path", BinPath("oci-secrets-hook")},
                {"args", json::array({"oci-secrets-hook", "--config", hook_config_, stage})},
                {"env", json::array({"PATH=/usr/sbin:/usr/bin:/sbin:/bin"})},
                {"timeout", 10}};
  };
  config_["hooks"]["prestart"] = json::array({entry("prestart")});
  if (poststop) {
    config_["hooks"]["poststop"] = json::array({entry("poststop")});
  } else {
    config_["hooks"].erase("poststop");
  }
}

void Bundle::WriteConfig() const { std::ofstream(path_ + "/config.json") << config_.dump(1); }

CommandResult Bundle::Run(const Runtime& runtime, const std::string& id) {
  WriteConfig();
  CommandResult r = RunCommand({runtime.path, "--root", state_, "run", "--bundle", path_, id}, {},
                               {}, std::chrono::seconds(60));
  // A container that failed to start may be left behind in the runtime's state.
  RunCommand({runtime.path, "--root", state_, "delete", "--force", id});
  return r;
}

std::string WriteHookConfig(const TempDir& dir, const std::string& manager_host,
                            int deadline_ms) {
  return dir.WriteFile("hook.json",
                       json{{"manager", manager_host},
                            {"deadline_ms", deadline_ms},
                            {"log_file", dir.File("hook.log")}}
                           .dump(),
                       0644);
}

std::vector<std::string> HostMounts() {
  std::vector<std::string> out;
  std::istringstream in(ReadFile("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::vector<std::string> OurMounts(const std::vector<std::string>& roots) {
  std::vector<std::string> out;
  for (const std::string& line : HostMounts()) {
    bool ours = line.find("oci-secrets") != std::string::npos;
    for (const std::string& root : roots) ours = ours || line.find(root) != std::string::npos;
    if (ours) out.push_back(line);
  }
  return out;
}

std::vector<std::string> NewMounts(const std::vector<std::string>& before,
                                   const std::vector<std::string>& after) {
  std::vector<std::string> out;
  for (const auto& line : after) {
    bool seen = false;
    for (const auto& b : before) seen = seen || b == line;
    if (!seen) out.push_back(line);
  }
  return out;
}

std::vector<std::string> SuspiciousNewMounts(const std::vector<std::string>& before,
                                             const std::vector<std::string>& after,
                                             const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& m : NewMounts(before, after)) {
    bool ours = m.find("secrets") != std::string::npos || m.find(" tmpfs ") != std::string::npos;
    for (const auto& p : paths) ours = ours || m.find(p) != std::string::npos;
    if (ours) out.push_back(m);
  }
  return out;
}

std::vector<std::string> ListTree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(std::filesystem::relative(it->path(), dir, ec).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> FilesHolding(const std::string& needle,
                                      const std::vector<std::string>& roots) {
  std::vector<std::string> argv = {FindBinary("grep"), "-rlsF", "--devices=skip", "-e", needle};
  argv.insert(argv.end(), roots.begin(), roots.end());
  CommandResult r = RunCommand(argv, {}, {}, std::chrono::seconds(300));
  std::vector<std::string> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

ApiClient ClientFor(const Daemon& daemon) {
  Result<std::unique_ptr<Transport>> t = MakeTransport(daemon.host());
  EXPECT_TRUE(t.ok()) << t.status().message();
  return ApiClient(t.ok() ? std::move(*t) : nullptr, std::chrono::seconds(10));
}

void CreateSecretAndService(const Daemon& daemon, const std::string& name,
                            const std::string& payload, const std::string& service,
                            const SecretFile& file, const std::string& secrets_dir) {
  ApiClient client = ClientFor(daemon);
  SecretCreateRequest secret;
  secret.spec.name = name;
  secret.data.assign(payload.begin(), payload.end());
  Result<std::string> id = client.CreateSecret(secret);
  if (!id.ok() && id.status().code() != StatusCode::kAlreadyExists) {
    ADD_FAILURE() << "create secret " << name << ": " << id.status().message();
    return;
  }
  ServiceSpec spec;
  spec.name = service;
  spec.secrets_dir = secrets_dir;
  SecretReference ref;
  ref.secret_name = name;
  ref.file = file;
  spec.secrets.push_back(ref);
  Result<std::string> sid = client.CreateService(spec);
  EXPECT_TRUE(sid.ok()) << "create service " << service << ": " << sid.status().message();
}

std::string StartManagerWithSecret(const Runtime& runtime, Daemon& daemon,
                                   const std::string& service, const SecretFile& file) {
  if (::testing::AssertionResult ready = CanRun(runtime); !ready) {
    ADD_FAILURE() << ready.message();
    return "";
  }
  if (runtime.name == "crun") EnsureCrunCgroupFix();
  if (Status started = daemon.Start(); !started.ok()) {
    ADD_FAILURE() << "start the manager: " << started.message() << "\n" << daemon.Log();
    return "";
  }
  std::string payload = UniquePayload();
  CreateSecretAndService(daemon, "pw", payload, service, file);
  return payload;
}

std::string UniquePayload() {
  std::random_device rd;
  std::ostringstream s;
  s << "ocs-payload-" << std::hex << rd() << rd() << rd();
  return s.str();
}

}  // namespace ocisecrets::itest
