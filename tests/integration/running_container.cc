#include "tests/integration/running_container.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace ocisecrets::itest {

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

RunningContainer::RunningContainer(const Daemon& node, const std::string& service,
                                   const std::string& id, const std::string& script,
                                   const std::function<void(Bundle&)>& edit)
    : runtime_(Runc()), id_(id), output_path_(dir_.File("output")) {
  Bundle bundle(dir_, WriteHookConfig(dir_, node.host()));
  state_dir_ = bundle.state_dir();
  // The reader scripts count with awk; the fixture's rootfs links the other applets.
  EXPECT_EQ(symlink("busybox", (bundle.rootfs() + "/bin/awk").c_str()), 0);
  bundle.SetScript(script);
  bundle.SetAnnotation("org.oci-secrets.service", service);
  bundle.InstallHook();
  if (edit) edit(bundle);
  bundle.WriteConfig();
  // runc passes its own stdio to a detached container: a file here, so that nothing holds
  // the pipes RunCommand reads until they close.
  const std::string pid_file = dir_.File("pid");
  CommandResult r =
      RunCommand({"/bin/sh", "-c",
                  "exec \"$0\" --root \"$1\" run -d --pid-file \"$2\" --bundle \"$3\" \"$4\" "
                  ">\"$5\" 2>&1 </dev/null",
                  runtime_.path, state_dir_, pid_file, bundle.path(), id_, output_path_},
                 {}, {}, std::chrono::seconds(60));
  if (r.exit_code != 0) {
    error_ = "runc run -d exited " + std::to_string(r.exit_code) + ": " + Output() + r.err;
    RunCommand({runtime_.path, "--root", state_dir_, "delete", "--force", id_});
    return;
  }
  std::string pid_text = ReadFile(pid_file);
  pid_ = pid_text.empty() ? -1 : std::stoi(pid_text);
  if (pid_ <= 0) error_ = "runc wrote no pid file";
}

RunningContainer::~RunningContainer() { Stop(); }

std::string RunningContainer::Output() const { return ReadFile(output_path_); }

bool RunningContainer::WaitForOutput(const std::string& part,
                                     std::chrono::milliseconds timeout) const {
  return WaitFor([&] { return Output().find(part) != std::string::npos; }, timeout);
}

std::string RunningContainer::HostPath(const std::string& name) const {
  std::string dir = "/proc/" + std::to_string(pid_) + "/root/run/secrets";
  return name.empty() ? dir : dir + "/" + name;
}

std::optional<std::string> RunningContainer::Read(const std::string& name) const {
  std::ifstream in(HostPath(name), std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> RunningContainer::List() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(HostPath(""), ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<RunningContainer::FileStat> RunningContainer::Stat(const std::string& name) const {
  struct stat st {};
  if (::stat(HostPath(name).c_str(), &st) != 0) return std::nullopt;
  return FileStat{st.st_mode & 07777, st.st_uid, st.st_gid};
}

bool RunningContainer::WaitForContent(const std::string& name,
                                      const std::optional<std::string>& content,
                                      std::chrono::milliseconds timeout) const {
  return WaitFor([&] { return Read(name) == content; }, timeout);
}

CommandResult RunningContainer::Exec(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {runtime_.path, "--root", state_dir_, "exec", id_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {}, {}, std::chrono::seconds(30));
}

void RunningContainer::Stop() {
  if (pid_ <= 0) return;
  RunCommand({runtime_.path, "--root", state_dir_, "kill", id_, "KILL"});
  WaitFor([&] {
    CommandResult state = RunCommand({runtime_.path, "--root", state_dir_, "state", id_});
    return state.exit_code != 0 || state.out.find("\"stopped\"") != std::string::npos;
  });
  CommandResult deleted = RunCommand({runtime_.path, "--root", state_dir_, "delete", id_});
  if (deleted.exit_code != 0) {
    RunCommand({runtime_.path, "--root", state_dir_, "delete", "--force", id_});
  }
  pid_ = -1;
}

}  // namespace ocisecrets::itest
