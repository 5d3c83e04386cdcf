// The racing swapper: while containers start through real runc and crun, a thread keeps
// exchanging the rootfs's /run (a directory) with a symlink to a host dir, by
// renameat2(RENAME_EXCHANGE), so the hook meets every interleaving of "directory" and
// "symlink" between its lookups. Each start may succeed or fail closed; none may create
// anything in the host dir or leave a mount on the host.
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

// Starts per runtime (both runtimes run side by side on one shared rootfs).
constexpr int kStartsPerRuntime = 250;

// Exchanges `a` and `b` in `dir` in a loop on its own thread until destroyed.
class Swapper {
 public:
  Swapper(const std::string& dir, std::string a, std::string b)
      : dir_fd_(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)),
        a_(std::move(a)),
        b_(std::move(b)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Swapper() {
    stop_ = true;
    thread_.join();
    if (dir_fd_ >= 0) close(dir_fd_);
  }
  long swaps() const { return swaps_; }
  int error() const { return error_; }

 private:
  void Loop() {
    while (!stop_) {
      if (renameat2(dir_fd_, a_.c_str(), dir_fd_, b_.c_str(), RENAME_EXCHANGE) != 0) {
        error_ = errno;
        return;
      }
      ++swaps_;
      if ((swaps_ & 0xff) == 0) sched_yield();
    }
  }

  int dir_fd_;
  std::string a_, b_;
  std::atomic<bool> stop_{false};
  std::atomic<long> swaps_{0};
  std::atomic<int> error_{0};
  std::thread thread_;
};

struct Tally {
  int started = 0;
  int failed_closed = 0;
};

TEST(HookSwapRaceTest, RunSwappedWithHostSymlinkNeverEscapesTheRootfs) {
  std::vector<Runtime> runtimes = Runtimes();
  for (const Runtime& rt : runtimes) {
    ASSERT_TRUE(CanRun(rt));
    if (rt.name == "crun") EnsureCrunCgroupFix();
  }
  Daemon daemon;
  ASSERT_TRUE(daemon.Start().ok()) << daemon.Log();
  std::string payload = UniquePayload();
  CreateSecretAndService(daemon, "pw", payload, "redis", {"pw", 0, 0, 0444});
  ASSERT_FALSE(HasFailure());
  TempDir dir;
  TempDir host_target;  // what the symlink points at: must stay empty
  std::string config = dir.WriteFile(
      "hook.json",
      nlohmann::json{{"manager", daemon.host()}, {"log_file", dir.File("hook.log")}}.dump(), 0644);

  // One bundle per runtime (each in its own dir), all on the first bundle's rootfs.
  std::vector<std::unique_ptr<TempDir>> bundle_dirs;
  std::vector<std::unique_ptr<Bundle>> bundles;
  for (std::size_t i = 0; i < runtimes.size(); ++i) {
    bundle_dirs.push_back(std::make_unique<TempDir>());
    bundles.push_back(std::make_unique<Bundle>(*bundle_dirs.back(), config));
    Bundle& b = *bundles.back();
    b.config()["process"]["args"] = {"/bin/true"};
    b.SetAnnotation("org.oci-secrets.service", "redis");
    b.InstallHook();
    if (i > 0) b.config()["root"]["path"] = bundles[0]->rootfs();
  }
  std::string root = bundles[0]->rootfs();
  ASSERT_EQ(mkdir((root + "/run").c_str(), 0755), 0);
  ASSERT_EQ(symlink(host_target.path().c_str(), (root + "/run.swap").c_str()), 0);

  std::vector<std::string> mounts_before = HostMounts();
  const int starts = kStartsPerRuntime * 2 / static_cast<int>(runtimes.size());
  std::vector<Tally> tallies(runtimes.size());
  std::atomic<bool> escaped{false};
  std::mutex report_mu;
  std::string first_report;
  auto report = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(report_mu);
    if (first_report.empty()) first_report = what;
    escaped = true;
  };
  {
    Swapper swapper(root, "run", "run.swap");
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < runtimes.size(); ++i) {
      workers.emplace_back([&, i] {
        const Runtime& rt = runtimes[i];
        for (int n = 0; n < starts && !escaped; ++n) {
          std::string id = "ocs-swap-" + rt.name + "-" + std::to_string(getpid()) + "-" +
                           std::to_string(n);
          CommandResult r = bundles[i]->Run(rt, id);
          if (r.exit_code == 0) {
            ++tallies[i].started;
          } else if (r.err.find("oci-secrets-hook: prestart: ") == std::string::npos) {
            report(rt.name + " start " + std::to_string(n) + " failed, not by the hook: " +
                   r.err);
          } else {
            ++tallies[i].failed_closed;
          }
          std::vector<std::string> made = ListTree(host_target.path());
          if (!made.empty()) {
            report(rt.name + " start " + std::to_string(n) + " created " + made[0] +
                   " in the host dir");
          }
          for (const auto& m :
               SuspiciousNewMounts(mounts_before, HostMounts(), {host_target.path()})) {
            report(rt.name + " start " + std::to_string(n) + " left a host mount: " + m);
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(swapper.error(), 0) << std::strerror(swapper.error());
    EXPECT_GT(swapper.swaps(), 0);
    std::cout << "[ swapper ] " << swapper.swaps() << " exchanges\n";
  }
  for (std::size_t i = 0; i < runtimes.size(); ++i) {
    std::cout << "[ swapper ] " << runtimes[i].name << ": " << tallies[i].started
              << " started, " << tallies[i].failed_closed << " failed closed\n";
    RecordProperty(runtimes[i].name + "_started", tallies[i].started);
    RecordProperty(runtimes[i].name + "_failed_closed", tallies[i].failed_closed);
  }
  EXPECT_FALSE(escaped) << first_report;
  int total = 0;
  for (const Tally& t : tallies) total += t.started + t.failed_closed;
  if (!escaped) {
    EXPECT_GE(total, 500);
  }
  EXPECT_TRUE(std::filesystem::is_empty(host_target.path()));
  EXPECT_EQ(FilesHolding(payload, {dir.path(), host_target.path(), bundle_dirs[0]->path()}),
            std::vector<std::string>{});
}

}  // namespace
}  // namespace ocisecrets::itest
