#include "hook/oci/oci_state.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "tests/testing/status_assert.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets::hook {
namespace {

using ::ocisecrets::testing::IsError;

using ::ocisecrets::testing::TempDir;

struct StateCase {
  const char* description;
  std::string json;
  bool valid;
  const char* error_part;  // a piece the error must name
};

TEST(OciStateTest, ParsesStatesAndRefusesBadOnes) {
  const std::vector<StateCase> cases = {
      {"runc prestart state",
       R"({"ociVersion":"1.0.2","id":"c1","status":"created","pid":42,"bundle":"/b",)"
       R"("annotations":{"org.oci-secrets.service":"redis"}})",
       true, ""},
      {"crun creating state without annotations",
       R"({"ociVersion":"1.0.0","id":"c1","status":"creating","pid":42,"bundle":"/b"})", true,
       ""},
      {"poststop state without pid", R"({"id":"c1","status":"stopped","bundle":"/b"})", true, ""},
      {"missing bundle", R"({"id":"c1","status":"created","pid":1})", false, "bundle"},
      {"relative bundle", R"({"id":"c1","pid":1,"bundle":"b"})", false, "absolute"},
      {"missing id", R"({"pid":1,"bundle":"/b"})", false, "id"},
      {"id with a slash", R"({"id":"../x","pid":1,"bundle":"/b"})", false, "id"},
      {"negative pid", R"({"id":"c","pid":-1,"bundle":"/b"})", false, "pid"},
      {"pid as a string", R"({"id":"c","pid":"1","bundle":"/b"})", false, "pid"},
      {"annotation not a string", R"({"id":"c","bundle":"/b","annotations":{"a":1}})", false,
       "annotations"},
      {"malformed JSON", R"({"id":"c",)", false, "malformed"},
      {"not an object", R"(["id"])", false, "object"},
      {"too large", std::string(kMaxDocumentBytes + 1, ' '), false, "larger than"},
  };
  for (const auto& c : cases) {
    Result<ContainerState> s = ParseState(c.json);
    EXPECT_EQ(s.ok(), c.valid) << c.description << ": " << s.status().message();
    if (!s.ok()) {
      EXPECT_NE(s.status().message().find(c.error_part), std::string::npos)
          << c.description << ": " << s.status().message();
      EXPECT_EQ(s.status().message().rfind("state: ", 0), 0u) << c.description;
    }
  }
}

TEST(OciStateTest, KeepsStateFields) {
  Result<ContainerState> s = ParseState(
      R"({"id":"c1","status":"created","pid":42,"bundle":"/b","annotations":{"k":"v"}})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->id, "c1");
  EXPECT_EQ(s->status, "created");
  EXPECT_EQ(s->pid, 42);
  EXPECT_EQ(s->bundle, "/b");
  EXPECT_TRUE(s->has_annotations);
  EXPECT_EQ(s->annotations.at("k"), "v");
}

TEST(OciStateTest, RootPathIsRelativeToTheBundle) {
  Result<BundleConfig> rel = ParseBundleConfig(R"({"root":{"path":"rootfs"}})", "/var/b");
  ASSERT_TRUE(rel.ok()) << rel.status().message();
  EXPECT_EQ(rel->root_path, "/var/b/rootfs");
  Result<BundleConfig> abs =
      ParseBundleConfig(R"({"root":{"path":"/merged","readonly":true}})", "/var/b");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->root_path, "/merged");
  EXPECT_TRUE(abs->root_readonly);
}

TEST(OciStateTest, RefusesBadBundleConfigs) {
  const std::vector<StateCase> cases = {
      {"no root", R"({"process":{}})", false, "root"},
      {"empty root.path", R"({"root":{"path":""}})", false, "root.path"},
      {"readonly not a bool", R"({"root":{"path":"r","readonly":"yes"}})", false, "readonly"},
      {"mapping of size 0",
       R"({"root":{"path":"r"},"linux":{"uidMappings":[{"containerID":0,"hostID":1,"size":0}]}})",
       false, "uidMappings"},
      {"mapping overflowing 32 bits",
       R"({"root":{"path":"r"},"linux":{"gidMappings":[{"containerID":0,"hostID":4294967295,"size":2}]}})",
       false, "gidMappings"},
      {"mapping without hostID",
       R"({"root":{"path":"r"},"linux":{"uidMappings":[{"containerID":0,"size":2}]}})", false,
       "hostID"},
      {"malformed", R"({"root":)", false, "malformed"},
      {"a namespace type that is not a string (threw, found by fuzzing)",
       R"({"root":{"path":"r"},"linux":{"namespaces":[{"type":"user"},{"type":0}]}})", false,
       "linux.namespaces[].type: must be a string"},
  };
  for (const auto& c : cases) {
    Result<BundleConfig> b = ParseBundleConfig(c.json, "/b");
    EXPECT_TRUE(IsError(b, StatusCode::kInvalidArgument, c.error_part)) << c.description;
  }
}

TEST(OciStateTest, ReadsUserNamespaceMappingsAndWindows) {
  Result<BundleConfig> b = ParseBundleConfig(
      R"({"root":{"path":"r"},"windows":{"layerFolders":[]},"linux":{"namespaces":[{"type":"mount"},{"type":"user"}],)"
      R"("uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],)"
      R"("gidMappings":[{"containerID":0,"hostID":200000,"size":65536}]}})",
      "/b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_TRUE(b->has_user_namespace);
  EXPECT_TRUE(b->is_windows);
  ASSERT_EQ(b->uid_mappings.size(), 1u);
  EXPECT_EQ(b->uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(b->gid_mappings[0].host_id, 200000u);
}

TEST(OciStateTest, AnnotationComesFromStateElseConfig) {
  ContainerState state;
  BundleConfig config;
  config.annotations[std::string(kServiceAnnotation)] = "from-config";
  EXPECT_EQ(ServiceAnnotation(state, &config), "from-config");
  EXPECT_EQ(ServiceAnnotation(state, nullptr), std::nullopt);
  state.annotations[std::string(kServiceAnnotation)] = "from-state";
  EXPECT_EQ(ServiceAnnotation(state, &config), "from-state");
  ContainerState other;
  other.annotations["io.kubernetes.x"] = "y";
  EXPECT_EQ(ServiceAnnotation(other, nullptr), std::nullopt);
}

TEST(OciStateTest, TheEnvironmentVariableOptsInWhenNoAnnotationDoes) {
  Result<BundleConfig> b = ParseBundleConfig(
      R"({"root":{"path":"r"},"process":{"env":["PATH=/bin","OCI_SECRETS_SERVICE=redis"]}})", "/b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->env_service, "redis");
  Result<std::optional<OptIn>> opt_in = ServiceOptIn(ContainerState{}, &*b);
  ASSERT_TRUE(opt_in.ok() && opt_in->has_value()) << opt_in.status().ToString();
  EXPECT_EQ((*opt_in)->service, "redis");
  EXPECT_EQ((*opt_in)->source, kEnvSource);
  EXPECT_TRUE(MayNameService(R"({"process":{"env":["OCI_SECRETS_SERVICE=redis"]}})"));
}

TEST(OciStateTest, AnnotationAndVariableNamingDifferentServicesAreRefused) {
  Result<BundleConfig> b = ParseBundleConfig(
      R"({"root":{"path":"r"},"annotations":{"org.oci-secrets.service":"redis"},)"
      R"("process":{"env":["OCI_SECRETS_SERVICE=web"]}})",
      "/b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_TRUE(IsError(ServiceOptIn(ContainerState{}, &*b), StatusCode::kInvalidArgument,
                      "name different services"));
}

TEST(OciStateTest, AnEnvThatIsNotAnArrayOfStringsIsRefused) {
  for (const char* json : {R"({"root":{"path":"r"},"process":{"env":"OCI_SECRETS_SERVICE=a"}})",
                           R"({"root":{"path":"r"},"process":{"env":[1]}})"}) {
    EXPECT_TRUE(IsError(ParseBundleConfig(json, "/b"), StatusCode::kInvalidArgument,
                        "process.env: must be an array of strings"))
        << json;
  }
  EXPECT_TRUE(IsError(
      ParseBundleConfig(R"({"root":{"path":"r"},"process":{"env":["OCI_SECRETS_SERVICE=a/b"]}})",
                        "/b"),
      StatusCode::kInvalidArgument, "OCI_SECRETS_SERVICE in the container's environment"));
}

// A config.json that cannot hold the annotation is not parsed at all; every spelling the
// parser would read as the key must count as "may".
TEST(OciStateTest, OnlyAConfigThatCannotNameTheServiceIsLeftUnparsed) {
  EXPECT_FALSE(MayNameService(R"({"root":{"path":"rootfs"},"annotations":{"a":"b"}})"));
  EXPECT_FALSE(MayNameService("not even JSON"));
  EXPECT_FALSE(MayNameService(R"({"annotations":{"ORG.OCI-SECRETS.SERVICE":"x"}})"));
  EXPECT_FALSE(MayNameService(R"({"annotations":{"org.oci-secrets.servic":"x"}})"));
  EXPECT_TRUE(MayNameService(R"({"annotations":{"org.oci-secrets.service":"redis"}})"));
  const std::string escaped = R"({"annotations":{"org.oci\u002dsecrets.service":"redis"}})";
  EXPECT_TRUE(MayNameService(escaped));
  // The parser agrees that the escaped key is the annotation.
  Result<BundleConfig> b = ParseBundleConfig(R"({"root":{"path":"r"},"annotations":{"org.oci\u002dsecrets.service":"redis"}})", "/b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(ServiceAnnotation(ContainerState{}, &*b), "redis");
  EXPECT_TRUE(MayNameService(R"({"env":["A=\u0041"]})"));  // any \u: parse to be sure
}

TEST(OciStateTest, LoadBundleConfigReportsMissingAndTooLargeFiles) {
  TempDir dir;
  Result<BundleConfig> missing = LoadBundleConfig(dir.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  testing::WriteFile(dir / "config.json", std::string(kMaxDocumentBytes + 10, ' '));
  Result<BundleConfig> big = LoadBundleConfig(dir.path());
  ASSERT_TRUE(IsError(big, StatusCode::kInvalidArgument, "larger than"));
  testing::WriteFile(dir / "config.json", R"({"root":{"path":"rootfs"}})");
  Result<BundleConfig> ok = LoadBundleConfig(dir.path());
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->root_path, dir / "rootfs");
}

}  // namespace
}  // namespace ocisecrets::hook
