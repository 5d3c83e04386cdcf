// The stages with a fake manager client. The full create path runs against a stand-in
// "container": a child process in its own mount namespace.
#include "hook/stages/stages.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "hook/mount/scoped_fd.h"
#include "test_util.h"
#include "tests/testing/requirements.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::hook {
namespace {

using ::ocisecrets::testing::TempDir;

// Records calls; answers with a fixed grant or error.
class FakeClient : public LeaseClient {
 public:
  struct Log {
    int factory_calls = 0;
    int lease_calls = 0;
    std::string ended;
    LeaseRequest last;
  };
  FakeClient(Log* log, Result<LeaseGrant> grant) : log_(log), grant_(std::move(grant)) {}
  Result<LeaseGrant> Lease(const LeaseRequest& r) override {
    ++log_->lease_calls;
    log_->last = r;
    return grant_;
  }
  Status EndLease(std::string_view id) override {
    log_->ended = std::string(id);
    return end_;
  }
  Status end_;

 private:
  Log* log_;
  Result<LeaseGrant> grant_;
};

LeaseGrant Grant(const std::string& payload, const std::string& dir = "") {
  LeaseGrant g;
  g.container_id = "c1";
  g.service = "redis";
  g.secrets_dir = dir;
  LeasedFile f;
  f.name = "redis_password";
  f.mode = 0444;
  f.data.assign(payload.begin(), payload.end());
  g.files.push_back(std::move(f));
  return g;
}

class StagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_ = dir_ / "bundle";
    ASSERT_EQ(mkdir(bundle_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((bundle_ + "/rootfs").c_str(), 0755), 0);
    log_path_ = dir_ / "log/hook.log";
    testing::WriteFile(dir_ / "hook.json", R"({"log_file":")" + log_path_ + R"("})");
    source_.path = dir_ / "hook.json";
    source_.must_exist = true;
    WriteConfig(R"({"org.oci-secrets.service":"redis"})");
  }
  void WriteConfig(const std::string& annotations, const std::string& extra = "") {
    testing::WriteFile(bundle_ + "/config.json", R"({"root":{"path":"rootfs"},"annotations":)" +
                                                     annotations + extra + "}");
  }
  std::string State(const std::string& status, int pid, const std::string& annotations) {
    std::string s = R"({"ociVersion":"1.0.2","id":"c1","status":")" + status +
                    R"(","pid":)" + std::to_string(pid) + R"(,"bundle":")" + bundle_ + "\"";
    if (!annotations.empty()) s += R"(,"annotations":)" + annotations;
    return s + "}";
  }
  // Runs the stage with `state` on stdin; stderr goes to err_.
  int Run(Stage stage, const std::string& state) {
    testing::WriteFile(dir_ / "state.json", state);
    ScopedFd in(open((dir_ / "state.json").c_str(), O_RDONLY | O_CLOEXEC));
    std::FILE* err = std::tmpfile();
    int code = RunStage(stage, in.get(), source_, factory_, err);
    std::rewind(err);
    char buf[4096] = {0};
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, err);
    err_.assign(buf, n);
    std::fclose(err);
    return code;
  }

  TempDir dir_;
  std::string bundle_;
  std::string log_path_;
  ConfigSource source_;
  FakeClient::Log calls_;
  Result<LeaseGrant> grant_ = Grant("hunter2");
  Status end_status_;
  LeaseClientFactory factory_ = [this](const HookConfig&) -> Result<std::unique_ptr<LeaseClient>> {
    ++calls_.factory_calls;
    auto c = std::make_unique<FakeClient>(&calls_, grant_);
    c->end_ = end_status_;
    return std::unique_ptr<LeaseClient>(std::move(c));
  };
  std::string err_;
};

TEST_F(StagesTest, ContainerWithoutAnnotationExitsAtOnceWithoutAsking) {
  WriteConfig("{}");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", 1, R"({"other":"x"})")), 0);
  EXPECT_EQ(Run(Stage::kPrestart, State("created", 1, "")), 0);
  EXPECT_EQ(Run(Stage::kPoststop, State("stopped", 0, "")), 0);
  EXPECT_EQ(calls_.factory_calls, 0);
  EXPECT_EQ(err_, "");
  EXPECT_NE(access(log_path_.c_str(), F_OK), 0) << "no log for containers that did not opt in";
}

TEST_F(StagesTest, NoAnnotationDoesNotEvenNeedAValidHookConfig) {
  WriteConfig("{}");
  testing::WriteFile(dir_ / "hook.json", "{broken");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", 1, "")), 0);
}

TEST_F(StagesTest, BadStateIsOneLineAndExit1) {
  EXPECT_EQ(Run(Stage::kPrestart, "{not json"), 1);
  EXPECT_EQ(err_, "oci-secrets-hook: prestart: state: malformed JSON\n");
  EXPECT_NE(testing::ReadFile(log_path_).find("prestart: state: malformed JSON"),
            std::string::npos);
}

TEST_F(StagesTest, WrongStatusIsRefused) {
  EXPECT_EQ(Run(Stage::kPrestart, State("running", 1, "")), 1);
  EXPECT_NE(err_.find("status is \"running\""), std::string::npos) << err_;
  EXPECT_EQ(calls_.factory_calls, 0);
}

TEST_F(StagesTest, LeaseErrorIsTheHooksOneLine) {
  grant_ = Status::NotFound("service redis not found");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), "")), 1);
  EXPECT_EQ(err_, "oci-secrets-hook: prestart: lease: service redis not found\n");
  EXPECT_EQ(calls_.last.service, "redis");
  EXPECT_EQ(calls_.last.container_id, "c1");
  // What the node role needs to update the container live later.
  EXPECT_EQ(calls_.last.pid, getpid());
  EXPECT_EQ(calls_.last.default_secrets_dir, "/run/secrets");
  EXPECT_EQ(calls_.last.tmpfs_size, HookConfig{}.tmpfs_size_bytes);
  std::string log = testing::ReadFile(log_path_);
  EXPECT_NE(log.find("container=c1 service=redis oci-secrets-hook: prestart: lease"),
            std::string::npos)
      << log;
  struct stat st {};
  ASSERT_EQ(stat(log_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StagesTest, WindowsContainerGetsAClearErrorAndNoLease) {
  WriteConfig(R"({"org.oci-secrets.service":"redis"})", R"(,"windows":{"layerFolders":[]})");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), "")), 1);
  EXPECT_NE(err_.find("windows containers are not supported"), std::string::npos) << err_;
  EXPECT_NE(err_.find("C:\\ProgramData\\Docker\\secrets"), std::string::npos) << err_;
  EXPECT_EQ(calls_.lease_calls, 0);
}

TEST_F(StagesTest, WindowsSecretsDirOnLinuxContainerIsRefused) {
  grant_ = Grant("hunter2", "C:\\ProgramData\\Docker\\secrets");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), "")), 1);
  EXPECT_NE(err_.find("a Windows path"), std::string::npos) << err_;
  EXPECT_EQ(calls_.ended, "c1") << "a lease for a container that will not start is given back";
}

TEST_F(StagesTest, FileTargetOutsideTheSecretsDirIsRefused) {
  LeaseGrant g = Grant("hunter2");
  g.files[0].name = "/etc/app/key.pem";
  grant_ = g;
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), "")), 1);
  EXPECT_NE(err_.find("file /etc/app/key.pem: targets outside the secrets dir /run/secrets are "
                      "not supported"),
            std::string::npos)
      << err_;
  EXPECT_EQ(err_.find("hunter2"), std::string::npos);
}

TEST_F(StagesTest, TheEnvironmentVariableOptsInWithoutAnAnnotation) {
  WriteConfig(R"({"other":"x"})", R"(,"process":{"env":["OCI_SECRETS_SERVICE=web"]})");
  grant_ = Status::NotFound("service web not found");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), R"({"other":"x"})")), 1);
  EXPECT_EQ(calls_.last.service, "web");
  EXPECT_EQ(err_, "oci-secrets-hook: prestart: lease: service web not found\n");
}

TEST_F(StagesTest, AnnotationAndVariableNamingDifferentServicesFailClosedWithoutALease) {
  WriteConfig(R"({"org.oci-secrets.service":"redis"})",
              R"(,"process":{"env":["OCI_SECRETS_SERVICE=web"]})");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), R"({"org.oci-secrets.service":"redis"})")),
            1);
  EXPECT_EQ(calls_.factory_calls, 0);
  EXPECT_EQ(err_,
            "oci-secrets-hook: prestart: service: annotation org.oci-secrets.service=redis and "
            "OCI_SECRETS_SERVICE=web in the container's environment name different services\n");
}

TEST_F(StagesTest, AnEmptyVariableIsRefusedNamingIt) {
  WriteConfig("{}", R"(,"process":{"env":["OCI_SECRETS_SERVICE="]})");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), "")), 1);
  EXPECT_NE(err_.find("OCI_SECRETS_SERVICE in the container's environment"), std::string::npos)
      << err_;
  EXPECT_EQ(calls_.factory_calls, 0);
}

TEST_F(StagesTest, EmptyServiceAnnotationIsRefused) {
  EXPECT_EQ(Run(Stage::kPrestart, State("created", 1, R"({"org.oci-secrets.service":""})")), 1);
  EXPECT_NE(err_.find("is empty"), std::string::npos) << err_;
}

TEST_F(StagesTest, MissingNamedConfigFailsClosed) {
  source_.path = dir_ / "nope.json";
  EXPECT_EQ(Run(Stage::kPrestart, State("created", 1, "")), 1);
  EXPECT_NE(err_.find("nope.json"), std::string::npos) << err_;
}

TEST_F(StagesTest, PoststopEndsTheLease) {
  EXPECT_EQ(Run(Stage::kPoststop, State("stopped", 0, "")), 0);
  EXPECT_EQ(calls_.ended, "c1");
  EXPECT_NE(testing::ReadFile(log_path_).find("poststop lease ended"), std::string::npos);
}

TEST_F(StagesTest, PoststopSucceedsWhenTheManagerIsGone) {
  end_status_ = Status::Unavailable("cannot reach the manager");
  EXPECT_EQ(Run(Stage::kPoststop, State("stopped", 0, "")), 0);
  EXPECT_NE(err_.find("cannot reach the manager"), std::string::npos) << err_;
}

TEST_F(StagesTest, PoststopWithTheBundleGoneIsQuiet) {
  ASSERT_EQ(unlink((bundle_ + "/config.json").c_str()), 0);
  EXPECT_EQ(Run(Stage::kPoststop, State("stopped", 0, "")), 0);
  EXPECT_EQ(calls_.factory_calls, 0);
}

// A container that did not opt in is not the hook's business, even with a config.json
// the hook could not read: it starts (and its config.json is never parsed).
TEST_F(StagesTest, AContainerThatCannotHaveOptedInStartsWhateverItsConfig) {
  testing::WriteFile(bundle_ + "/config.json", R"({"root":{"path":"rootfs"},"process":{"args":[)");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), "")), 0);
  EXPECT_EQ(calls_.factory_calls, 0);
  EXPECT_EQ(err_, "");
  // With the key present, the same config is read, and refused for what it is.
  testing::WriteFile(bundle_ + "/config.json",
                     R"({"annotations":{"org.oci-secrets.service":"redis"},"root":{)");
  EXPECT_EQ(Run(Stage::kPrestart, State("created", getpid(), "")), 1);
  EXPECT_NE(err_.find("malformed"), std::string::npos) << err_;
}

TEST_F(StagesTest, WithoutAStageTheStatusPicksIt) {
  // hooks.d files give one argument list for both stages.
  EXPECT_EQ(Run(Stage::kFromState, State("stopped", 0, "")), 0);
  EXPECT_EQ(calls_.ended, "c1");
  EXPECT_EQ(calls_.lease_calls, 0);
  grant_ = Status::NotFound("service redis not found");
  EXPECT_EQ(Run(Stage::kFromState, State("created", getpid(), "")), 1);
  EXPECT_EQ(calls_.lease_calls, 1);
  EXPECT_EQ(err_, "oci-secrets-hook: prestart: lease: service redis not found\n");
  EXPECT_EQ(Run(Stage::kFromState, State("running", getpid(), "")), 1);
  EXPECT_NE(err_.find("status is \"running\""), std::string::npos) << err_;
}

TEST(StageNamesTest, ParsesTheThreeStagesOnly) {
  EXPECT_EQ(ParseStage("prestart"), Stage::kPrestart);
  EXPECT_EQ(ParseStage("createRuntime"), Stage::kCreateRuntime);
  EXPECT_EQ(ParseStage("poststop"), Stage::kPoststop);
  EXPECT_EQ(ParseStage("createContainer"), std::nullopt);
  EXPECT_EQ(ParseStage("Prestart"), std::nullopt);
}

// The whole create path against a stand-in container: a child in its own mount namespace.
TEST_F(StagesTest, MountsTheSecretsInTheContainersMountNamespace) {
  ASSERT_TRUE(::ocisecrets::testing::IsRoot("entering a mount namespace"));
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t container = fork();
  if (container == 0) {
    if (unshare(CLONE_NEWNS) != 0) _exit(1);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(1);
    (void)!write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);

  // The hook in a child of its own: setns must not move the test process.
  std::string root = bundle_ + "/rootfs";
  testing::WriteFile(dir_ / "state.json", State("creating", container, ""));
  pid_t hook = fork();
  if (hook == 0) {
    ScopedFd in(open((dir_ / "state.json").c_str(), O_RDONLY | O_CLOEXEC));
    if (RunStage(Stage::kPrestart, in.get(), source_, factory_, stderr) != 0) _exit(2);
    // Now in the container's namespace: the tmpfs is there, read-only, with the payload.
    struct statfs sfs {};
    if (statfs((root + "/run/secrets").c_str(), &sfs) != 0) _exit(3);
    if (static_cast<unsigned long>(sfs.f_type) != TMPFS_MAGIC) _exit(4);
    if (!(sfs.f_flags & ST_RDONLY) || !(sfs.f_flags & ST_NOEXEC)) _exit(5);
    if (testing::ReadFile(root + "/run/secrets/redis_password") != "hunter2") _exit(6);
    _exit(0);
  }
  int status = 0;
  waitpid(hook, &status, 0);
  kill(container, SIGKILL);
  waitpid(container, nullptr, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The host sees an empty directory, never the payload; the log has no payload either.
  EXPECT_NE(access((root + "/run/secrets/redis_password").c_str(), F_OK), 0);
  std::string log = testing::ReadFile(log_path_);
  EXPECT_NE(log.find("container=c1 service=redis prestart mounted files=1"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace ocisecrets::hook
