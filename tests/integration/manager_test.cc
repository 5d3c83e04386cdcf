// The manager daemon, driven as a binary: raw HTTP over its unix socket, real SQLite,
// real signals. Each test starts its own oci-secretsd in a temp dir (harness Daemon).
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "shared/models.h"
#include "shared/validation.h"
#include "tests/integration/harness.h"

namespace ocisecrets {
namespace {

using itest::CommandResult;
using itest::Daemon;
using itest::RunCommand;
using itest::TempDir;
using namespace std::chrono_literals;

struct RawResponse {
  int status = 0;  // 0: no (complete) response
  std::string headers;
  std::string body;
};

// One raw connection to the daemon's socket: bytes in, bytes out, no HTTP library, so
// tests can send what a real client never would.
class RawConn {
 public:
  explicit RawConn(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      error_ = errno;
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  int error() const { return error_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response (Content-Length framed, or up to EOF) within timeout.
  RawResponse Read(std::chrono::milliseconds timeout = 10s) {
    RawResponse r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t header_end = std::string::npos;
    std::size_t content_length = std::string::npos;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = buf_.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          r.headers = buf_.substr(0, header_end);
          std::sscanf(r.headers.c_str(), "HTTP/1.1 %d", &r.status);
          auto cl = Lower(r.headers).find("content-length:");
          if (cl != std::string::npos) content_length = std::stoul(r.headers.substr(cl + 15));
        }
      }
      if (header_end != std::string::npos && content_length != std::string::npos &&
          buf_.size() >= header_end + 4 + content_length) {
        r.body = buf_.substr(header_end + 4, content_length);
        buf_.erase(0, header_end + 4 + content_length);
        return r;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return RawResponse{};
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return RawResponse{};
      char chunk[65536];
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        if (header_end != std::string::npos && content_length == std::string::npos) {
          r.body = buf_.substr(header_end + 4);
          return r;
        }
        return RawResponse{};
      }
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // True when the daemon closed the connection (EOF) within timeout.
  bool ClosedByPeer(std::chrono::milliseconds timeout = 10s) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

  RawResponse Call(const std::string& method, const std::string& target,
                   const std::string& body = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
    if (!body.empty() || method == "POST") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n" + body;
    if (!Send(req)) return RawResponse{};
    return Read();
  }

 private:
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  int fd_ = -1;
  int error_ = 0;
  std::string buf_;
};

std::string Message(const RawResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("message") && j["message"].is_string()
             ? j["message"].get<std::string>()
             : "";
}

std::string CreateBody(const std::string& name, std::string_view payload) {
  return nlohmann::json{{"Name", name},
                        {"Data", Base64Encode(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                              payload.size())}}
      .dump();
}

// Runs fn in a child process as uid:gid (no supplementary groups); the child's exit
// code is fn's result. Used to be "another user" on the socket.
int RunAsUser(uid_t uid, gid_t gid, const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(100);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ManagerDaemonTest, ServesHealthWithKeepAlive) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  RawConn c(d.socket_path());
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) {
    RawResponse r = c.Call("GET", "/v1/health");
    EXPECT_EQ(r.status, 200) << "request " << i << " on one connection";
    EXPECT_EQ(r.body, R"({"Locked":false,"Status":"ok","Store":"sqlite","Version":"0.1.0"})");
  }
}

TEST(ManagerDaemonTest, SocketIsMode0660) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  struct stat st {};
  ASSERT_EQ(::lstat(d.socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
}

TEST(ManagerDaemonTest, BadClientsGet4xxAndOthersAreServedMeanwhile) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();

  // A slow client holds a half-sent request open the whole time.
  RawConn slow(d.socket_path());
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE(slow.Send("POST /v1/secrets HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"Na"));

  struct Case {
    const char* description;
    std::string bytes;
    int status;
  };
  const std::vector<Case> cases = {
      {"garbage request line", "BLAH BLAH BLAH\r\n\r\n", 400},
      {"bad header syntax", "GET /v1/health HTTP/1.1\r\nNo colon here\r\n\r\n", 400},
      {"malformed JSON", "POST /v1/secrets HTTP/1.1\r\nContent-Length: 5\r\n\r\n{nope", 400},
      {"JSON of the wrong shape",
       "POST /v1/leases HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]", 400},
      {"declared body over 1 MiB",
       "POST /v1/secrets HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n{", 413},
      {"headers over 16 KiB",
       "GET /v1/health HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 431},
      {"unknown route", "GET /v1/nothing HTTP/1.1\r\n\r\n", 404},
      {"wrong method", "PATCH /v1/secrets HTTP/1.1\r\n\r\n", 405},
  };
  for (const auto& c : cases) {
    RawConn bad(d.socket_path());
    ASSERT_TRUE(bad.ok()) << c.description;
    bad.Send(c.bytes);
    RawResponse r = bad.Read();
    EXPECT_EQ(r.status, c.status) << c.description << ": " << r.headers;
    EXPECT_FALSE(Message(r).empty()) << c.description << ": " << r.body;

    RawConn good(d.socket_path());
    RawResponse h = good.Call("GET", "/v1/health");
    EXPECT_EQ(h.status, 200) << "served right after: " << c.description;
  }
  // A body that turns out bigger than 1 MiB while streaming (chunked) is refused too.
  RawConn chunked(d.socket_path());
  std::string req = "POST /v1/secrets HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  chunked.Send(req);
  std::string chunk(64 * 1024, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
  for (int i = 0; i < 20; ++i) {
    if (!chunked.Send(size_line + chunk + "\r\n")) break;
  }
  EXPECT_EQ(chunked.Read().status, 413);

  // After a malformed request the daemon closes that connection.
  RawConn closed(d.socket_path());
  closed.Send("NOT HTTP\r\n\r\n");
  EXPECT_EQ(closed.Read().status, 400);
  EXPECT_TRUE(closed.ClosedByPeer());

  // The slow client did not block anyone, and nothing was created.
  RawConn good(d.socket_path());
  RawResponse list = good.Call("GET", "/v1/secrets");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body, "[]");
}

TEST(ManagerDaemonTest, NonAdminCallerGets403) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  ::chmod(d.dir().path().c_str(), 0711);
  // The socket's 0660 keeps others out before any HTTP.
  int rc = RunAsUser(65534, 65534, [&] {
    RawConn c(d.socket_path());
    return c.ok() ? 1 : (c.error() == EACCES ? 0 : 2);
  });
  EXPECT_EQ(rc, 0) << "connect as nobody must fail with EACCES";

  // With the socket opened up, the peer credentials still say no.
  ASSERT_EQ(::chmod(d.socket_path().c_str(), 0666), 0);
  rc = RunAsUser(65534, 65534, [&] {
    RawConn c(d.socket_path());
    if (!c.ok()) return 10;
    RawResponse r = c.Call("POST", "/v1/secrets", CreateBody("x", "y"));
    if (r.status != 403) return 11;
    if (Message(r).find("permission denied: uid 65534 is not root") != 0) return 12;
    return 0;
  });
  EXPECT_EQ(rc, 0);
  RawConn root(d.socket_path());
  EXPECT_EQ(root.Call("GET", "/v1/secrets").body, "[]") << "nothing was created";
}

TEST(ManagerDaemonTest, AdminGroupMemberIsAllowedAndOwnsTheSocket) {
  struct group* g = ::getgrnam("nogroup");
  ASSERT_NE(g, nullptr) << "no group 'nogroup': Debian's base-passwd makes it on every system";
  gid_t gid = g->gr_gid;
  Daemon d(Daemon::Options{{"--admin-group", "nogroup"}, {}});
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  ::chmod(d.dir().path().c_str(), 0711);
  struct stat st {};
  ASSERT_EQ(::lstat(d.socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, gid);
  int rc = RunAsUser(65534, gid, [&] {
    RawConn c(d.socket_path());
    if (!c.ok()) return 10;
    return c.Call("GET", "/v1/health").status == 200 ? 0 : 11;
  });
  EXPECT_EQ(rc, 0);
}

TEST(ManagerDaemonTest, UnknownAdminGroupIsRefusedAtStart) {
  TempDir dir;
  CommandResult r =
      RunCommand({itest::BinPath("oci-secretsd"), "--state-dir", dir.File("s"), "--socket",
                  dir.File("m.sock"), "--admin-group", "no-such-group-ocs"},
                 {}, {}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("admin group no-such-group-ocs does not exist"), std::string::npos) << r.err;
}

TEST(ManagerDaemonTest, SecondDaemonOnTheSameStateDirIsRefused) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  CommandResult r = RunCommand({itest::BinPath("oci-secretsd"), "--state-dir", d.state_dir(),
                                "--socket", d.dir().File("other.sock")},
                               {}, {}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("in use by another oci-secretsd"), std::string::npos) << r.err;
  EXPECT_EQ(::access(d.dir().File("other.sock").c_str(), F_OK), -1) << "no socket left behind";
  RawConn c(d.socket_path());
  EXPECT_EQ(c.Call("GET", "/v1/health").status, 200) << "the first one still serves";
}

TEST(ManagerDaemonTest, SecondDaemonOnTheSameSocketIsRefused) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  TempDir other;
  CommandResult r = RunCommand(
      {itest::BinPath("oci-secretsd"), "--state-dir", other.File("s"), "--socket", d.socket_path()},
      {}, {}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("already serving on"), std::string::npos) << r.err;
  RawConn c(d.socket_path());
  EXPECT_EQ(c.Call("GET", "/v1/health").status, 200);
}

TEST(ManagerDaemonTest, RefusesUnusableSocketPaths) {
  TempDir dir;
  std::string not_socket = dir.WriteFile("file", "keep me");
  struct Case {
    const char* description;
    std::string socket;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"path of 108 bytes or more", dir.File(std::string(120, 's')), "shorter than 108 bytes"},
      {"a regular file", not_socket, "exists and is not a socket"},
      {"relative path", "rel.sock", "must be absolute"},
  };
  for (const auto& c : cases) {
    CommandResult r = RunCommand(
        {itest::BinPath("oci-secretsd"), "--state-dir", dir.File("s"), "--socket", c.socket}, {},
        {}, 30s);
    EXPECT_EQ(r.exit_code, 1) << c.description << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.description << ": " << r.err;
  }
  std::ifstream kept(not_socket);
  std::string content((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "keep me");
}

TEST(ManagerDaemonTest, RefusesAStateDirThatIsAFile) {
  TempDir dir;
  std::string file = dir.WriteFile("state", "x");
  CommandResult r = RunCommand(
      {itest::BinPath("oci-secretsd"), "--state-dir", file, "--socket", dir.File("m.sock")}, {}, {},
      30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot start"), std::string::npos) << r.err;
  EXPECT_EQ(::access(dir.File("m.sock").c_str(), F_OK), -1);
}

TEST(ManagerDaemonTest, ReplacesAStaleSocket) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  d.Kill();
  struct stat st {};
  ASSERT_EQ(::lstat(d.socket_path().c_str(), &st), 0) << "kill -9 leaves the socket behind";
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  EXPECT_NE(d.Log().find("removed stale socket"), std::string::npos) << d.Log();
}

TEST(ManagerDaemonTest, CreatesTheSocketDirAndStopsOnSigterm) {
  TempDir dir;
  std::string sock = dir.File("run/ocs/m.sock");
  pid_t pid = fork();
  if (pid == 0) {
    std::string bin = itest::BinPath("oci-secretsd");
    std::string state = dir.File("s");
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    ::execl(bin.c_str(), bin.c_str(), "--state-dir", state.c_str(), "--socket", sock.c_str(),
            static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    RawConn c(sock);
    up = c.ok() && c.Call("GET", "/v1/health").status == 200;
    if (!up) std::this_thread::sleep_for(100ms);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(up);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("run/ocs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(::access(sock.c_str(), F_OK), -1) << "socket removed at exit";
}

TEST(ManagerDaemonTest, SigtermExitsZeroAndRemovesTheSocket) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  RawConn idle(d.socket_path());  // an idle keep-alive connection must not hold it up
  ASSERT_TRUE(idle.ok());
  ASSERT_EQ(idle.Call("GET", "/v1/health").status, 200);
  EXPECT_EQ(d.Stop(), 0) << d.Log();
  EXPECT_EQ(::access(d.socket_path().c_str(), F_OK), -1);
  EXPECT_NE(d.Log().find("stopped"), std::string::npos) << d.Log();
}

TEST(ManagerDaemonTest, EverythingSurvivesARestartAndLeasesAreRecorded) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  {
    RawConn c(d.socket_path());
    ASSERT_EQ(c.Call("POST", "/v1/secrets", CreateBody("pw", "hunter2")).status, 201);
    ASSERT_EQ(c.Call("POST", "/v1/services",
                     R"({"Name":"redis","Secrets":[{"SecretName":"pw"}]})").status, 201);
    ASSERT_EQ(c.Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})").status,
              200);
  }
  ASSERT_EQ(d.Stop(), 0);
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  RawConn c(d.socket_path());
  RawResponse svc = c.Call("GET", "/v1/services/redis");
  ASSERT_EQ(svc.status, 200);
  auto service = ParseService(svc.body);
  ASSERT_TRUE(service.ok()) << svc.body;
  ASSERT_EQ(service->leases.size(), 1u) << svc.body;
  EXPECT_EQ(service->leases[0].container_id, "c1");
  RawResponse lease = c.Call("POST", "/v1/leases", R"({"ContainerID":"c2","Service":"redis"})");
  ASSERT_EQ(lease.status, 200);
  auto grant = ParseLeaseGrant(lease.body);
  ASSERT_TRUE(grant.ok());
  ASSERT_EQ(grant->files.size(), 1u);
  EXPECT_EQ(std::string(grant->files[0].data.begin(), grant->files[0].data.end()), "hunter2");
  EXPECT_EQ(c.Call("DELETE", "/v1/leases/c1").status, 204);
  EXPECT_EQ(c.Call("DELETE", "/v1/leases/c1").status, 204);
}

TEST(ManagerDaemonTest, ExpiredLeasesDisappear) {
  Daemon d(Daemon::Options{{"--lease-ttl", "1s"}, {}});
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  RawConn c(d.socket_path());
  ASSERT_EQ(c.Call("POST", "/v1/services", R"({"Name":"web"})").status, 201);
  ASSERT_EQ(c.Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"web"})").status, 200);
  // Poll (no fixed sleep): the lease must be gone once its TTL has passed.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    auto svc = ParseService(c.Call("GET", "/v1/services/web").body);
    gone = svc.ok() && svc->leases.empty();
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone);
}

TEST(ManagerDaemonTest, KillDuringCreatesLosesNothingReportedDone) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> done;  // name, payload: got 201
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  auto writer = [&](int w) {
    RawConn c(d.socket_path());
    for (int i = 0; !stop && c.ok(); ++i) {
      std::string name = "s" + std::to_string(w) + "_" + std::to_string(i);
      std::string payload = "payload-of-" + name;
      RawResponse r = c.Call("POST", "/v1/secrets", CreateBody(name, payload));
      if (r.status != 201) break;  // the daemon died under us
      std::lock_guard<std::mutex> lock(mu);
      done.emplace_back(name, payload);
      ++created;
    }
  };
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) writers.emplace_back(writer, w);
  while (created < 30) std::this_thread::sleep_for(5ms);
  d.Kill();
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_GE(done.size(), 30u);

  ASSERT_TRUE(d.Start().ok()) << d.Log();
  RawConn c(d.socket_path());
  auto list = ParseSecretList(c.Call("GET", "/v1/secrets").body);
  ASSERT_TRUE(list.ok());
  std::set<std::string> listed;
  for (const auto& s : *list) listed.insert(s.spec.name);
  // Every secret there is whole: grant all of them, in services of at most
  // kMaxServiceSecrets each, and lease each service.
  std::map<std::string, std::string> data;
  for (std::size_t first = 0, n = 0; first < list->size(); first += kMaxServiceSecrets, ++n) {
    nlohmann::json refs = nlohmann::json::array();
    for (std::size_t i = first; i < std::min(list->size(), first + kMaxServiceSecrets); ++i) {
      refs.push_back({{"SecretName", (*list)[i].spec.name}});
    }
    const std::string service = "all" + std::to_string(n);
    ASSERT_EQ(c.Call("POST", "/v1/services",
                     nlohmann::json{{"Name", service}, {"Secrets", refs}}.dump()).status, 201);
    RawResponse lease = c.Call("POST", "/v1/leases",
                               nlohmann::json{{"ContainerID", "c" + std::to_string(n)},
                                              {"Service", service}}.dump());
    ASSERT_EQ(lease.status, 200) << lease.body;
    auto grant = ParseLeaseGrant(lease.body);
    ASSERT_TRUE(grant.ok());
    for (const auto& f : grant->files) data[f.name] = std::string(f.data.begin(), f.data.end());
  }
  for (const auto& [name, payload] : done) {
    EXPECT_TRUE(listed.count(name)) << name << " was reported created but is gone";
    EXPECT_EQ(data[name], payload) << name;
  }
  for (const auto& [name, payload] : data) {
    EXPECT_EQ(payload, "payload-of-" + name) << "a listed secret holds the wrong data";
  }
}

TEST(ManagerDaemonTest, StateDirAndAuditLogNeverHoldAPayload) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  const std::string marker = "MARKER-7d3c9a1e-payload";
  std::string b64 = Base64Encode(reinterpret_cast<const std::uint8_t*>(marker.data()), marker.size());
  {
    RawConn c(d.socket_path());
    ASSERT_EQ(c.Call("POST", "/v1/secrets", CreateBody("pw", marker)).status, 201);
    ASSERT_EQ(c.Call("POST", "/v1/services",
                     R"({"Name":"redis","Secrets":[{"SecretName":"pw"}]})").status, 201);
    RawResponse lease = c.Call("POST", "/v1/leases", R"({"ContainerID":"c1","Service":"redis"})");
    ASSERT_EQ(lease.status, 200);
    ASSERT_NE(lease.body.find(b64), std::string::npos) << "the lease does carry the payload";
  }
  ASSERT_EQ(d.Stop(), 0);
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(d.state_dir())) {
    if (!e.is_regular_file()) continue;
    ++files;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(marker), std::string::npos) << e.path();
    EXPECT_EQ(bytes.find(b64), std::string::npos) << e.path();
  }
  EXPECT_GE(files, 3) << "store, root key, audit log at least";
  EXPECT_EQ(d.Log().find(marker), std::string::npos);

  std::string audit_path = d.state_dir() + "/audit.log";
  struct stat st {};
  ASSERT_EQ(::stat(audit_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(audit_path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[2].find(R"("action":"lease.create")"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find(R"("container":"c1")"), std::string::npos) << lines[2];
  for (const auto& line : lines) {
    EXPECT_TRUE(nlohmann::json::parse(line, nullptr, false).is_object()) << line;
  }
}

// The pid of the process serving on `socket`, from the kernel (SO_PEERCRED); -1 if none.
pid_t ServerPid(const std::string& socket) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
  pid_t pid = -1;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    pid = cred.pid;
  }
  ::close(fd);
  return pid;
}

// The value of "KEY:\tVALUE" in /proc/PID/status; "" when absent.
std::string ProcStatusField(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(key + ":")) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "";
}

// Requests are handled under the manager's seccomp filter: the daemon's own status says
// "Seccomp: 2" (filter mode) with no_new_privs, after it has served real requests. What
// the filter stops is SandboxTest.ManagerFilterStopsExecMountAndNamespacesButKeepsThreads.
TEST(ManagerDaemonTest, ServesUnderTheSyscallFilter) {
  Daemon d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  RawConn c(d.socket_path());
  ASSERT_TRUE(c.ok());
  RawResponse created =
      c.Call("POST", "/v1/secrets", CreateBody("filtered", "OCS-MARKER-seccomp-daemon"));
  EXPECT_EQ(created.status, 201) << created.body;
  RawResponse list = c.Call("GET", "/v1/secrets");
  EXPECT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("filtered"), std::string::npos) << list.body;
  pid_t pid = ServerPid(d.socket_path());
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ProcStatusField(pid, "Seccomp"), "2") << "pid " << pid;
  EXPECT_EQ(ProcStatusField(pid, "NoNewPrivs"), "1") << "pid " << pid;
  // Every thread, also those started after the filter (TSYNC and inheritance).
  std::error_code ec;
  int threads = 0;
  for (const auto& t : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/task", ec)) {
    ++threads;
    std::ifstream in(t.path() / "status");
    std::string line;
    bool filtered = false;
    while (std::getline(in, line)) filtered = filtered || line == "Seccomp:\t2";
    EXPECT_TRUE(filtered) << t.path();
  }
  EXPECT_GT(threads, 1) << "the server runs threads";
  EXPECT_NE(d.Log().find("seccomp on"), std::string::npos) << d.Log();
}

TEST(ManagerDaemonTest, NoSeccompServesWithoutTheFilterAndSaysSo) {
  Daemon d(Daemon::Options{{"--no-seccomp"}, {}});
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  pid_t pid = ServerPid(d.socket_path());
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ProcStatusField(pid, "Seccomp"), "0");
  EXPECT_NE(d.Log().find("--no-seccomp: serving without the syscall filter"), std::string::npos)
      << d.Log();
  CommandResult help = RunCommand({itest::BinPath("oci-secretsd"), "--help"}, {}, {}, 30s);
  EXPECT_NE(help.out.find("--no-seccomp"), std::string::npos) << help.out;
}

TEST(ManagerDaemonTest, HelpTeaches) {
  CommandResult r = RunCommand({itest::BinPath("oci-secretsd"), "--help"}, {}, {}, 30s);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--state-dir", "--socket", "--admin-group", "--lease-ttl",
                           "--audit-log", "--threads", "Examples"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
  CommandResult bad = RunCommand({itest::BinPath("oci-secretsd"), "--lease-ttl", "soon"}, {}, {}, 30s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--lease-ttl"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ocisecrets
