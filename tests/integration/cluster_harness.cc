#include "tests/integration/cluster_harness.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "shared/join_token.h"
#include "shared/pki.h"

namespace ocisecrets::itest {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  std::size_t start = s.find_first_not_of(" \n");
  return start == std::string::npos ? "" : s.substr(start);
}

// A TCP socket bound to 127.0.0.1:0; its port in *port. -1 (and a test failure) on error.
int BindLoopback(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket: " << std::strerror(errno);
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ADD_FAILURE() << "bind 127.0.0.1:0: " << std::strerror(errno);
    ::close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

std::string Loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

Result<JoinToken> TokenParts(const std::string& token) {
  Result<JoinToken> parts = ParseJoinToken(token);
  EXPECT_TRUE(parts.ok()) << "not a join token: " << parts.status().message();
  return parts;
}

}  // namespace

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

int FreeLoopbackPort() {
  int port = 0;
  int fd = BindLoopback(&port);
  if (fd >= 0) ::close(fd);
  return port;
}

SilentTcpListener::SilentTcpListener() {
  fd_ = BindLoopback(&port_);
  if (fd_ >= 0) {
    EXPECT_EQ(::listen(fd_, 64), 0) << "listen: " << std::strerror(errno);
  }
}

SilentTcpListener::~SilentTcpListener() {
  if (fd_ >= 0) ::close(fd_);
}

std::string SilentTcpListener::addr() const { return Loopback(port_); }

TlsFiles NodeCertFiles(const Daemon& worker) {
  const std::string dir = worker.state_dir() + "/cluster/";
  return {dir + "ca.pem", dir + "node.crt", dir + "node.key"};
}

TlsFiles AdminCertFiles(const std::string& dir) {
  return {dir + "/ca.pem", dir + "/cert.pem", dir + "/key.pem"};
}

CommandResult RemoteCli(const std::string& addr, const TlsFiles& tls,
                        const std::vector<std::string>& args, std::string_view stdin_data) {
  std::vector<std::string> argv = {BinPath("oci-secrets"), "--host",    "https://" + addr,
                                   "--tlscacert",          tls.ca,      "--tlscert",
                                   tls.cert,               "--tlskey",  tls.key};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, stdin_data);
}

CurlResult Curl(const std::vector<std::string>& args) {
  // The status code on a line of its own after the body ("000" without an answer).
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--max-time", "10", "-w",
                                   "\n%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv, {}, {}, std::chrono::seconds(30));
  CurlResult out;
  out.exit_code = r.exit_code;
  out.err = r.err;
  std::size_t nl = r.out.rfind('\n');
  if (nl == std::string::npos) return out;
  out.body = r.out.substr(0, nl);
  out.http_status = std::atoi(r.out.c_str() + nl + 1);
  return out;
}

CurlResult Curl(const std::vector<std::string>& args, const TlsFiles& tls) {
  std::vector<std::string> all = {"--cacert", tls.ca, "--cert", tls.cert, "--key", tls.key};
  all.insert(all.end(), args.begin(), args.end());
  return Curl(all);
}

std::string NodeIdOf(const Daemon& worker) {
  Result<CertInfo> info = ParseCertificate(ReadFile(NodeCertFiles(worker).cert));
  EXPECT_TRUE(info.ok()) << "the worker's certificate: " << info.status().message();
  return info.ok() ? info->subject.node_id : "";
}

std::string CertSerialOf(const Daemon& worker) {
  Result<CertInfo> info = ParseCertificate(ReadFile(NodeCertFiles(worker).cert));
  return info.ok() ? info->serial : "";
}

std::string WithCaDigest(const std::string& token, const std::string& digest) {
  Result<JoinToken> parts = TokenParts(token);
  if (!parts.ok()) return "";
  parts->ca_digest = digest;
  return FormatJoinToken(*parts);
}

std::string WithSecret(const std::string& token, const std::string& secret) {
  Result<JoinToken> parts = TokenParts(token);
  if (!parts.ok()) return "";
  parts->secret = secret;
  return FormatJoinToken(*parts);
}

Cluster::Cluster() : Cluster(Options{}) {}

Cluster::Cluster(Options options)
    : options_(std::move(options)), manager_(Daemon::Options{options_.manager_args, options_.env}) {}

Cluster::~Cluster() {
  for (auto* list : {&workers_, &managers_}) {
    for (auto& d : *list) {
      if (d->running()) {
        d->Signal(SIGCONT);  // a test may have frozen it
        d->Stop();
      }
    }
  }
}

Result<Daemon*> Cluster::AddManager() {
  managers_.push_back(
      std::make_unique<Daemon>(Daemon::Options{options_.manager_args, options_.env}));
  Daemon* m = managers_.back().get();
  RETURN_IF_ERROR(m->Start(), "start manager " + std::to_string(managers_.size() + 1));
  const std::string listen = Loopback(FreeLoopbackPort());
  CommandResult r = m->Cli({"cluster", "join", "--token", JoinToken("manager", false),
                            "--listen-addr", listen, addr_});
  if (r.exit_code != 0) {
    return Status::Internal("cluster join (manager) exited " + std::to_string(r.exit_code) +
                            ": " + r.err + "; joining manager's log:\n" + m->Log() +
                            "; first manager's log:\n" + manager_.Log());
  }
  manager_addrs_.push_back(listen);
  return m;
}

Status Cluster::Init() {
  RETURN_IF_ERROR(manager_.Start(), "start the manager");
  addr_ = Loopback(FreeLoopbackPort());
  std::vector<std::string> args = {"cluster", "init", "--listen-addr", addr_};
  args.insert(args.end(), options_.init_args.begin(), options_.init_args.end());
  CommandResult r = manager_.Cli(args);
  if (r.exit_code != 0) {
    return Status::Internal("cluster init exited " + std::to_string(r.exit_code) + ": " + r.err +
                            "; manager log:\n" + manager_.Log());
  }
  return Status::Ok();
}

Result<Daemon*> Cluster::StartWorker() {
  workers_.push_back(std::make_unique<Daemon>(Daemon::Options{{}, options_.env}));
  Daemon* w = workers_.back().get();
  RETURN_IF_ERROR(w->Start(), "start worker " + std::to_string(workers_.size()));
  return w;
}

Result<Daemon*> Cluster::AddWorker(std::vector<std::string> managers) {
  ASSIGN_OR_RETURN(Daemon * w, StartWorker(), "");
  if (managers.empty()) managers = {addr_};
  CommandResult r = Join(*w, JoinToken(), managers);
  if (r.exit_code != 0) {
    return Status::Internal("cluster join exited " + std::to_string(r.exit_code) + ": " + r.err +
                            "; worker log:\n" + w->Log() + "; manager log:\n" + manager_.Log());
  }
  return w;
}

CommandResult Cluster::Join(const Daemon& worker, const std::string& token,
                            const std::vector<std::string>& managers) const {
  std::vector<std::string> args = {"cluster", "join", "--token", token};
  args.insert(args.end(), managers.begin(), managers.end());
  return worker.Cli(args);
}

std::string Cluster::JoinToken(bool rotate) const { return JoinToken("node", rotate); }

std::string Cluster::JoinToken(std::string_view role, bool rotate) const {
  std::vector<std::string> args = {"cluster", "join-token", std::string(role), "-q"};
  if (rotate) args.push_back("--rotate");
  CommandResult r = manager_.Cli(args);
  EXPECT_EQ(r.exit_code, 0) << "cluster join-token: " << r.err;
  return r.exit_code == 0 ? Trim(r.out) : "";
}

std::size_t Cluster::AuditMark() const {
  return ReadFile(manager_.state_dir() + "/audit.log").size();
}

std::vector<std::string> Cluster::AuditLinesSince(std::size_t mark,
                                                  std::string_view needle) const {
  std::string text = ReadFile(manager_.state_dir() + "/audit.log");
  std::istringstream in(mark < text.size() ? text.substr(mark) : "");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) out.push_back(line);
  }
  return out;
}

}  // namespace ocisecrets::itest
