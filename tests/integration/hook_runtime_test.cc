// The hook with real runc and crun, a real oci-secretsd and a busybox-static rootfs.
// Needs root (the runtimes do).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

constexpr char kService[] = "redis";

// A unix socket that listens and never accepts: a manager that does not answer, and a
// witness for "no connection was made".
class SilentSocket {
 public:
  explicit SilentSocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
  }
  ~SilentSocket() { close(fd_); }
  // True when a client has connected (a pending connection in the backlog).
  bool Contacted() {
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return false;
    close(c);
    return true;
  }
  std::string host() const { return "unix://" + path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

class HookRuntimeTest : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    payload_ = StartManagerWithSecret(GetParam(), daemon_, kService, {"pw", 1000, 1000, 0400});
    ASSERT_FALSE(HasFailure());
    WriteHookConfig(daemon_.host());
  }
  void WriteHookConfig(const std::string& manager, int deadline_ms = 3000) {
    hook_config_ = itest::WriteHookConfig(dir_, manager, deadline_ms);
  }
  // A bundle of an opted-in container that runs `script` as uid/gid 1000 (the file's
  // owner: runc's default capabilities leave out CAP_DAC_OVERRIDE).
  Bundle OptedIn(const std::string& script, const std::string& service = kService) {
    Bundle b(dir_, hook_config_);
    b.SetScript(script);
    b.SetUser(1000, 1000);
    b.SetAnnotation("org.oci-secrets.service", service);
    b.InstallHook();
    return b;
  }
  std::string Id() { return "ocs-" + GetParam().name + "-" + std::to_string(getpid()); }
  // The service's live leases, as `oci-secrets service inspect` shows them.
  std::vector<LeaseInfo> Leases() {
    Result<Service> s = ClientFor(daemon_).InspectService(kService);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? s->leases : std::vector<LeaseInfo>{};
  }

  Daemon daemon_;
  TempDir dir_;
  std::string payload_;
  std::string hook_config_;
};

// Prints what the tests check, one fact a line.
constexpr char kProbe[] =
    "echo \"CONTENT $(cat /run/secrets/pw)\"; "
    "stat -c 'OWNER %u %g %a' /run/secrets/pw; "
    "grep ' /run/secrets ' /proc/mounts | sed 's/^/MOUNT /'; "
    "if touch /run/secrets/new 2>/dev/null; then echo 'WRITE ok'; else echo 'WRITE refused'; fi";

void ExpectSecretMounted(const CommandResult& r, const std::string& payload) {
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("CONTENT " + payload + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OWNER 1000 1000 400\n"), std::string::npos) << r.out;
  std::size_t m = r.out.find("MOUNT ");
  ASSERT_NE(m, std::string::npos) << r.out;
  std::string mount = r.out.substr(m, r.out.find('\n', m) - m);
  EXPECT_NE(mount.find(" tmpfs ro,"), std::string::npos) << mount;
  for (const char* opt : {"nosuid", "nodev", "noexec"}) {
    EXPECT_NE(mount.find(opt), std::string::npos) << opt << " in " << mount;
  }
  EXPECT_NE(r.out.find("WRITE refused\n"), std::string::npos) << r.out;
}

TEST_P(HookRuntimeTest, ContainerReadsItsSecretFromAReadOnlyTmpfs) {
  Bundle b = OptedIn(kProbe);
  ASSERT_TRUE(b.config()["root"]["readonly"].get<bool>());  // root.readonly: true
  ASSERT_NE(access((b.rootfs() + "/run").c_str(), F_OK), 0);  // no /run in the image
  ExpectSecretMounted(b.Run(GetParam(), Id()), payload_);
}

// Docker 20.10 and Compose cannot pass annotations: OCI_SECRETS_SERVICE in process.env
// opts in the same way; the annotation naming another service makes the start fail.
TEST_P(HookRuntimeTest, TheEnvironmentVariableOptsInAndADisagreeingAnnotationFailsClosed) {
  Bundle b(dir_, hook_config_);
  b.SetScript(kProbe);
  b.SetUser(1000, 1000);
  b.config()["process"]["env"].push_back(std::string("OCI_SECRETS_SERVICE=") + kService);
  b.InstallHook();
  ExpectSecretMounted(b.Run(GetParam(), Id()), payload_);

  b.SetAnnotation("org.oci-secrets.service", "other");
  CommandResult refused = b.Run(GetParam(), Id() + "-x");
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_NE(refused.err.find("oci-secrets-hook: prestart: service: annotation "
                             "org.oci-secrets.service=other and OCI_SECRETS_SERVICE=" +
                             std::string(kService) +
                             " in the container's environment name different services"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.out.find("CONTENT"), std::string::npos) << refused.out;
}

TEST_P(HookRuntimeTest, WorksWithAWritableRootAndAnExistingRun) {
  Bundle b = OptedIn(kProbe);
  b.config()["root"]["readonly"] = false;
  ASSERT_EQ(mkdir((b.rootfs() + "/run").c_str(), 0755), 0);
  ExpectSecretMounted(b.Run(GetParam(), Id()), payload_);
}

TEST_P(HookRuntimeTest, WorksWithACustomSecretsDir) {
  CreateSecretAndService(daemon_, "pw", payload_, "app", {"db/pw", 1000, 1000, 0400},
                         "/var/lib/app/secrets");
  ASSERT_FALSE(HasFailure());
  Bundle b = OptedIn(
      "echo \"CONTENT $(cat /var/lib/app/secrets/db/pw)\"; "
      "stat -c 'OWNER %u %g %a' /var/lib/app/secrets/db/pw; "
      "grep -c ' /run/secrets ' /proc/mounts | sed 's/^/DEFAULT-DIR-MOUNTS /'",
      "app");
  CommandResult r = b.Run(GetParam(), Id());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CONTENT " + payload_ + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OWNER 1000 1000 400\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DEFAULT-DIR-MOUNTS 0\n"), std::string::npos) << r.out;
}

TEST_P(HookRuntimeTest, UserNamespacedContainerSeesTheMappedOwner) {
  // The mapped root must reach the bundle: open the temp dir for traversal.
  ASSERT_EQ(chmod(dir_.path().c_str(), 0711), 0);
  Bundle b = OptedIn(kProbe + std::string("; stat -c 'DIR %u %g' /run/secrets"));
  b.UseUserNamespace(100000);
  CommandResult r = b.Run(GetParam(), Id());
  ExpectSecretMounted(r, payload_);
  // Container uid 1000 is host uid 101000; the container sees 1000, and its root owns the dir.
  EXPECT_NE(r.out.find("DIR 0 0\n"), std::string::npos) << r.out;
}

TEST_P(HookRuntimeTest, LeavesNothingOnTheHostAndPoststopEndsTheLease) {
  std::vector<std::string> before = HostMounts();
  Bundle b = OptedIn(kProbe);
  ExpectSecretMounted(b.Run(GetParam(), Id()), payload_);
  std::vector<std::string> added = NewMounts(before, HostMounts());
  for (const auto& m : added) {
    EXPECT_EQ(m.find("secrets"), std::string::npos) << "new host mount: " << m;
    EXPECT_EQ(m.find(dir_.path()), std::string::npos) << "new host mount: " << m;
  }
  EXPECT_EQ(FilesHolding(payload_, {"/run", "/tmp", "/var", b.path()}),
            std::vector<std::string>{});
  EXPECT_EQ(Leases().size(), 0u);
  std::ifstream log(dir_.File("hook.log"));
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("poststop lease ended"), std::string::npos) << text;
}

TEST_P(HookRuntimeTest, WithoutPoststopTheLeaseStays) {
  Bundle b = OptedIn(kProbe);
  b.InstallHook(/*poststop=*/false);
  ExpectSecretMounted(b.Run(GetParam(), Id()), payload_);
  std::vector<LeaseInfo> leases = Leases();
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].container_id, Id());
}

TEST_P(HookRuntimeTest, ContainerWithoutTheAnnotationRunsUnchangedAndAsksNothing) {
  SilentSocket witness(dir_.File("w.sock"));
  WriteHookConfig(witness.host());
  Bundle b(dir_, hook_config_);
  b.SetScript("echo RAN; ls /run 2>&1 | sed 's/^/RUN /'");
  b.InstallHook();
  CommandResult r = b.Run(GetParam(), Id());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("RAN\n"), std::string::npos) << r.out;
  EXPECT_FALSE(witness.Contacted());
  EXPECT_NE(access((b.rootfs() + "/run").c_str(), F_OK), 0) << "the rootfs was touched";
  EXPECT_EQ(r.err, "");
}

// The hook's line, as the runtime relays it.
void ExpectRefused(const CommandResult& r, const Runtime& runtime, const std::string& part) {
  EXPECT_EQ(r.exit_code, runtime.hook_failed_exit) << r.out << r.err;
  EXPECT_EQ(r.out.find("STARTED"), std::string::npos) << "the container ran: " << r.out;
  EXPECT_NE(r.err.find("oci-secrets-hook: prestart: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
}

TEST_P(HookRuntimeTest, ManagerDownStopsTheContainer) {
  WriteHookConfig("unix://" + dir_.File("absent.sock"));
  Bundle b = OptedIn("echo STARTED");
  ExpectRefused(b.Run(GetParam(), Id()), GetParam(), "lease: cannot reach the manager");
}

TEST_P(HookRuntimeTest, SilentManagerStopsTheContainerAtTheDeadline) {
  SilentSocket silent(dir_.File("s.sock"));
  WriteHookConfig(silent.host(), 500);
  Bundle b = OptedIn("echo STARTED");
  ExpectRefused(b.Run(GetParam(), Id()), GetParam(),
                "lease: no answer from the manager within 500 ms");
}

TEST_P(HookRuntimeTest, UnknownServiceStopsTheContainer) {
  Bundle b = OptedIn("echo STARTED", "no-such-service");
  ExpectRefused(b.Run(GetParam(), Id()), GetParam(), "no-such-service");
}

TEST_P(HookRuntimeTest, NodeOutsideTheServicesConstraintsStopsTheContainerNamingTheConstraint) {
  // The daemon alone is its own node: a manager without labels.
  CommandResult created = daemon_.Cli({"service", "create", "--name", "eu-only", "--secret", "pw",
                                       "--constraint", "node.labels.zone==eu"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  Bundle b = OptedIn("echo STARTED", "eu-only");
  CommandResult r = b.Run(GetParam(), Id());
  const std::string words = "does not satisfy constraint node.labels.zone==eu of service eu-only";
  ExpectRefused(r, GetParam(), words);
  std::size_t line = r.err.find("oci-secrets-hook: prestart: ");
  ASSERT_NE(line, std::string::npos);
  EXPECT_NE(r.err.substr(line, r.err.find('\n', line) - line).find(words), std::string::npos)
      << "one line names the constraint: " << r.err;
  EXPECT_EQ(r.err.find(payload_), std::string::npos) << "no payload in the refusal";
  EXPECT_EQ(Leases().size(), 0u);

  std::ifstream audit(daemon_.state_dir() + "/audit.log");
  std::string refused;
  for (std::string l; std::getline(audit, l);) {
    if (l.find(R"("action":"lease.create")") != std::string::npos &&
        l.find(R"("name":"eu-only")") != std::string::npos) {
      refused = l;
    }
  }
  ASSERT_FALSE(refused.empty()) << "the refused lease is audited";
  auto j = nlohmann::json::parse(refused);
  EXPECT_EQ(j["result"], "denied") << refused;
  EXPECT_EQ(j["status"], 403) << refused;
  EXPECT_NE(j["error"].get<std::string>().find(words), std::string::npos) << refused;
  EXPECT_EQ(refused.find(payload_), std::string::npos);
}

std::string RuntimeName(const ::testing::TestParamInfo<Runtime>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Runtimes, HookRuntimeTest, ::testing::ValuesIn(Runtimes()), RuntimeName);

}  // namespace
}  // namespace ocisecrets::itest
