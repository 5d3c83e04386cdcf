// ApiClient against a fake Transport: the requests it builds and how it reads answers.
#include "shared/api_client.h"

#include <gtest/gtest.h>

#include <deque>

namespace ocisecrets {
namespace {

// Records each request and answers from a queue of canned responses.
class FakeTransport : public Transport {
 public:
  FakeTransport(std::vector<HttpRequest>* seen, std::deque<Result<HttpResponse>> answers)
      : seen_(seen), answers_(std::move(answers)) {}
  Result<HttpResponse> RoundTrip(const HttpRequest& req,
                                 std::chrono::steady_clock::time_point) override {
    seen_->push_back(req);
    if (answers_.empty()) return Status::Internal("no canned answer");
    auto a = std::move(answers_.front());
    answers_.pop_front();
    return a;
  }

 private:
  std::vector<HttpRequest>* seen_;
  std::deque<Result<HttpResponse>> answers_;
};

struct Fixture {
  std::vector<HttpRequest> seen;
  ApiClient client;
  explicit Fixture(std::deque<Result<HttpResponse>> answers)
      : client(std::make_unique<FakeTransport>(&seen, std::move(answers)),
               std::chrono::milliseconds(1000)) {}
};

HttpResponse Answer(int status, std::string body) { return HttpResponse{status, std::move(body)}; }

constexpr char kSecretJson[] =
    R"({"ID":"abcdefghijklmnopqrstuvwxy","Version":{"Index":3},)"
    R"("CreatedAt":"2026-11-29T23:41:07.123456789Z","UpdatedAt":"2026-11-29T23:41:07.123456789Z",)"
    R"("Spec":{"Name":"redis_password","Labels":{"env":"prod"},"Driver":null}})";

TEST(ApiClientTest, CreateSecretPostsBase64AndReturnsTheId) {
  Fixture f({Answer(201, R"({"ID":"abcdefghijklmnopqrstuvwxy"})")});
  SecretCreateRequest req;
  req.spec.name = "redis_password";
  req.spec.labels["env"] = "prod";
  req.data = SecretBytes{'p', 'w'};
  auto id = f.client.CreateSecret(req);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, "abcdefghijklmnopqrstuvwxy");
  ASSERT_EQ(f.seen.size(), 1u);
  EXPECT_EQ(f.seen[0].method, "POST");
  EXPECT_EQ(f.seen[0].target, "/v1/secrets");
  // The fake keeps a copy of what was sent; ApiClient wiped its own.
  EXPECT_NE(f.seen[0].body.find(R"("Data":"cHc=")"), std::string::npos) << f.seen[0].body;
}

TEST(ApiClientTest, CreateSecretWithoutAnIdInTheAnswerIsDataLoss) {
  Fixture f({Answer(201, R"({"id":"lowercase"})")});
  auto id = f.client.CreateSecret(SecretCreateRequest{});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kDataLoss);
}

TEST(ApiClientTest, ListSecretsSendsFiltersAsQuery) {
  Fixture f({Answer(200, std::string("[") + kSecretJson + "]")});
  auto list = f.client.ListSecrets({"name=redis_password", "label=env=prod", "label=a&b"});
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].spec.name, "redis_password");
  EXPECT_EQ((*list)[0].version, 3u);
  EXPECT_EQ(f.seen[0].target, "/v1/secrets?name=redis_password&label=env=prod&label=a%26b");
}

TEST(ApiClientTest, ListSecretsRefusesAFilterWithoutEquals) {
  Fixture f({});
  auto list = f.client.ListSecrets({"name"});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(f.seen.empty());
}

TEST(ApiClientTest, InspectEscapesTheNameInThePath) {
  Fixture f({Answer(404, R"({"message":"secret a/b not found"})")});
  auto s = f.client.InspectSecret("a/b");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.status().message(), "secret a/b not found");
  EXPECT_EQ(f.seen[0].target, "/v1/secrets/a%2Fb");
}

TEST(ApiClientTest, UpdateSecretSendsTheVersion) {
  Fixture f({Answer(200, "{}")});
  SecretSpec spec{"redis_password", {{"env", "dev"}}};
  ASSERT_TRUE(f.client.UpdateSecret("redis_password", 7, spec).ok());
  EXPECT_EQ(f.seen[0].method, "POST");
  EXPECT_EQ(f.seen[0].target, "/v1/secrets/redis_password/update?version=7");
  EXPECT_NE(f.seen[0].body.find(R"("env":"dev")"), std::string::npos);
}

TEST(ApiClientTest, RemoveSecretInUseCarriesDockersMessage) {
  Fixture f({Answer(409, R"({"message":"secret 'x' is in use by the following service: redis"})")});
  Status s = f.client.RemoveSecret("x");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "secret 'x' is in use by the following service: redis");
  EXPECT_EQ(f.seen[0].method, "DELETE");
  EXPECT_EQ(f.seen[0].target, "/v1/secrets/x");
}

TEST(ApiClientTest, ServiceCallsUseTheServicePaths) {
  Fixture f({Answer(201, R"({"ID":"svc0000000000000000000001"})"),
             Answer(200, R"([{"ID":"svc0000000000000000000001","Version":{"Index":1},)"
                         R"("Spec":{"Name":"redis","Secrets":[]}}])"),
             Answer(200, "{}"), Answer(204, "")});
  ServiceSpec spec;
  spec.name = "redis";
  spec.secrets.push_back({"", "tls_cert", {"server.pem", 999, 999, 0400}});
  auto id = f.client.CreateService(spec);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_NE(f.seen[0].body.find(R"("UID":"999")"), std::string::npos) << f.seen[0].body;
  EXPECT_NE(f.seen[0].body.find(R"("Mode":256)"), std::string::npos) << f.seen[0].body;
  auto list = f.client.ListServices();
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ((*list)[0].spec.name, "redis");
  ASSERT_TRUE(f.client.UpdateService("redis", 1, spec).ok());
  ASSERT_TRUE(f.client.RemoveService("redis").ok());
  ASSERT_EQ(f.seen.size(), 4u);
  EXPECT_EQ(f.seen[1].target, "/v1/services");
  EXPECT_EQ(f.seen[2].target, "/v1/services/redis/update?version=1");
  EXPECT_EQ(f.seen[3].method, "DELETE");
  EXPECT_EQ(f.seen[3].target, "/v1/services/redis");
}

TEST(ApiClientTest, LeaseDecodesTheFiles) {
  Fixture f({Answer(200, R"({"ContainerID":"c1","Service":"redis","SecretsDir":"/run/secrets",)"
                         R"("ExpiresAt":"2026-11-30T23:41:07Z","Files":[{"Name":"pw","UID":0,)"
                         R"("GID":0,"Mode":292,"Data":"cHc="}]})")});
  auto g = f.client.Lease({"c1", "redis"});
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->files.size(), 1u);
  EXPECT_EQ(g->files[0].name, "pw");
  EXPECT_EQ(g->files[0].mode, 0444u);
  EXPECT_EQ(std::string(g->files[0].data.begin(), g->files[0].data.end()), "pw");
  EXPECT_EQ(f.seen[0].target, "/v1/leases");
}

TEST(ApiClientTest, MalformedLeaseIsDataLoss) {
  Fixture f({Answer(200, R"({"ContainerID":"c1","Files":[{"Name":"pw","Data":"!!"}]})")});
  auto g = f.client.Lease({"c1", "redis"});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kDataLoss);
}

TEST(ApiClientTest, EndLeaseIsIdempotent) {
  Fixture f({Answer(204, ""), Answer(404, R"({"message":"no lease"})")});
  EXPECT_TRUE(f.client.EndLease("c1").ok());
  EXPECT_TRUE(f.client.EndLease("c1").ok());
  EXPECT_EQ(f.seen[0].target, "/v1/leases/c1");
}

TEST(ApiClientTest, TransportErrorsPassThrough) {
  Fixture f({Status::Unavailable("cannot reach the manager at unix:///x: No such file")});
  auto h = f.client.Health();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(h.status().message(), "cannot reach the manager at unix:///x: No such file");
}

}  // namespace
}  // namespace ocisecrets
