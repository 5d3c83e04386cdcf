// containerd 1.6 through `ctr run --runc-binary oci-secrets-runtime`: containerd's runc.v2
// shim calls our shim as its runc, which adds the hook to an annotated bundle and execs
// runc. containerd runs in the suite's temp dir (own root, state and socket); the image
// is the busybox rootfs imported by Podman and saved as an OCI archive. Needs root.
// The CRI runtime that `oci-secrets install containerd` defines is selected by a
// RuntimeClass, which only a CRI client (crictl, a kubelet) can ask for; none is packaged
// for Debian 12, so the test speaks CRI's gRPC itself through curl.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <iterator>
#include <thread>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/engine_fixture.h"
#include "tests/integration/hook_fixture.h"

namespace ocisecrets::itest {
namespace {

// ---- a minimal CRI client: protobuf fields by hand, gRPC over HTTP/2 through curl ----
// (no CRI client is packaged for Debian 12; field numbers are those of CRI's api.proto)

const Tool kCurlTool{"/usr/bin/curl", "curl"};

std::string Varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  return out + static_cast<char>(v);
}
std::string Field(int number, const std::string& bytes) {
  return Varint(static_cast<std::uint64_t>(number) << 3 | 2) + Varint(bytes.size()) + bytes;
}
std::string FieldInt(int number, std::uint64_t v) {
  return Varint(static_cast<std::uint64_t>(number) << 3) + Varint(v);
}

// Calls runtime.v1.RuntimeService/METHOD; returns the reply message, or "" after failing
// the test with the gRPC status.
std::string CriCall(const std::string& socket, const std::string& method,
                    const std::string& request, const std::string& reply_file) {
  std::string frame(1, '\0');
  for (int shift = 24; shift >= 0; shift -= 8) {
    frame += static_cast<char>((request.size() >> shift) & 0xff);
  }
  frame += request;
  CommandResult r = RunCommand(
      {kCurlTool.path, "-sS", "--http2-prior-knowledge", "--unix-socket", socket, "-H",
       "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "@-", "-D", "-",
       "-o", reply_file, "http://localhost/runtime.v1.RuntimeService/" + method},
      frame, {}, std::chrono::seconds(120));
  if (r.exit_code != 0 || r.out.find("grpc-status: 0") == std::string::npos) {
    ADD_FAILURE() << method << ": " << r.out << r.err;
    return "";
  }
  std::ifstream in(reply_file, std::ios::binary);
  std::string reply((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return reply.size() >= 5 ? reply.substr(5) : "";
}

// Field 1 (a string) of a reply: the id RunPodSandbox and CreateContainer return.
std::string FirstString(const std::string& message) {
  if (message.size() < 2 || message[0] != 0x0a) return "";
  std::size_t len = 0, i = 1;
  for (int shift = 0; i < message.size(); shift += 7) {
    unsigned char b = static_cast<unsigned char>(message[i++]);
    len |= static_cast<std::size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
  }
  return message.substr(i, len);
}

class EngineContainerdTest : public EngineTest {
 protected:
  void ArrangeSuite() override {
    // Podman builds the image (import, then save as an OCI archive); curl speaks CRI.
    if (!StartWorld({kContainerdTool, kCtrTool, kRuncTool, kPodmanTool, kCurlTool})) return;
    std::string archive = SaveEngineImageArchive(*world_);
    ASSERT_FALSE(archive.empty());
    containerd_ = StartContainerd(*world_).release();
    ASSERT_NE(containerd_, nullptr);
    CommandResult loaded = Ctr({"images", "import", "--snapshotter", "native", archive});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  }
  static void TearDownTestSuite() {
    delete containerd_;  // stops containerd (SIGTERM to its group, then SIGKILL)
    containerd_ = nullptr;
    StopWorld();
  }
  static CommandResult Ctr(std::vector<std::string> args) {
    std::vector<std::string> argv = {kCtr, "-a", ContainerdSocket(*world_)};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {}, {}, std::chrono::seconds(120));
  }
  // `ctr run --rm` with the runc.v2 runtime and our shim as its runc binary.
  static CommandResult Run(const std::string& script, const std::string& service) {
    static int n = 0;
    std::vector<std::string> args = WithServiceAnnotation(
        {"run", "--rm", "--snapshotter", "native", "--runtime", "io.containerd.runc.v2",
         "--runc-binary", BinPath("oci-secrets-runtime")},
        service);
    args.insert(args.end(), {kEngineImage, "ocs-ctr-" + std::to_string(++n), "sh", "-c", script});
    return Ctr(args);
  }

  static Background* containerd_;
};
Background* EngineContainerdTest::containerd_ = nullptr;

TEST_F(EngineContainerdTest, AnnotatedContainerReadsSecretWithItsMode) {
  EXPECT_TRUE(ReadsTheSecretWithItsMode(Run(ReadSecretScript(), kEngineService), *world_));
}

TEST_F(EngineContainerdTest, ContainerWithoutAnnotationIsUntouched) {
  EXPECT_TRUE(FindsNoSecretsDir(Run(AbsentScript(), "")));
}

TEST_F(EngineContainerdTest, ManagerDownFailsTheStartWithTheHooksLine) {
  EngineWorld::ManagerDown down(world_);
  // ctr exits 1 when the task cannot be created.
  EXPECT_TRUE(RefusedByTheHookManagerDown(Run("echo started", kEngineService), 1));
}

// `oci-secrets install containerd` on a copy of Debian's config.toml (plus a root, state,
// socket and pod settings of the test's): containerd 1.6 started on the result loads its
// CRI plugin with the runtime oci-secrets (runc.v2, BinaryName = the shim, the opt-in
// annotation passed on), runc still there as the default, Debian's CNI setting kept; and
// a pod run through that RuntimeClass handler gets the secret.
TEST_F(EngineContainerdTest, InstalledCriRuntimeRunsAnAnnotatedPodThatReadsTheSecret) {
  const std::string root = world_->dir.File("install-root");
  const std::string base = world_->dir.File("cri");
  std::filesystem::create_directories(root + "/etc/containerd");
  std::filesystem::create_directories(base);
  const std::string config = root + "/etc/containerd/config.toml";
  const std::string socket = base + "/c.sock";
  {
    std::ofstream out(config);
    // Debian's CNI lines, and what a pod needs here: a local sandbox image, oom_score_adj
    // left as it is (the test bed may not lower it), the native snapshotter.
    out << "version = 2\nroot = \"" << base << "/root\"\nstate = \"" << base
        << "/state\"\n[grpc]\n  address = \"" << socket << "\"\n\n[plugins]\n"
        << "  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
        << "    sandbox_image = \"localhost/ocs-pause:latest\"\n"
        << "    restrict_oom_score_adj = true\n"
        << "    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
        << "      snapshotter = \"native\"\n"
        << "    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
        << "      bin_dir = \"/usr/lib/cni\"\n      conf_dir = \"/etc/cni/net.d\"\n";
  }
  CommandResult installed = RunCommand({BinPath("oci-secrets"), "install", "containerd",
                                        "--root", root, "--shim", BinPath("oci-secrets-runtime")});
  ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;

  CommandResult dump = RunCommand({kContainerdTool.path, "--config", config, "config", "dump"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const std::string runtimes = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.";
  std::size_t at = dump.out.find(runtimes + "oci-secrets]");
  ASSERT_NE(at, std::string::npos) << dump.out;
  // The runtime's own table and its options, up to the next runtime's table.
  std::string runtime = dump.out.substr(at, dump.out.find(runtimes, at + 1) - at);
  std::size_t options = dump.out.find(runtimes + "oci-secrets.options]");
  ASSERT_NE(options, std::string::npos) << dump.out;
  runtime += dump.out.substr(options, dump.out.find("\n\n", options) - options);
  for (const std::string& want :
       {std::string("runtime_type = \"io.containerd.runc.v2\""),
        std::string("pod_annotations = [\"org.oci-secrets.service\"]"),
        std::string("container_annotations = [\"org.oci-secrets.service\"]"),
        "BinaryName = \"" + BinPath("oci-secrets-runtime") + "\""}) {
    EXPECT_NE(runtime.find(want), std::string::npos) << want << "\n" << runtime;
  }
  EXPECT_NE(dump.out.find(runtimes + "runc]"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("bin_dir = \"/usr/lib/cni\""), std::string::npos) << dump.out;

  // containerd itself on that configuration: the CRI plugin loads (a runtime list without
  // runc, or a replaced CRI section, makes it fail with "no corresponding runtime").
  Background containerd({kContainerdTool.path, "--config", config}, base + "/containerd.log",
                        {"OCI_SECRETS_RUNTIME_CONFIG=" + WriteShimConfig(*world_, kRuncTool)});
  ASSERT_TRUE(WaitUntilAnswers({kCtr, "-a", socket, "version"}, 30))
      << world_->ReadFile(base + "/containerd.log");
  CommandResult plugins = RunCommand({kCtr, "-a", socket, "plugins", "ls"});
  ASSERT_EQ(plugins.exit_code, 0) << plugins.err;
  std::size_t cri = plugins.out.find("io.containerd.grpc.v1 ");
  bool cri_ok = false;
  for (; cri != std::string::npos; cri = plugins.out.find("io.containerd.grpc.v1 ", cri + 1)) {
    std::string line = plugins.out.substr(cri, plugins.out.find('\n', cri) - cri);
    if (line.find(" cri ") != std::string::npos) cri_ok = line.find(" ok") != std::string::npos;
  }
  ASSERT_TRUE(cri_ok) << plugins.out << world_->ReadFile(base + "/containerd.log");

  // A pod on the RuntimeClass handler "oci-secrets" with the opt-in annotation, as a
  // kubelet asks for it: its container reads the secret.
  CommandResult pause = RunPodman(
      *world_, {"import", "--change", "CMD [\"/bin/sleep\", \"600\"]", "--change", "ENV PATH=/bin",
                world_->rootfs_tar, "ocs-pause"});
  ASSERT_EQ(pause.exit_code, 0) << pause.err;
  const std::string pause_archive = base + "/pause.tar";
  CommandResult saved = RunPodman(*world_, {"save", "--format", "oci-archive", "-o",
                                            pause_archive, "localhost/ocs-pause:latest"});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  for (const std::string& archive : {pause_archive, world_->dir.File("image.tar")}) {
    CommandResult loaded = RunCommand({kCtr, "-a", socket, "-n", "k8s.io", "images", "import",
                                       "--snapshotter", "native", archive});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  }
  const std::string logs = base + "/pods";
  std::filesystem::create_directories(logs);
  const std::string pod_config =
      Field(1, Field(1, "ocs-pod") + Field(2, "ocs-pod-uid") + Field(3, "default")) +
      Field(3, logs) + Field(7, Field(1, kEngineAnnotation) + Field(2, kEngineService)) +
      // linux.security_context.namespace_options: network NODE (no CNI), pid CONTAINER
      Field(8, Field(2, Field(1, FieldInt(1, 2) + FieldInt(2, 1))));
  const std::string reply = base + "/reply.bin";
  std::string pod = FirstString(
      CriCall(socket, "RunPodSandbox", Field(1, pod_config) + Field(2, "oci-secrets"), reply));
  ASSERT_FALSE(pod.empty()) << world_->ReadFile(base + "/containerd.log");
  // Stop and remove the pod (its shim outlives containerd otherwise), even on failure.
  struct PodGuard {
    std::string socket, pod, reply;
    ~PodGuard() {
      CriCall(socket, "StopPodSandbox", Field(1, pod), reply);
      CriCall(socket, "RemovePodSandbox", Field(1, pod), reply);
    }
  } guard{socket, pod, reply};
  const std::string container_config =
      Field(1, Field(1, "reader")) + Field(2, Field(1, kEngineImage)) + Field(3, "/bin/sh") +
      Field(4, "-c") + Field(4, ReadSecretScript()) + Field(11, "reader.log");
  std::string container = FirstString(CriCall(
      socket, "CreateContainer", Field(1, pod) + Field(2, container_config) + Field(3, pod_config),
      reply));
  ASSERT_FALSE(container.empty());
  CriCall(socket, "StartContainer", Field(1, container), reply);
  // CRI's log format: "TIME stdout F LINE" per line.
  const std::string want = "stdout F " + world_->payload + "\n";
  std::string log;
  for (int i = 0; i < 150 && log.find("stdout F 444 0 0") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    log = world_->ReadFile(logs + "/reader.log");
  }
  EXPECT_NE(log.find(want), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F 444 0 0\n"), std::string::npos) << log;
}

}  // namespace
}  // namespace ocisecrets::itest
