// POST /v1/changes: the router's answer over a ChangeFeed (at once, or deferred and
// answered by a Publish or at the deadline), then the real server over a unix socket:
// a held request costs no thread, outlives the server's request and idle deadlines, and
// is answered at once when the server stops.
#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "manager/api/router.h"
#include "manager/api/server.h"
#include "manager/live/change_feed.h"
#include "shared/http_client.h"
#include "tests/manager/memory_kv_store.h"
#include "tests/testing/temp_dir.h"

namespace ocisecrets {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

std::string Body(const std::string& epoch, std::uint64_t since, const std::string& secret,
                 std::uint64_t wait_ms) {
  ChangesRequest r;
  r.epoch = epoch;
  r.since = since;
  r.secrets = {secret};
  r.wait_ms = wait_ms;
  return ToJson(r);
}

ChangesResponse Parsed(const Response& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  auto parsed = ParseChangesResponse(r.body);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message() << ": " << r.body;
  return parsed.ok() ? *parsed : ChangesResponse{};
}

class ChangesRouteTest : public ::testing::Test {
 protected:
  ChangesRouteTest() : registry_(&store_, &sealer_, {}), router_(&registry_, nullptr, {}) {
    admin_.kind = Identity::Kind::kLocalUid;
    admin_.role = Role::kAdmin;
    admin_.node_id = "local";
    node_.kind = Identity::Kind::kCertificate;
    node_.role = Role::kNode;
    node_.node_id = "n1";
    router_.SetChangeFeed(&feed_);
  }
  Response Call(const std::string& body, const Identity* peer = nullptr) {
    return router_.Handle(Request{"POST", "/v1/changes", body}, peer ? *peer : admin_);
  }

  MemoryKvStore store_;
  FakeSealer sealer_;
  Registry registry_;
  Router router_;
  ChangeFeed feed_;
  Identity admin_;
  Identity node_;
};

TEST_F(ChangesRouteTest, WithoutAFeedIs409LiveUpdatesNotServedHere) {
  Router bare(&registry_, nullptr, {});
  Response r = bare.Handle(Request{"POST", "/v1/changes", Body("", 0, "s1", 0)}, admin_);
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find(R"({"message":"live updates are not served here","code":"FailedPrecondition"})"),
            std::string::npos)
      << r.body;
}

TEST_F(ChangesRouteTest, AMalformedBodyIs400) {
  Response r = Call("{");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("malformed JSON"), std::string::npos) << r.body;
}

TEST_F(ChangesRouteTest, AFirstCallIsAnsweredAtOnceWithTheEpochAndRevision) {
  feed_.Publish({"s1"});
  Response r = Call(Body("", 0, "s1", 30'000));
  ASSERT_EQ(r.deferred, nullptr);
  ChangesResponse c = Parsed(r);
  EXPECT_EQ(c.epoch, feed_.epoch());
  EXPECT_EQ(c.revision, 1u);
  EXPECT_FALSE(c.reset);
  EXPECT_TRUE(c.changed.empty());
}

TEST_F(ChangesRouteTest, AKnownChangeOrAResetIsAnsweredAtOnce) {
  feed_.Publish({"s1"});
  Response changed = Call(Body(feed_.epoch(), 0, "s1", 30'000), &node_);
  ASSERT_EQ(changed.deferred, nullptr);
  EXPECT_EQ(Parsed(changed).changed, std::vector<std::string>{"s1"});
  Response reset = Call(Body("anotherepoch0000", 5, "s1", 30'000), &node_);
  ASSERT_EQ(reset.deferred, nullptr);
  EXPECT_TRUE(Parsed(reset).reset);
}

TEST_F(ChangesRouteTest, NothingNewIsHeldAndAnsweredByAPublishFromAnotherThread) {
  Response r = Call(Body(feed_.epoch(), 0, "s1", 30'000), &node_);
  ASSERT_NE(r.deferred, nullptr);
  std::thread publisher([this] {
    std::this_thread::sleep_for(milliseconds(20));
    feed_.Publish({"other"});  // not the caller's: still held
    std::this_thread::sleep_for(milliseconds(20));
    feed_.Publish({"s1"});
  });
  ChangesResponse c = Parsed(AwaitAnswer(std::move(r)));
  publisher.join();
  EXPECT_EQ(c.changed, std::vector<std::string>{"s1"});
  EXPECT_EQ(c.revision, 2u);
  EXPECT_EQ(feed_.subscribers(), 0u);
}

TEST_F(ChangesRouteTest, AHeldRequestIsAnsweredWithNothingChangedAtItsDeadline) {
  Response r = Call(Body(feed_.epoch(), 0, "s1", 20), &node_);
  ASSERT_NE(r.deferred, nullptr);
  ChangesResponse c = Parsed(AwaitAnswer(std::move(r)));
  EXPECT_FALSE(c.reset);
  EXPECT_TRUE(c.changed.empty());
  EXPECT_EQ(c.epoch, feed_.epoch());
  EXPECT_EQ(feed_.subscribers(), 0u);
}

TEST_F(ChangesRouteTest, WaitMsIsCappedAtThirtySeconds) {
  const auto before = Steady::now();
  Response r = Call(Body(feed_.epoch(), 0, "s1", 3'600'000), &node_);
  ASSERT_NE(r.deferred, nullptr);
  EXPECT_LE(r.deferred->deadline, Steady::now() + kMaxChangesWait);
  EXPECT_GT(r.deferred->deadline, before + kMaxChangesWait - std::chrono::seconds(5));
}

TEST_F(ChangesRouteTest, APublishBetweenTheRoutesCheckAndTheWaitIsNotLost) {
  // The route found nothing; the change lands before anyone subscribed, so no wake will
  // come. The waiter subscribes, asks again and answers with the change; falling through
  // to the deadline instead would give the marker below.
  Response r = Call(Body(feed_.epoch(), 0, "s1", 30'000), &node_);
  ASSERT_NE(r.deferred, nullptr);
  feed_.Publish({"s1"});
  r.deferred->deadline = Steady::now() + std::chrono::seconds(2);
  r.deferred->answer = [] { return ErrorResponse(500, "reached the deadline"); };
  Response answer = AwaitAnswer(std::move(r));
  EXPECT_EQ(Parsed(answer).changed, std::vector<std::string>{"s1"});
}

// --- the real server over a unix socket ---

// A raw HTTP client on a unix socket: send a request, read the answer when it comes.
class RawClient {
 public:
  explicit RawClient(const std::string& path) : fd_(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { close(fd_); }
  bool Post(const std::string& body) {
    std::string req = "POST /v1/changes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return connected_ && send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }
  // Whether an answer has begun to arrive within `wait`.
  bool Answered(milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(wait.count())) == 1;
  }
  // What arrived by the deadline (the whole answer of a closed or complete response).
  std::string Read(Steady::time_point deadline) {
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos || !Complete(got)) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Steady::now()).count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) != 1) break;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

 private:
  static bool Complete(const std::string& got) {
    auto head_end = got.find("\r\n\r\n");
    auto cl = got.find("Content-Length: ");
    if (cl == std::string::npos || cl > head_end) return false;
    return got.size() >= head_end + 4 + std::stoul(got.substr(cl + 16));
  }
  int fd_;
  bool connected_ = false;
};

int ThreadsOfThisProcess() {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

class ChangesServerTest : public ChangesRouteTest {
 protected:
  void Start(ServerOptions options) {
    server_ = std::make_unique<Server>(&router_, &authorizer_, options);
    path_ = dir_.path() + "/m.sock";
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(listen(fd, 4096), 0);
    ASSERT_TRUE(server_->AddUnixListener(fd).ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      server_->Stop();
      thread_.join();
    }
  }
  // A held request's body: nothing new for s1, held for wait_ms.
  std::string Held(std::uint64_t wait_ms) { return Body(feed_.epoch(), 0, "s1", wait_ms); }
  static Steady::time_point Soon() { return Steady::now() + std::chrono::seconds(20); }

  testing::TempDir dir_;
  Authorizer authorizer_ = *Authorizer::Open("", "l00000000000000000000000001");
  std::unique_ptr<Server> server_;
  std::string path_;
  std::thread thread_;
};

ServerOptions Small() {
  ServerOptions o;
  o.threads = 2;
  return o;
}

TEST_F(ChangesServerTest, AHeldRequestIsAnsweredByAPublishFromAnotherThread) {
  Start(Small());
  RawClient client(path_);
  ASSERT_TRUE(client.Post(Held(30'000)));
  while (feed_.subscribers() == 0) std::this_thread::sleep_for(milliseconds(1));
  EXPECT_FALSE(client.Answered(milliseconds(0)));
  std::thread([this] { feed_.Publish({"s1"}); }).join();
  std::string got = client.Read(Soon());
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  EXPECT_NE(got.find(R"("Changed":["s1"])"), std::string::npos) << got;
}

TEST_F(ChangesServerTest, AHeldRequestOutlivesTheRequestAndIdleDeadlinesAndEndsAtItsOwn) {
  ServerOptions o = Small();
  o.request_timeout = milliseconds(50);
  o.idle_timeout = milliseconds(50);
  Start(o);
  RawClient client(path_);
  ASSERT_TRUE(client.Post(Held(400)));
  std::string got = client.Read(Soon());
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  EXPECT_NE(got.find(R"("Changed":[])"), std::string::npos) << got;
  EXPECT_NE(got.find(R"("Reset":false)"), std::string::npos) << got;
  EXPECT_EQ(feed_.subscribers(), 0u);
}

TEST_F(ChangesServerTest, StopAnswersHeldRequestsAtOnce) {
  ServerOptions o = Small();
  o.shutdown_grace = std::chrono::seconds(60);  // a stuck request would hold Run this long
  Start(o);
  RawClient client(path_);
  ASSERT_TRUE(client.Post(Held(30'000)));
  while (feed_.subscribers() == 0) std::this_thread::sleep_for(milliseconds(1));
  server_->Stop();
  std::string got = client.Read(Soon());
  thread_.join();
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
  EXPECT_NE(got.find(R"("Changed":[])"), std::string::npos) << got;
}

TEST_F(ChangesServerTest, AThousandHeldRequestsCostNoThreadEachAndAllHearOnePublish) {
  Start(Small());
  constexpr int kClients = 1000;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(path_));
    ASSERT_TRUE(clients.back()->Post(Held(30'000))) << i;
  }
  const auto deadline = Soon();
  while (feed_.subscribers() < static_cast<std::size_t>(kClients) && Steady::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(feed_.subscribers(), static_cast<std::size_t>(kClients));
  // The server's two I/O threads and its small pool, this test's, and no more.
  EXPECT_LT(ThreadsOfThisProcess(), 16);
  feed_.Publish({"s1"});
  int answered = 0;
  for (auto& c : clients) {
    std::string got = c->Read(Soon());
    answered += got.find(R"("Changed":["s1"])") != std::string::npos;
  }
  EXPECT_EQ(answered, kClients);
}

}  // namespace
}  // namespace ocisecrets
