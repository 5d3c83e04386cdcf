// RunShim end to end in a child process, with a stand-in runtime that records its argv:
// what reaches the real runtime, the bundle, and the runtime's --log.
#include "hook/runtime/shim.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The stand-in runtime writes its arguments to ran.txt.
    runtime_ = dir_.WriteFile("runtime.sh", "#!/bin/sh\necho \"$@\" > " + dir_.File("ran.txt") + "\n",
                              0755);
    dir_.WriteFile("runtime.json",
                   "{\"runtime_path\": \"" + runtime_ + "\", \"hook_path\": \"/bin/true\"}", 0644);
    ASSERT_EQ(mkdir(dir_.File("bundle").c_str(), 0755), 0);
  }
  // Runs the shim as `oci-secrets-runtime --log LOG --log-format json create --bundle B id`
  // on a bundle whose config.json is `config`; returns its exit code.
  int Create(const std::string& config) {
    dir_.WriteFile("bundle/config.json", config, 0644);
    std::vector<std::string> args = {"oci-secrets-runtime", "--log",    dir_.File("log.json"),
                                     "--log-format",        "json",     "create",
                                     "--bundle",            dir_.File("bundle"), "id1"};
    pid_t pid = fork();
    if (pid == 0) {
      setenv("OCI_SECRETS_RUNTIME_CONFIG", dir_.File("runtime.json").c_str(), 1);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      _exit(RunShim(static_cast<int>(args.size()), argv.data()));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  TempDir dir_;
  std::string runtime_;
};

constexpr char kNoOptInLine[] =
    "oci-secrets-runtime: create: no org.oci-secrets.service annotation and no "
    "OCI_SECRETS_SERVICE in the container's environment: no secrets added";

TEST_F(ShimTest, ContainerWithoutOptInRunsUnchangedAndTheLogSaysWhy) {
  const std::string config = R"({"ociVersion":"1.0.2","process":{"env":["PATH=/bin"]}})";
  EXPECT_EQ(Create(config), 0);
  EXPECT_EQ(Slurp(dir_.File("bundle/config.json")), config);
  EXPECT_NE(Slurp(dir_.File("ran.txt")).find("create --bundle"), std::string::npos);
  const std::string log = Slurp(dir_.File("log.json"));
  EXPECT_NE(log.find(kNoOptInLine), std::string::npos) << log;
  EXPECT_NE(log.find("\"level\":\"info\""), std::string::npos) << log;
}

TEST_F(ShimTest, OptedInContainerGetsTheHooksAndNoSuchLine) {
  EXPECT_EQ(Create(R"({"ociVersion":"1.0.2","process":{"env":["OCI_SECRETS_SERVICE=redis"]}})"),
            0);
  EXPECT_NE(Slurp(dir_.File("bundle/config.json")).find("poststop"), std::string::npos);
  EXPECT_NE(Slurp(dir_.File("ran.txt")).find("create --bundle"), std::string::npos);
  EXPECT_EQ(Slurp(dir_.File("log.json")).find("no secrets added"), std::string::npos);
}

}  // namespace
}  // namespace ocisecrets
