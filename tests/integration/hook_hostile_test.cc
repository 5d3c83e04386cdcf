// Hostile images with real runc and crun: each either gets its secrets mounted inside its
// own rootfs or fails closed, and nothing is ever written or mounted outside the rootfs.
//
// Every case also checks, after the run (TearDown): no new host mount of ours, the decoy
// dir on the host (a place a hostile image points at) exactly as the test made it, the
// host's /etc/secrets, /run/secrets, /tmp/x neither made nor removed, and the payload in
// no file under the test's dir or the decoy.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

// "../" n times: more than the rootfs is deep, so a path that is not kept inside the
// root climbs to the host's "/".
std::string Up(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "../";
  return s;
}

class HookHostileImageTest : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    payload_ = StartManagerWithSecret(GetParam(), daemon_, "redis", {"pw", 0, 0, 0444});
    ASSERT_FALSE(HasFailure());
    WriteHookConfig({});
    bundle_.emplace(dir_, dir_.File("hook.json"));
    bundle_->SetScript("echo \"CONTENT $(cat /run/secrets/pw)\"");
    bundle_->SetAnnotation("org.oci-secrets.service", "redis");
    bundle_->InstallHook();
    // The decoy: a host dir the images below point at. It holds an empty "secrets" dir,
    // so a hook that followed a link out of the rootfs would find a target there.
    DecoyDir("secrets");
    for (const char* p : kHostTargets) host_targets_before_.push_back(std::filesystem::exists(p));
    mounts_before_ = HostMounts();
  }
  void TearDown() override {
    if (mounts_before_.empty()) return;
    for (const auto& m :
         SuspiciousNewMounts(mounts_before_, HostMounts(), {dir_.path(), decoy_.path()})) {
      ADD_FAILURE() << "new host mount: " << m;
    }
    EXPECT_EQ(ListTree(decoy_.path()), decoy_entries_) << "the host decoy dir was changed";
    for (std::size_t i = 0; i < std::size(kHostTargets); ++i) {
      EXPECT_EQ(std::filesystem::exists(kHostTargets[i]), host_targets_before_[i])
          << kHostTargets[i] << " appeared or went on the host";
    }
    EXPECT_EQ(FilesHolding(payload_, {dir_.path(), decoy_.path()}),
              std::vector<std::string>{});
  }

  void WriteHookConfig(nlohmann::json extra) {
    extra["manager"] = daemon_.host();
    extra["log_file"] = dir_.File("hook.log");
    dir_.WriteFile("hook.json", extra.dump(), 0644);
  }
  std::string Root() { return bundle_->rootfs(); }
  // Makes `rel` (and its parents) in the rootfs.
  void ImageDir(const std::string& rel) {
    ASSERT_TRUE(std::filesystem::create_directories(Root() + "/" + rel) ||
                std::filesystem::is_directory(Root() + "/" + rel));
  }
  void ImageLink(const std::string& target, const std::string& rel) {
    ASSERT_EQ(symlink(target.c_str(), (Root() + "/" + rel).c_str()), 0) << rel;
  }
  // Makes `rel` under the host decoy dir; TearDown expects to find exactly these.
  void DecoyDir(const std::string& rel) {
    ASSERT_EQ(mkdir(decoy_.File(rel).c_str(), 0755), 0) << rel;
    decoy_entries_.push_back(rel);
    std::sort(decoy_entries_.begin(), decoy_entries_.end());
  }
  // The decoy's host path without its leading '/', for relative links that climb to it.
  std::string DecoyRel() { return decoy_.path().substr(1); }
  void AddMount(nlohmann::json m) { bundle_->config()["mounts"].push_back(std::move(m)); }

  CommandResult Run() { return bundle_->Run(GetParam(), "ocs-hostile-" + std::to_string(getpid())); }
  // Failing closed: the runtime refused to start the container, with the hook's line.
  void ExpectFailedClosed(const CommandResult& r, const std::string& part,
                          const std::string& prefix =
                              "oci-secrets-hook: prestart: secrets dir /run/secrets: ") {
    EXPECT_EQ(r.exit_code, GetParam().hook_failed_exit) << r.out << r.err;
    EXPECT_EQ(r.out.find("CONTENT"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find(prefix), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  }
  // Started, and the secret read at /run/secrets/pw inside the container.
  void ExpectSecretRead(const CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("CONTENT " + payload_), std::string::npos) << r.out << r.err;
  }

  // Host paths the images below aim at, besides the decoy: a hook that left the rootfs
  // would make them.
  static constexpr const char* kHostTargets[] = {"/etc/secrets", "/run/secrets", "/tmp/x",
                                                 "/real/secrets", "/tmp/x/secrets"};

  Daemon daemon_;
  TempDir dir_;
  TempDir decoy_;
  std::vector<bool> host_targets_before_;
  std::vector<std::string> decoy_entries_;
  std::string payload_;
  std::optional<Bundle> bundle_;
  std::vector<std::string> mounts_before_;
};

TEST_P(HookHostileImageTest, RunSymlinkToEtcMountsInsideTheImagesEtc) {
  ImageDir("etc");
  ImageLink("/etc", "run");
  ExpectSecretRead(Run());
  EXPECT_TRUE(std::filesystem::is_directory(Root() + "/etc/secrets"));
  EXPECT_FALSE(std::filesystem::exists("/etc/secrets/pw"));
}

TEST_P(HookHostileImageTest, RunSymlinkToAbsoluteHostPathFailsClosed) {
  ImageLink(decoy_.path(), "run");  // exists on the host, not in the image
  ExpectFailedClosed(Run(), "symlink refused");
}

TEST_P(HookHostileImageTest, SecretsSymlinkClimbingToTmpXFailsClosed) {
  ImageDir("run");
  ImageLink("../../../../tmp/x", "run/secrets");
  bool host_tmp_x_existed = std::filesystem::exists("/tmp/x");
  ExpectFailedClosed(Run(), "symlink refused");
  EXPECT_EQ(std::filesystem::exists("/tmp/x"), host_tmp_x_existed);
  EXPECT_FALSE(std::filesystem::exists(Root() + "/tmp/x"));
}

TEST_P(HookHostileImageTest, SecretsSymlinkClimbingToAnImageDirStaysInTheImage) {
  ImageDir("run");
  ImageDir("tmp/x");
  ImageLink("../../../../tmp/x", "run/secrets");
  ExpectSecretRead(Run());
}

TEST_P(HookHostileImageTest, SecretsAsARegularFileFailsClosed) {
  ImageDir("run");
  std::string file = Root() + "/run/secrets";
  { std::ofstream(file) << "decoy"; }
  ExpectFailedClosed(Run(), "not a directory");
  std::ifstream in(file);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "decoy");
}

TEST_P(HookHostileImageTest, SecretsAsAFifoFailsClosed) {
  ImageDir("run");
  ASSERT_EQ(mkfifo((Root() + "/run/secrets").c_str(), 0644), 0);
  ExpectFailedClosed(Run(), "not a directory");
}

TEST_P(HookHostileImageTest, SymlinkLoopFailsClosed) {
  ImageLink("/run", "run");
  ExpectFailedClosed(Run(), "symlink refused");
}

// /run -> /l1 -> ... -> /l44 -> /real: 45 links, beyond the kernel's 40 per lookup.
TEST_P(HookHostileImageTest, DeepSymlinkChainFailsClosed) {
  ImageDir("real");
  ImageLink("/l1", "run");
  for (int i = 1; i < 44; ++i) ImageLink("/l" + std::to_string(i + 1), "l" + std::to_string(i));
  ImageLink("/real", "l44");
  ExpectFailedClosed(Run(), "symlink refused");
  EXPECT_FALSE(std::filesystem::exists(Root() + "/real/secrets"));
}

// /run -> l1 -> ... -> l5 -> ../../.. (climbing) to the decoy's path, which the image has
// too: followed, and kept inside the image.
TEST_P(HookHostileImageTest, ShortSymlinkChainStaysInTheImage) {
  ImageDir(DecoyRel());
  ImageLink("l1", "run");
  for (int i = 1; i < 5; ++i) ImageLink("l" + std::to_string(i + 1), "l" + std::to_string(i));
  ImageLink(Up(12) + DecoyRel(), "l5");
  ExpectSecretRead(Run());
  EXPECT_TRUE(std::filesystem::is_directory(Root() + "/" + DecoyRel() + "/secrets"));
}

// Every component of /run/secrets is a symlink whose target climbs with ".." (far above
// the rootfs) and walks back down through "x/..": resolved with the rootfs as "/".
TEST_P(HookHostileImageTest, DotDotInEverySymlinkTargetStaysInTheRootfs) {
  ImageDir(DecoyRel() + "/x");
  ImageDir(DecoyRel() + "/s");
  ImageLink(Up(12) + DecoyRel() + "/x/../x/..", "run");
  ImageLink(Up(12) + DecoyRel() + "/x/../../" + decoy_.path().substr(decoy_.path().rfind('/') + 1) +
                "/s/../s",
            DecoyRel() + "/secrets");
  ExpectSecretRead(Run());
}

// The hook's secrets_dir with ".." in every component is refused before anything is done.
TEST_P(HookHostileImageTest, DotDotInEverySecretsDirComponentFailsClosed) {
  WriteHookConfig({{"secrets_dir", "/../../../../../../" + DecoyRel() + "/.."}});
  // (runc quotes the hook's line, so its '"' become '\"': match around them.)
  ExpectFailedClosed(Run(), "are not allowed", "oci-secrets-hook: prestart: config ");
}

// config.json already mounts a tmpfs at /run/secrets: we refuse to hide the operator's
// mount (and to mount where the runtime put something) and fail closed.
TEST_P(HookHostileImageTest, TargetAlreadyATmpfsMountFailsClosed) {
  AddMount({{"destination", "/run/secrets"},
            {"type", "tmpfs"},
            {"source", "tmpfs"},
            {"options", {"nosuid", "nodev", "mode=755"}}});
  ExpectFailedClosed(Run(), "already a mount point");
}

// ... or binds a host dir there: refused the same way; the host dir is left as it was.
TEST_P(HookHostileImageTest, TargetAlreadyABindMountFailsClosed) {
  DecoyDir("bound");
  AddMount({{"destination", "/run/secrets"},
            {"type", "bind"},
            {"source", decoy_.File("bound")},
            {"options", {"rbind", "rw"}}});
  ExpectFailedClosed(Run(), "already a mount point");
}

// config.json binds a host file at /run/secrets/x (what Compose does with a `file:` secret,
// and `docker run -v f:/run/secrets/x`): our tmpfs would hide it, so the container fails
// closed naming it; the host file is left as it was.
TEST_P(HookHostileImageTest, SecretsDirHoldingABindMountFailsClosedNamingIt) {
  const std::string host_file = decoy_.File("x");
  {
    std::ofstream(host_file) << "the operator's own file";
  }
  decoy_entries_.push_back("x");
  std::sort(decoy_entries_.begin(), decoy_entries_.end());
  AddMount({{"destination", "/run/secrets/x"},
            {"type", "bind"},
            {"source", host_file},
            {"options", {"rbind", "ro"}}});
  ExpectFailedClosed(Run(), "already holds mounts (/run/secrets/x): they would be hidden");
}

// /run is a read-only bind of a host dir without "secrets": the hook makes nothing in a
// bound host dir (crun makes the bind read-only only after the prestart hooks, so the
// read-only flag alone would not stop a mkdir there).
TEST_P(HookHostileImageTest, ReadOnlyBindWithoutSecretsDirFailsClosed) {
  DecoyDir("ro");
  AddMount({{"destination", "/run"},
            {"type", "bind"},
            {"source", decoy_.File("ro")},
            {"options", {"rbind", "ro"}}});
  ExpectFailedClosed(Run(), "bind mount of another directory");
}

// The same with a writable bind.
TEST_P(HookHostileImageTest, WritableBindWithoutSecretsDirFailsClosed) {
  DecoyDir("rw");
  AddMount({{"destination", "/run"},
            {"type", "bind"},
            {"source", decoy_.File("rw")},
            {"options", {"rbind", "rw"}}});
  ExpectFailedClosed(Run(), "bind mount of another directory");
}

// /run is a read-only bind of a host dir that has "secrets": the tmpfs goes on it, in the
// container's mount namespace only; the host dir stays empty.
TEST_P(HookHostileImageTest, ReadOnlyBindHoldingSecretsDirGetsTheTmpfs) {
  DecoyDir("ro");
  DecoyDir("ro/secrets");
  AddMount({{"destination", "/run"},
            {"type", "bind"},
            {"source", decoy_.File("ro")},
            {"options", {"rbind", "ro"}}});
  ExpectSecretRead(Run());
}

// Magic links out of the root: refused, though the decoy has a "secrets" dir to offer.
TEST_P(HookHostileImageTest, ProcSelfRootSymlinkFailsClosed) {
  ImageLink("/proc/self/root" + decoy_.path(), "run");
  ExpectFailedClosed(Run(), "symlink refused");
}

TEST_P(HookHostileImageTest, ProcOneRootSymlinkFailsClosed) {
  ImageLink("/proc/1/root" + decoy_.path(), "run");
  ExpectFailedClosed(Run(), "symlink refused");
}

TEST_P(HookHostileImageTest, SecretsProcSelfRootSymlinkFailsClosed) {
  ImageDir("run");
  ImageLink("/proc/self/root" + decoy_.path() + "/secrets", "run/secrets");
  ExpectFailedClosed(Run(), "symlink refused");
}

// A dangling symlink (its target is a host path absent from the image) is never followed
// to create the target.
TEST_P(HookHostileImageTest, DanglingSymlinkFailsClosed) {
  ImageDir("run");
  ImageLink(decoy_.File("made"), "run/secrets");
  ExpectFailedClosed(Run(), "symlink refused");
  EXPECT_FALSE(std::filesystem::exists(Root() + decoy_.File("made")));
}

// config.json mounts a tmpfs at /run (the common case): /run/secrets is made in it.
TEST_P(HookHostileImageTest, RunAsTmpfsFromConfigGetsTheSecrets) {
  AddMount({{"destination", "/run"},
            {"type", "tmpfs"},
            {"source", "tmpfs"},
            {"options", {"nosuid", "nodev", "mode=755"}}});
  ExpectSecretRead(Run());
  EXPECT_FALSE(std::filesystem::exists(Root() + "/run/secrets"));  // made in the tmpfs
}

std::string RuntimeName(const ::testing::TestParamInfo<Runtime>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Runtimes, HookHostileImageTest, ::testing::ValuesIn(Runtimes()),
                         RuntimeName);

}  // namespace
}  // namespace ocisecrets::itest
