#include "manager/cli/install/install.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "manager/cli/install_commands.h"
#include "shared/hook_entry.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using Json = nlohmann::ordered_json;
using ::ocisecrets::testing::IsError;
namespace fs = std::filesystem;

// Each test gets its own root tree under /tmp, removed afterwards.
class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.empty());
    options_.root = root_;
  }

  std::string Host(const std::string& path) const { return root_ + path; }

  void Write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(Host(path)).parent_path());
    std::ofstream(Host(path)) << text;
  }
  std::string Read(const std::string& path) const {
    std::ifstream in(Host(path));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool Exists(const std::string& path) const { return fs::exists(Host(path)); }

  // Every regular file under the root, for "nothing else was written" checks.
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      if (e.is_regular_file()) out.push_back(e.path().string().substr(root_.size()));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  ocisecrets::testing::TempDir dir_;
  const std::string root_ = dir_.path();
  InstallOptions options_;
};

constexpr char kDaemonJson[] = "/etc/docker/daemon.json";
constexpr char kUserDaemonJson[] =
    "{\n  \"log-driver\": \"json-file\",\n  \"runtimes\": {\"other\": {\"path\": \"/x\"}},\n"
    "  \"debug\": true,\n  \"default-ulimits\": {\"nofile\": {\"Hard\": 64000}}\n}\n";

TEST_F(InstallTest, DockerInstallMergesAndUninstallRestoresSameJson) {
  Write(kDaemonJson, kUserDaemonJson);
  Result<InstallReport> r = Install(Engine::kDocker, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->changed);
  EXPECT_NE(r->restart.find("reload"), std::string::npos);

  Json doc = Json::parse(Read(kDaemonJson));
  EXPECT_EQ(doc["runtimes"]["oci-secrets"]["path"],
            "/usr/libexec/oci-secrets/oci-secrets-runtime");
  EXPECT_EQ(doc["runtimes"]["other"]["path"], "/x");
  EXPECT_EQ(doc["debug"], true);
  EXPECT_EQ(doc["log-driver"], "json-file");
  EXPECT_EQ(Read(std::string(kDaemonJson) + ".oci-secrets.bak"), kUserDaemonJson);

  const std::string installed = Read(kDaemonJson);
  Result<InstallReport> again = Install(Engine::kDocker, options_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(Read(kDaemonJson), installed) << "a second install changes nothing";

  Result<InstallReport> u = Uninstall(Engine::kDocker, options_);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->changed);
  EXPECT_EQ(Json::parse(Read(kDaemonJson)), Json::parse(kUserDaemonJson));
  EXPECT_EQ(Files(), std::vector<std::string>{kDaemonJson})
      << "backup and manifest are removed with the rest";
}

TEST_F(InstallTest, DockerInstallCreatesDaemonJsonAndUninstallRemovesIt) {
  ASSERT_TRUE(Install(Engine::kDocker, options_).ok());
  EXPECT_TRUE(Exists(kDaemonJson));
  EXPECT_FALSE(Exists(std::string(kDaemonJson) + ".oci-secrets.bak"));
  ASSERT_TRUE(Uninstall(Engine::kDocker, options_).ok());
  EXPECT_TRUE(Files().empty());
}

TEST_F(InstallTest, DockerServiceRuntimesAreBoundToTheirService) {
  options_.services = {"redis", "web"};
  ASSERT_TRUE(Install(Engine::kDocker, options_).ok());
  Json doc = Json::parse(Read(kDaemonJson));
  EXPECT_EQ(doc["runtimes"]["oci-secrets-redis"]["runtimeArgs"],
            Json::array({"--oci-secrets-service", "redis"}));
  EXPECT_TRUE(doc["runtimes"].contains("oci-secrets-web"));
  // Adding one more later only adds that one; uninstall removes all of them.
  options_.services = {"db"};
  ASSERT_TRUE(Install(Engine::kDocker, options_).ok());
  EXPECT_EQ(Json::parse(Read(kDaemonJson))["runtimes"].size(), 4u);
  ASSERT_TRUE(Uninstall(Engine::kDocker, options_).ok());
  EXPECT_TRUE(Files().empty());
}

TEST_F(InstallTest, DockerDefaultRuntimeIsSetAndUninstallRemovesIt) {
  Write(kDaemonJson, kUserDaemonJson);
  options_.default_runtime = true;
  Result<InstallReport> r = Install(Engine::kDocker, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Json doc = Json::parse(Read(kDaemonJson));
  EXPECT_EQ(doc["default-runtime"], "oci-secrets");
  EXPECT_TRUE(doc["runtimes"].contains("oci-secrets"));
  ASSERT_EQ(r->lines.size(), 1u);
  EXPECT_NE(r->lines[0].find("added runtimes.oci-secrets, default-runtime;"), std::string::npos)
      << r->lines[0];
  ASSERT_TRUE(Uninstall(Engine::kDocker, options_).ok());
  EXPECT_EQ(Json::parse(Read(kDaemonJson)), Json::parse(kUserDaemonJson));
  EXPECT_EQ(Files(), std::vector<std::string>{kDaemonJson});
}

// "runc" is Docker's own default: replacing it changes nothing else, and uninstall puts
// it back rather than dropping the user's key.
TEST_F(InstallTest, DockerDefaultRuntimeReplacesRuncAndUninstallRestoresIt) {
  const std::string user = R"({"default-runtime": "runc", "debug": true})";
  Write(kDaemonJson, user);
  options_.default_runtime = true;
  Result<InstallReport> r = Install(Engine::kDocker, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Json::parse(Read(kDaemonJson))["default-runtime"], "oci-secrets");
  EXPECT_NE(r->lines[0].find("default-runtime (was \"runc\")"), std::string::npos)
      << r->lines[0];
  ASSERT_TRUE(Uninstall(Engine::kDocker, options_).ok());
  EXPECT_EQ(Json::parse(Read(kDaemonJson)), Json::parse(user));
  EXPECT_EQ(Files(), std::vector<std::string>{kDaemonJson});
}

TEST_F(InstallTest, DockerDefaultRuntimeRefusesAnotherDefaultNamingIt) {
  const std::string user = R"({"default-runtime": "nvidia"})";
  Write(kDaemonJson, user);
  options_.default_runtime = true;
  Result<InstallReport> r = Install(Engine::kDocker, options_);
  EXPECT_TRUE(IsError(r, StatusCode::kFailedPrecondition,
                      "default-runtime is already defined differently (\"nvidia\"); not "
                      "changing it: remove it from daemon.json first, or install without "
                      "--default-runtime and run containers with --runtime oci-secrets"));
  EXPECT_EQ(Read(kDaemonJson), user);
  EXPECT_EQ(Files(), std::vector<std::string>{kDaemonJson});
}

TEST_F(InstallTest, ASecondInstallReportsOnlyWhatItAdded) {
  Write(kDaemonJson, kUserDaemonJson);
  options_.services = {"redis"};
  ASSERT_TRUE(Install(Engine::kDocker, options_).ok());
  options_.services = {"redis", "db"};
  Result<InstallReport> r = Install(Engine::kDocker, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->lines.size(), 1u);
  EXPECT_NE(r->lines[0].find(": added runtimes.oci-secrets-db; backup "), std::string::npos)
      << r->lines[0];
  for (Engine e : {Engine::kDocker, Engine::kPodman, Engine::kContainerd}) {
    ASSERT_TRUE(Install(e, options_).ok());
    Result<InstallReport> again = Install(e, options_);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_FALSE(again->changed) << EngineName(e);
    EXPECT_TRUE(again->lines.empty()) << EngineName(e) << ": " << again->lines[0];
  }
}

// A SIGHUP reload of dockerd 20.10 adds runtimes but does not drop one.
TEST_F(InstallTest, DockerUninstallSaysRestartNotReload) {
  ASSERT_TRUE(Install(Engine::kDocker, options_).ok());
  Result<InstallReport> u = Uninstall(Engine::kDocker, options_);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->restart.rfind("restart dockerd to drop the runtime: systemctl restart docker", 0),
            0u)
      << u->restart;
  EXPECT_NE(u->restart.find("a reload drops neither a runtime nor the default-runtime"),
            std::string::npos)
      << u->restart;
}

TEST_F(InstallTest, DockerRejectsBadServiceName) {
  options_.services = {"bad name"};
  EXPECT_FALSE(Install(Engine::kDocker, options_).ok());
  EXPECT_TRUE(Files().empty());
}

TEST_F(InstallTest, DockerRefusesToOverwriteADifferentRuntimeDefinition) {
  const std::string user = R"({"runtimes":{"oci-secrets":{"path":"/elsewhere"}}})";
  Write(kDaemonJson, user);
  Result<InstallReport> r = Install(Engine::kDocker, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("already defined differently"), std::string::npos);
  EXPECT_EQ(Read(kDaemonJson), user);
  EXPECT_EQ(Files(), std::vector<std::string>{kDaemonJson});
}

TEST_F(InstallTest, DockerRejectsMalformedDaemonJsonAndChangesNothing) {
  for (const std::string bad : {"{\"runtimes\": ", "[]", R"({"runtimes": []})"}) {
    Write(kDaemonJson, bad);
    Result<InstallReport> r = Install(Engine::kDocker, options_);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(Read(kDaemonJson), bad);
    EXPECT_EQ(Files(), std::vector<std::string>{kDaemonJson}) << bad;
  }
}

// The manifest is what uninstall undoes: edited by hand into another shape, it is refused
// as a whole, naming the field, before anything is added or undone.
TEST_F(InstallTest, AManifestOfAnotherShapeIsRefusedBeforeAnythingChanges) {
  Write(kDaemonJson, kUserDaemonJson);
  ASSERT_TRUE(Install(Engine::kDocker, options_).ok());
  const std::string manifest_path = "/var/lib/oci-secrets/install-manifest.json";
  const Json good = Json::parse(Read(manifest_path));
  ASSERT_TRUE(good["engines"]["docker"]["json_edits"].is_array());
  struct Case {
    const char* description;
    std::string pointer;  // into the manifest
    Json value;
    const char* error_part;
  };
  const Case cases[] = {
      {"a path that is a number", "/engines/docker/json_edits/0/path", 5,
       "engines.docker.json_edits[].path: wrong type"},
      {"an add whose pointer is no JSON pointer", "/engines/docker/json_edits/0/adds/0/pointer",
       "runtimes", "engines.docker.json_edits[].adds[].pointer: wrong type"},
      {"an add without its value", "/engines/docker/json_edits/0/adds/0", Json{{"pointer", "/x"}, {"name", "y"}},
       "engines.docker.json_edits[].adds[].value: missing"},
      {"created paths that are not a list", "/engines/docker/json_edits/0/created", "x",
       "engines.docker.json_edits[].created: must be an array"},
      {"a record that is a string", "/engines/podman", "x", "engines.podman: must be an object"},
  };
  const std::string daemon = Read(kDaemonJson);
  for (const Case& c : cases) {
    Json bad = good;
    bad[Json::json_pointer(c.pointer)] = c.value;
    Write(manifest_path, bad.dump(2));
    const std::vector<std::string> before = Files();
    for (bool uninstall : {true, false}) {
      Result<InstallReport> r = uninstall ? Uninstall(Engine::kDocker, options_)
                                          : Install(Engine::kPodman, options_);
      ASSERT_FALSE(r.ok()) << c.description;
      EXPECT_NE(r.status().message().find(c.error_part), std::string::npos)
          << c.description << ": " << r.status().message();
      EXPECT_NE(r.status().message().find("not a valid manifest (nothing was changed)"),
                std::string::npos)
          << r.status().message();
      EXPECT_EQ(Read(kDaemonJson), daemon) << c.description;
      EXPECT_EQ(Files(), before) << c.description;
    }
  }
}

TEST_F(InstallTest, DryRunWritesNothing) {
  Write(kDaemonJson, kUserDaemonJson);
  options_.dry_run = true;
  for (Engine e : {Engine::kDocker, Engine::kContainerd, Engine::kPodman}) {
    Result<InstallReport> r = Install(e, options_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->changed);
    EXPECT_EQ(r->lines[0].find("would"), 0u) << r->lines[0];
  }
  EXPECT_EQ(Files(), std::vector<std::string>{kDaemonJson});
  EXPECT_EQ(Read(kDaemonJson), kUserDaemonJson);
}

TEST_F(InstallTest, UninstallKeepsAKeyTheUserChangedSinceInstall) {
  Write(kDaemonJson, kUserDaemonJson);
  ASSERT_TRUE(Install(Engine::kDocker, options_).ok());
  Json doc = Json::parse(Read(kDaemonJson));
  doc["runtimes"]["oci-secrets"]["path"] = "/custom/shim";
  Write(kDaemonJson, doc.dump());
  Result<InstallReport> u = Uninstall(Engine::kDocker, options_);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(Json::parse(Read(kDaemonJson))["runtimes"]["oci-secrets"]["path"], "/custom/shim");
  bool said = false;
  for (const std::string& line : u->lines) said |= line.find("kept runtimes.oci-secrets") == 0;
  EXPECT_TRUE(said);
  EXPECT_TRUE(Exists(std::string(kDaemonJson) + ".oci-secrets.bak"))
      << "the backup stays while the file differs from it";
}

TEST_F(InstallTest, UninstallWithoutInstallDoesNothing) {
  Write(kDaemonJson, kUserDaemonJson);
  Result<InstallReport> u = Uninstall(Engine::kDocker, options_);
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->changed);
  EXPECT_EQ(Read(kDaemonJson), kUserDaemonJson);
  EXPECT_EQ(Files(), std::vector<std::string>{kDaemonJson});
}

constexpr char kContainerdConfig[] = "/etc/containerd/config.toml";
constexpr char kDebianContainerdConfig[] =
    "version = 2\n\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
    "    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n      bin_dir = \"/usr/lib/cni\"\n";
constexpr char kOciSecretsTable[] =
    "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-secrets]";
constexpr char kRuncTable[] = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]";

// Not an imported drop-in, which would replace the user's whole CRI section: tables
// appended to config.toml, runc declared since Debian's config declares no runtime.
TEST_F(InstallTest, ContainerdAppendsTheRuntimeToConfigAndUninstallRestoresBytes) {
  Write(kContainerdConfig, kDebianContainerdConfig);
  options_.shim_path = "/opt/shim";
  Result<InstallReport> r = Install(Engine::kContainerd, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->restart.find("restart containerd"), std::string::npos);
  const std::string installed = Read(kContainerdConfig);
  EXPECT_EQ(installed.rfind(kDebianContainerdConfig, 0), 0u) << "the user's bytes come first";
  for (const char* want : {kOciSecretsTable, kRuncTable, "BinaryName = \"/opt/shim\"",
                           "pod_annotations = [\"org.oci-secrets.service\"]",
                           "container_annotations = [\"org.oci-secrets.service\"]"}) {
    EXPECT_NE(installed.find(want), std::string::npos) << want << "\n" << installed;
  }
  EXPECT_EQ(installed.find("imports"), std::string::npos) << installed;
  EXPECT_EQ(Read(std::string(kContainerdConfig) + ".oci-secrets.bak"), kDebianContainerdConfig);

  Result<InstallReport> again = Install(Engine::kContainerd, options_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(Read(kContainerdConfig), installed);

  ASSERT_TRUE(Uninstall(Engine::kContainerd, options_).ok());
  EXPECT_EQ(Read(kContainerdConfig), kDebianContainerdConfig);
  EXPECT_EQ(Files(), std::vector<std::string>{kContainerdConfig});
}

TEST_F(InstallTest, ContainerdKeepsTheUsersRuntimesAndDeclaresNoRunc) {
  const std::string user = std::string("version = 2\n") + kRuncTable +
                           "\n  runtime_type = \"io.containerd.runc.v2\"\n  [plugins.\"io."
                           "containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n"
                           "    SystemdCgroup = true";  // no final newline
  Write(kContainerdConfig, user);
  ASSERT_TRUE(Install(Engine::kContainerd, options_).ok());
  const std::string installed = Read(kContainerdConfig);
  EXPECT_EQ(installed.rfind(user + "\n", 0), 0u) << installed;
  EXPECT_EQ(installed.find(kRuncTable, user.size()), std::string::npos) << installed;
  EXPECT_NE(installed.find(kOciSecretsTable), std::string::npos) << installed;
  ASSERT_TRUE(Uninstall(Engine::kContainerd, options_).ok());
  EXPECT_EQ(Read(kContainerdConfig), user);
}

TEST_F(InstallTest, ContainerdRefusesConfigsItCannotExtendAndWritesNothing) {
  struct Case {
    const char* description;
    std::string config;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"version 1 configuration", "[plugins.cri]\n  sandbox_image = \"x\"\n", "version 2"},
      {"a runtime oci-secrets of the user's",
       std::string("version = 2\n") + kOciSecretsTable + "\n  runtime_type = \"x\"\n",
       "already defines"},
      {"an oci-secrets block install did not record",
       "version = 2\n# BEGIN oci-secrets: written by \"oci-secrets install containerd\"; "
       "\"oci-secrets uninstall containerd\" removes it\n# END oci-secrets\n",
       "differs"},
  };
  for (const Case& c : cases) {
    Write(kContainerdConfig, c.config);
    Result<InstallReport> r = Install(Engine::kContainerd, options_);
    ASSERT_FALSE(r.ok()) << c.description;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.description << ": " << r.status().ToString();
    EXPECT_EQ(Read(kContainerdConfig), c.config) << c.description;
    EXPECT_EQ(Files(), std::vector<std::string>{kContainerdConfig}) << c.description;
  }
}

// The line scan this replaced took "version = 2 # comment" for no version and missed a
// runtime table spelled with single quotes (then declared runc a second time, which
// containerd refuses to load).
TEST_F(InstallTest, ContainerdReadsTheConfigAsTomlHoweverItIsSpelled) {
  const std::string user =
      "version = 2 # containerd 1.6\n"
      "[plugins.'io.containerd.grpc.v1.cri'.containerd.runtimes.runc]\n"
      "  runtime_type = \"io.containerd.runc.v2\"\n";
  Write(kContainerdConfig, user);
  Result<InstallReport> r = Install(Engine::kContainerd, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string installed = Read(kContainerdConfig);
  EXPECT_EQ(installed.rfind(user, 0), 0u) << installed;
  EXPECT_EQ(installed.find(kRuncTable), std::string::npos) << "runc declared twice\n" << installed;
  EXPECT_NE(installed.find(kOciSecretsTable), std::string::npos) << installed;
  ASSERT_TRUE(Uninstall(Engine::kContainerd, options_).ok());
  EXPECT_EQ(Read(kContainerdConfig), user);
}

TEST_F(InstallTest, ContainerdSeesTheUsersOciSecretsRuntimeAndImportsWhereverDeclared) {
  const std::string dotted =
      "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
      "  runtimes.oci-secrets.runtime_type = \"x\"\n";
  Write(kContainerdConfig, dotted);
  Result<InstallReport> r = Install(Engine::kContainerd, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("already defines a runtime oci-secrets"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(Read(kContainerdConfig), dotted);

  Write(kContainerdConfig, "version = 2\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n");
  r = Install(Engine::kContainerd, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(std::any_of(r->lines.begin(), r->lines.end(), [](const std::string& l) {
    return l.rfind("note: ", 0) == 0 && l.find("imports other files") != std::string::npos;
  })) << ::testing::PrintToString(r->lines);
}

TEST_F(InstallTest, ContainerdRefusesAConfigThatIsNotTomlNamingLineAndColumn) {
  const std::string broken = "version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\"\n";
  Write(kContainerdConfig, broken);
  Result<InstallReport> r = Install(Engine::kContainerd, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string m = r.status().message();
  EXPECT_NE(m.find(Host(kContainerdConfig) + ": not valid TOML: line 3, column "),
            std::string::npos)
      << m;
  EXPECT_EQ(Read(kContainerdConfig), broken);
  EXPECT_EQ(Files(), std::vector<std::string>{kContainerdConfig}) << "no backup, no manifest";
}

TEST_F(InstallTest, ContainerdWithoutConfigCreatesAndRemovesIt) {
  ASSERT_TRUE(Install(Engine::kContainerd, options_).ok());
  const std::string created = Read(kContainerdConfig);
  EXPECT_EQ(created.rfind("version = 2\n", 0), 0u) << created;
  EXPECT_NE(created.find(kRuncTable), std::string::npos) << created;
  EXPECT_NE(created.find(kOciSecretsTable), std::string::npos) << created;
  ASSERT_TRUE(Uninstall(Engine::kContainerd, options_).ok());
  EXPECT_TRUE(Files().empty()) << ::testing::PrintToString(Files());
}

constexpr char kPrestartHook[] = "/usr/share/containers/oci/hooks.d/oci-secrets-prestart.json";
constexpr char kPoststopHook[] = "/usr/share/containers/oci/hooks.d/oci-secrets-poststop.json";

TEST_F(InstallTest, PodmanWritesHooksDFilesWithEnvTimeoutAndAnnotationCondition) {
  options_.hook_config = "/etc/oci-secrets/hook.json";
  Result<InstallReport> r = Install(Engine::kPodman, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->restart.empty()) << "Podman reads hooks.d at every run";
  for (const auto& [path, stage] :
       {std::pair{kPrestartHook, "prestart"}, std::pair{kPoststopHook, "poststop"}}) {
    Json doc = Json::parse(Read(path));
    EXPECT_EQ(doc["version"], "1.0.0");
    EXPECT_EQ(doc["stages"], Json::array({stage}));
    EXPECT_EQ(doc["hook"]["args"], Json::array({"oci-secrets-hook", "--config",
                                                "/etc/oci-secrets/hook.json", stage}));
    EXPECT_EQ(doc["hook"]["env"], Json::array({"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}));
    EXPECT_EQ(doc["hook"]["timeout"], 10);
    EXPECT_EQ(doc["when"]["annotations"]["^org\\.oci-secrets\\.service$"], ".*");
  }
  ASSERT_TRUE(Uninstall(Engine::kPodman, options_).ok());
  EXPECT_TRUE(Files().empty());
}

// podman-compose can pass only the environment variable, which a hooks.d condition cannot
// match: --env-opt-in runs the hook for every container, replacing our own entries in place.
TEST_F(InstallTest, PodmanEnvOptInRunsTheHookForEveryContainerAndReplacesOurEntries) {
  ASSERT_TRUE(Install(Engine::kPodman, options_).ok());
  options_.env_opt_in = true;
  Result<InstallReport> r = Install(Engine::kPodman, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->changed);
  for (const char* path : {kPrestartHook, kPoststopHook}) {
    Json doc = Json::parse(Read(path));
    EXPECT_EQ(doc["when"], Json({{"always", true}})) << path;
  }
  ASSERT_TRUE(Uninstall(Engine::kPodman, options_).ok());
  EXPECT_TRUE(Files().empty());
}

TEST_F(InstallTest, SharedHooksFilesStayUntilTheLastEngineIsUninstalled) {
  ASSERT_TRUE(Install(Engine::kPodman, options_).ok());
  ASSERT_TRUE(Install(Engine::kCrio, options_).ok());
  ASSERT_TRUE(Uninstall(Engine::kPodman, options_).ok());
  EXPECT_TRUE(Exists(kPrestartHook));
  EXPECT_TRUE(Exists(kPoststopHook));
  ASSERT_TRUE(Uninstall(Engine::kCrio, options_).ok());
  EXPECT_TRUE(Files().empty());
}

TEST_F(InstallTest, DoesNotOverwriteOrClaimAForeignFile) {
  Write(kPrestartHook, "{\"mine\": true}\n");
  Result<InstallReport> r = Install(Engine::kPodman, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("not written by oci-secrets"), std::string::npos);
  EXPECT_EQ(Read(kPrestartHook), "{\"mine\": true}\n");
  EXPECT_EQ(Files(), std::vector<std::string>{kPrestartHook});
}

TEST_F(InstallTest, RuncBundleGetsEntriesAndUninstallRestoresSameJson) {
  const std::string bundle_config =
      R"({"ociVersion":"1.0.2","hooks":{"prestart":[{"path":"/bin/other"}]},)"
      R"("root":{"path":"rootfs"}})";
  Write("/b/config.json", bundle_config);
  options_.bundle = "/b";
  ASSERT_TRUE(Install(Engine::kRunc, options_).ok());
  Json doc = Json::parse(Read("/b/config.json"));
  ASSERT_EQ(doc["hooks"]["prestart"].size(), 2u);
  EXPECT_EQ(doc["hooks"]["prestart"][1]["args"].back(), "prestart");
  EXPECT_EQ(doc["hooks"]["poststop"][0]["args"].back(), "poststop");
  Result<InstallReport> again = Install(Engine::kRunc, options_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  ASSERT_TRUE(Uninstall(Engine::kRunc, options_).ok());
  EXPECT_EQ(Json::parse(Read("/b/config.json")), Json::parse(bundle_config));
}

TEST_F(InstallTest, RuncNeedsABundle) {
  Result<InstallReport> r = Install(Engine::kRunc, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--bundle"), std::string::npos);
}

// The hooks.d entry the package ships (runtime-config/hooks.d) is what the shared builder
// makes for both stages with the defaults: no --config (hook.json stays optional), the
// fixed PATH, the default timeout.
TEST(ShippedHooksDTest, AgreesWithTheSharedBuilder) {
  std::ifstream in(std::string(OCI_SECRETS_SOURCE_DIR) + "/runtime-config/hooks.d/oci-secrets.json");
  ASSERT_TRUE(in.good()) << "runtime-config/hooks.d/oci-secrets.json";
  Json shipped = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(shipped.is_discarded()) << "runtime-config/hooks.d/oci-secrets.json: not JSON";
  EXPECT_EQ(shipped, Json::parse(HooksDJson(HookEntryOptions{}, {"prestart", "poststop"})));
  EXPECT_EQ(shipped["hook"]["args"], Json::array({"oci-secrets-hook"}));
}

// So is each entry of the runc example bundle, one per stage.
TEST(ShippedHooksDTest, RuncExampleEntriesAgreeWithTheSharedBuilder) {
  std::ifstream in(std::string(OCI_SECRETS_SOURCE_DIR) + "/runtime-config/runc/config.json.example");
  Json example = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(example.is_discarded()) << "runtime-config/runc/config.json.example: not JSON";
  for (const char* stage : {"prestart", "poststop"}) {
    EXPECT_EQ(example["hooks"][stage], Json::array({HookEntry(HookEntryOptions{}, stage)}))
        << stage;
  }
}

TEST(ParseEngineTest, KnowsTheSixEnginesAndRejectsOthers) {
  for (const char* name : {"docker", "containerd", "podman", "crio", "runc", "cdi"}) {
    Result<Engine> e = ParseEngine(name);
    ASSERT_TRUE(e.ok()) << name;
    EXPECT_EQ(EngineName(*e), name);
  }
  for (const char* name : {"lxc", ""}) {
    Result<Engine> e = ParseEngine(name);
    ASSERT_FALSE(e.ok()) << name;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(e.status().message().find("unknown engine \"" + std::string(name) + "\""),
              std::string::npos)
        << e.status().ToString();
  }
}

TEST_F(InstallTest, CommandLineInstallAndUninstallDocker) {
  CliContext ctx;
  ctx.host = "unix://" + root_ + "/none.sock";  // no manager: --no-check is needed
  auto run = [&ctx](std::vector<std::string> args) {
    CLI::App app("oci-secrets");
    app.require_subcommand(1);
    RegisterInstallCommands(app, ctx);
    std::vector<const char*> argv{"oci-secrets"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
      return 0;
    } catch (const CLI::ParseError& e) {
      return e.get_exit_code();
    }
  };
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run({"install", "docker", "--root", root_, "--service", "redis"}), 1);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Error: install docker: cannot check that service redis exists; start "
                     "oci-secretsd (or give --host), or pass --no-check to install without "
                     "checking: cannot reach the manager at unix://" + root_ +
                     "/none.sock"),
            std::string::npos)
      << err;
  EXPECT_TRUE(Files().empty()) << "refused before anything is written";
  EXPECT_EQ(run({"install", "docker", "--root", root_, "--service", "redis", "--no-check",
                 "--default-runtime"}),
            0);
  Json doc = Json::parse(Read(kDaemonJson));
  EXPECT_TRUE(doc["runtimes"].contains("oci-secrets-redis"));
  EXPECT_EQ(doc["default-runtime"], "oci-secrets");
  EXPECT_EQ(run({"install", "nosuch", "--root", root_}), 1);
  EXPECT_EQ(run({"uninstall", "docker", "--root", root_}), 0);
  EXPECT_TRUE(Files().empty());
}

}  // namespace
}  // namespace ocisecrets
