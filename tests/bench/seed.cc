#include "tests/bench/seed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "shared/models.h"
#include "tests/bench/bench_runner.h"

namespace ocisecrets::bench {

using nlohmann::json;

namespace {

// base64 of payload, as "Data" carries it.
std::string DataField(std::string_view payload) {
  return Base64Encode(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
}

// "create secret NAME: HTTP 409 {...}" unless the answer has status `want`.
Status ExpectStatus(const HttpReply& r, int want, const std::string& what) {
  if (r.status == want) return Status::Ok();
  return Status::IOError(what + ": HTTP " + std::to_string(r.status) + " " + r.body);
}

}  // namespace

std::string SecretCreateBody(const std::string& name, std::size_t size) {
  std::string payload(size, 'x');
  for (std::size_t i = 0; i < size; ++i) {
    payload[i] = static_cast<char>('a' + (i * 7 + name.size()) % 26);
  }
  return SecretCreateBodyWith(name, payload);
}

std::string SecretCreateBodyWith(const std::string& name, std::string_view payload) {
  json body = {{"Name", name}, {"Labels", json::object()}, {"Data", DataField(payload)}};
  return body.dump();
}

std::string ServiceCreateBody(const std::string& name, const std::vector<std::string>& secrets) {
  json refs = json::array();
  for (const auto& s : secrets) {
    refs.push_back({{"SecretName", s},
                    {"File", {{"Name", s}, {"UID", "0"}, {"GID", "0"}, {"Mode", 0444}}}});
  }
  json body = {{"Name", name}, {"SecretsDir", ""}, {"Labels", json::object()}, {"Secrets", refs}};
  return body.dump();
}

Status CreateSecret(UnixHttpConnection& conn, const std::string& name, std::size_t size) {
  ASSIGN_OR_RETURN(HttpReply r, conn.Request("POST", "/v1/secrets", SecretCreateBody(name, size)),
                   "create secret " + name);
  return ExpectStatus(r, 201, "create secret " + name);
}

Result<std::string> CreateSecretWith(UnixHttpConnection& conn, const std::string& name,
                                     std::string_view payload) {
  const std::string what = "create secret " + name;
  ASSIGN_OR_RETURN(HttpReply r, conn.Request("POST", "/v1/secrets", SecretCreateBodyWith(name, payload)),
                   what);
  RETURN_IF_ERROR(ExpectStatus(r, 201, what), "");
  json secret = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (!secret.is_object() || !secret.contains("ID") || !secret["ID"].is_string()) {
    return Status::DataLoss(what + ": the answer has no ID");
  }
  return secret["ID"].get<std::string>();
}

Status RotateSecret(UnixHttpConnection& conn, const std::string& id, std::string_view payload) {
  json body = {{"Data", DataField(payload)}};
  const std::string what = "rotate secret " + id;
  ASSIGN_OR_RETURN(HttpReply r, conn.Request("POST", "/v1/secrets/" + id + "/rotate", body.dump()), what);
  return ExpectStatus(r, 200, what);
}

Status CreateService(UnixHttpConnection& conn, const std::string& name,
                     const std::vector<std::string>& secrets) {
  ASSIGN_OR_RETURN(HttpReply r, conn.Request("POST", "/v1/services", ServiceCreateBody(name, secrets)),
                   "create service " + name);
  return ExpectStatus(r, 201, "create service " + name);
}

Result<std::unique_ptr<ManagerProcess>> StartManager(const std::string& dir,
                                                     const std::vector<std::string>& extra_args) {
  std::string bin = BinDir() + "/oci-secretsd";
  if (!IsExecutable(bin)) return Status::NotFound("oci-secretsd not built yet");
  ::mkdir((dir + "/state").c_str(), 0700);
  return ManagerProcess::Start(bin, dir + "/state", dir + "/m.sock", dir + "/manager.log", extra_args);
}

Result<std::unique_ptr<ManagerProcess>> StartSeededManager(
    const std::string& dir, const std::vector<std::string>& extra_args) {
  ASSIGN_OR_RETURN(auto manager, StartManager(dir, extra_args), "manager");
  ASSIGN_OR_RETURN(auto conn, UnixHttpConnection::Connect(manager->socket()), "manager");
  RETURN_IF_ERROR(CreateSecret(*conn, "bench-one-0", 32), "seed");
  RETURN_IF_ERROR(CreateService(*conn, "bench-one", {"bench-one-0"}), "seed");
  std::vector<std::string> ten;
  for (int i = 0; i < 10; ++i) {
    ten.push_back("bench-ten-" + std::to_string(i));
    RETURN_IF_ERROR(CreateSecret(*conn, ten.back(), 4096), "seed");
  }
  RETURN_IF_ERROR(CreateService(*conn, "bench-ten", ten), "seed");
  return manager;
}

namespace {

// build/bin/oci-secrets --host unix://SOCKET ARGS: its stdout, or an error with its words.
Result<std::string> Cli(const std::string& socket, std::vector<std::string> args) {
  std::string bin = BinDir() + "/oci-secrets";
  if (!IsExecutable(bin)) return Status::NotFound("oci-secrets not built yet");
  args.insert(args.begin(), {bin, "--host", "unix://" + socket});
  ASSIGN_OR_RETURN(ProcessResult r, RunProcess(args, {}, /*capture_out=*/true), args[3]);
  if (r.exit_code != 0) {
    // The CLI's first line (its "Error: ..."), so that a table cell stays one line.
    return Status::Internal("oci-secrets " + args[3] + " " + args[4] + ": " +
                            r.err.substr(0, r.err.find('\n')));
  }
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r.out;
}

// A TCP port on 127.0.0.1 free a moment ago.
Result<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return PosixError("socket", errno);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0
               ? ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len)
               : -1;
  int err = errno;
  ::close(fd);
  if (rc != 0) return PosixError("bind 127.0.0.1:0", err);
  return static_cast<int>(ntohs(a.sin_port));
}

}  // namespace

Result<ClusterAddress> InitCluster(const ManagerProcess& manager) {
  ClusterAddress c;
  ASSIGN_OR_RETURN(int port, FreeLoopbackPort(), "cluster");
  c.addr = "127.0.0.1:" + std::to_string(port);
  RETURN_IF_ERROR(Cli(manager.socket(), {"cluster", "init", "--listen-addr", c.addr}).status(), "");
  ASSIGN_OR_RETURN(c.node_token, Cli(manager.socket(), {"cluster", "join-token", "node", "-q"}), "");
  return c;
}

Result<BenchCluster> MakeCluster(const ManagerProcess& manager, const std::string& dir) {
  BenchCluster c;
  ASSIGN_OR_RETURN(ClusterAddress cluster, InitCluster(manager), "");
  c.addr = cluster.addr;
  const std::string worker_dir = dir + "/worker";
  ::mkdir(worker_dir.c_str(), 0700);
  ASSIGN_OR_RETURN(c.worker, StartManager(worker_dir), "worker");
  c.worker_state = worker_dir + "/state";
  RETURN_IF_ERROR(Cli(c.worker->socket(), {"cluster", "join", "--token", cluster.node_token, c.addr}).status(),
                  "");
  return c;
}

}  // namespace ocisecrets::bench
