#include "tests/testing/etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

#include "tests/integration/harness.h"

namespace ocisecrets::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kEtcdctl = "/usr/bin/etcdctl";
constexpr auto kHealthyWithin = std::chrono::seconds(20);

// A loopback port nobody listens on right now (bound, read and released: etcd binds it a
// moment later; a collision in between fails Start with etcd's own "address in use").
Result<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return PosixError("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    return PosixError("bind 127.0.0.1:0", e);
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

bool HasFlag(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args) {
    if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
  }
  return false;
}

std::string Tail(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

}  // namespace

EtcdCluster::EtcdCluster(EtcdClusterOptions options) : options_(std::move(options)) {
  if (options_.dir.empty()) {
    temp_ = std::make_unique<TempDir>();
    dir_ = temp_->path();
  } else {
    dir_ = options_.dir;
  }
  tls_ = HasFlag(options_.extra_args, "--cert-file");
  std::random_device rd;
  token_ = "ocs-test-" + std::to_string(rd());
}

Result<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(EtcdClusterOptions options) {
  if (::access(kEtcd, X_OK) != 0 || ::access(kEtcdctl, X_OK) != 0) {
    return Status::FailedPrecondition(
        "etcd cluster: /usr/bin/etcd or /usr/bin/etcdctl is missing: install the Debian "
        "packages etcd-server and etcd-client (packaging/test.sh installs them)");
  }
  if (options.members < 1) return Status::InvalidArgument("etcd cluster: members must be >= 1");
  std::unique_ptr<EtcdCluster> cluster(new EtcdCluster(std::move(options)));
  for (int i = 0; i < cluster->options_.members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    ASSIGN_OR_RETURN(m.client_port, FreeLoopbackPort(), "etcd cluster: client port");
    ASSIGN_OR_RETURN(m.peer_port, FreeLoopbackPort(), "etcd cluster: peer port");
    m.data_dir = cluster->dir_ + "/" + m.name + ".etcd";
    m.log_path = cluster->dir_ + "/" + m.name + ".log";
    cluster->members_.push_back(std::move(m));
  }
  for (int i = 0; i < cluster->options_.members; ++i) {
    RETURN_IF_ERROR(cluster->Launch(i), "etcd cluster: start " + cluster->members_[i].name);
  }
  auto deadline = steady_clock::now() + kHealthyWithin;
  for (int i = 0; i < cluster->options_.members; ++i) {
    Status healthy = cluster->WaitHealthy(i, deadline);
    if (!healthy.ok()) {
      return healthy.WithContext("etcd cluster: start").WithContext(Tail(cluster->Logs(), 4000));
    }
  }
  return cluster;
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < static_cast<int>(members_.size()); ++i) {
    if (members_[i].pid > 0) (void)Kill(i);
  }
  // temp_ (when set) removes the data dirs; a caller's dir keeps only what it asked for.
  if (!temp_) {
    for (const auto& m : members_) {
      std::error_code ec;
      std::filesystem::remove_all(m.data_dir, ec);
    }
  }
}

std::string EtcdCluster::ClientUrl(const Member& m) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(m.client_port);
}

std::vector<std::string> EtcdCluster::ClientUrls() const {
  std::vector<std::string> urls;
  for (const auto& m : members_) urls.push_back(ClientUrl(m));
  return urls;
}

std::string EtcdCluster::EndpointsFlag() const {
  std::string out;
  for (const auto& url : ClientUrls()) out += (out.empty() ? "" : ",") + url;
  return out;
}

std::string EtcdCluster::InitialCluster() const {
  std::string out;
  for (const auto& m : members_) {
    out += (out.empty() ? "" : ",") + m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
  }
  return out;
}

Status EtcdCluster::Launch(int member) {
  Member& m = members_[member];
  std::string client = ClientUrl(m);
  std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  std::vector<std::string> args = {kEtcd,
                                   "--name",
                                   m.name,
                                   "--data-dir",
                                   m.data_dir,
                                   "--listen-client-urls",
                                   client,
                                   "--advertise-client-urls",
                                   client,
                                   "--listen-peer-urls",
                                   peer,
                                   "--initial-advertise-peer-urls",
                                   peer,
                                   "--initial-cluster",
                                   InitialCluster(),
                                   "--initial-cluster-state",
                                   "new",
                                   "--initial-cluster-token",
                                   token_,
                                   "--heartbeat-interval",
                                   "50",
                                   "--election-timeout",
                                   "500",
                                   "--log-level",
                                   "error",
                                   "--logger",
                                   "zap"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd = ::open(m.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return PosixError("open " + m.log_path, errno);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(log_fd);
    ::close(null_fd);
    return PosixError("fork", e);
  }
  if (pid == 0) {
    // Only async-signal-safe calls: the child of a (possibly threaded) test process.
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  m.pid = pid;
  return Status::Ok();
}

Status EtcdCluster::WaitHealthy(int member, steady_clock::time_point deadline) const {
  const Member& m = members_[member];
  Status last = Status::Unavailable("not checked yet");
  while (steady_clock::now() < deadline) {
    int status = 0;
    if (m.pid > 0 && ::waitpid(m.pid, &status, WNOHANG) == m.pid) {
      return Status::Unavailable(m.name + " exited before it was healthy (status " +
                                 std::to_string(status) + ")");
    }
    auto health = RunEtcdctl(ClientUrl(m), {"endpoint", "health", "--command-timeout=1s"},
                             std::chrono::seconds(5));
    if (health.ok()) return Status::Ok();
    last = health.status();
    ::poll(nullptr, 0, 100);
  }
  return Status::DeadlineExceeded(m.name + " not healthy within 20 s: " + last.message());
}

Status EtcdCluster::Signal(int member, int sig) {
  if (member < 0 || member >= static_cast<int>(members_.size())) {
    return Status::InvalidArgument("etcd cluster: no member " + std::to_string(member));
  }
  Member& m = members_[member];
  if (m.pid <= 0) return Status::FailedPrecondition("etcd cluster: " + m.name + " is not running");
  if (::kill(m.pid, sig) != 0) return Status::Internal("etcd cluster: kill " + m.name + " failed");
  return Status::Ok();
}

Status EtcdCluster::Kill(int member) {
  RETURN_IF_ERROR(Signal(member, SIGKILL), "");
  Member& m = members_[member];
  int status = 0;
  while (::waitpid(m.pid, &status, 0) < 0 && errno == EINTR) {
  }
  m.pid = -1;
  return Status::Ok();
}

Status EtcdCluster::Restart(int member) {
  if (member < 0 || member >= static_cast<int>(members_.size())) {
    return Status::InvalidArgument("etcd cluster: no member " + std::to_string(member));
  }
  if (members_[member].pid > 0) {
    return Status::FailedPrecondition("etcd cluster: " + members_[member].name + " is running");
  }
  RETURN_IF_ERROR(Launch(member), "etcd cluster: restart " + members_[member].name);
  RETURN_IF_ERROR(WaitHealthy(member, steady_clock::now() + kHealthyWithin),
                  "etcd cluster: restart");
  return Status::Ok();
}

Result<std::string> EtcdCluster::RunEtcdctl(const std::string& endpoints,
                                            std::vector<std::string> args,
                                            milliseconds timeout) const {
  std::vector<std::string> argv = {kEtcdctl, "--endpoints", endpoints};
  argv.insert(argv.end(), options_.etcdctl_args.begin(), options_.etcdctl_args.end());
  argv.insert(argv.end(), args.begin(), args.end());
  itest::CommandResult r = itest::RunCommand(argv, {}, {"ETCDCTL_API=3"}, timeout);
  if (r.exit_code != 0) {
    return Status::Unavailable("etcdctl " + (args.empty() ? std::string() : args[0]) + " exited " +
                               std::to_string(r.exit_code) + ": " + r.err);
  }
  return r.out;
}

Result<std::string> EtcdCluster::Etcdctl(std::vector<std::string> args) const {
  // Only the members that run: etcdctl 3.4's balancer may spend its whole command timeout
  // on a dead first endpoint.
  std::string endpoints;
  for (const auto& m : members_) {
    if (m.pid > 0) endpoints += (endpoints.empty() ? "" : ",") + ClientUrl(m);
  }
  if (endpoints.empty()) return Status::Unavailable("etcdctl: no etcd member is running");
  args.insert(args.begin(), "--command-timeout=15s");
  return RunEtcdctl(endpoints, std::move(args), std::chrono::seconds(30));
}

std::string EtcdCluster::Logs() const {
  std::string out;
  for (const auto& m : members_) out += "--- " + m.name + " ---\n" + itest::ReadFile(m.log_path);
  return out;
}

}  // namespace ocisecrets::testing
