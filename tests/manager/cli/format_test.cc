#include "manager/cli/format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ocisecrets {
namespace {

using namespace std::chrono_literals;

TEST(HumanDurationTest, MatchesDockersWording) {
  struct Case {
    std::chrono::nanoseconds d;
    const char* want;
  } cases[] = {
      {-5s, "Less than a second"},
      {0s, "Less than a second"},
      {999ms, "Less than a second"},
      {1s, "1 second"},
      {59s, "59 seconds"},
      {60s, "About a minute"},
      {119s, "About a minute"},
      {3min, "3 minutes"},
      {59min, "59 minutes"},
      {60min, "About an hour"},
      {89min, "About an hour"},
      {90min, "2 hours"},
      {47h, "47 hours"},
      {48h, "2 days"},
      {13 * 24h, "13 days"},
      {14 * 24h, "2 weeks"},
      {59 * 24h, "8 weeks"},
      {60 * 24h, "2 months"},
      {729 * 24h, "24 months"},
      {730 * 24h, "2 years"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HumanDuration(c.d), c.want) << "duration " << c.d.count() << " ns";
  }
}

TEST(FormatTableTest, PadsColumnsLikeDockersTabwriter) {
  std::string t = FormatTable({{"ID", "NAME", "DRIVER", "CREATED"},
                               {"abcdefghijklmnopqrstuvwxy", "pw", "", "3 minutes ago"}});
  EXPECT_EQ(t,
            "ID                          NAME      DRIVER    CREATED\n"
            "abcdefghijklmnopqrstuvwxy   pw                  3 minutes ago\n");
}

TEST(SecretsTableTest, ShowsAgesAndAnEmptyDriver) {
  TimePoint now = TimePoint(std::chrono::seconds(1800000000));
  Secret s;
  s.id = "abcdefghijklmnopqrstuvwxy";
  s.spec.name = "redis_password";
  s.created_at = now - 2 * 24h;
  s.updated_at = now - 3min;
  EXPECT_EQ(SecretsTable({s}, now),
            "ID                          NAME             DRIVER    CREATED      UPDATED\n"
            "abcdefghijklmnopqrstuvwxy   redis_password             2 days ago   3 minutes ago\n");
}

TEST(SecretsTableTest, EmptyListIsJustTheHeader) {
  EXPECT_EQ(SecretsTable({}, TimePoint{}), "ID        NAME      DRIVER    CREATED   UPDATED\n");
}

TEST(InspectJsonTest, SecretsUseDockersKeyOrderAndIndent) {
  Secret s;
  s.id = "abcdefghijklmnopqrstuvwxy";
  s.version = 11;
  s.created_at = TimePoint(std::chrono::seconds(1800000000)) + 5ns;
  s.updated_at = s.created_at;
  s.spec.name = "pw";
  s.spec.labels["env"] = "prod";
  EXPECT_EQ(InspectSecretsJson({s}),
            "[\n"
            "    {\n"
            "        \"ID\": \"abcdefghijklmnopqrstuvwxy\",\n"
            "        \"Version\": {\n"
            "            \"Index\": 11\n"
            "        },\n"
            "        \"CreatedAt\": \"2027-01-15T08:00:00.000000005Z\",\n"
            "        \"UpdatedAt\": \"2027-01-15T08:00:00.000000005Z\",\n"
            "        \"DataVersion\": {\n"
            "            \"Index\": 1,\n"
            "            \"UpdatedAt\": \"2027-01-15T08:00:00.000000005Z\"\n"
            "        },\n"
            "        \"Spec\": {\n"
            "            \"Name\": \"pw\",\n"
            "            \"Labels\": {\n"
            "                \"env\": \"prod\"\n"
            "            }\n"
            "        }\n"
            "    }\n"
            "]\n");
  EXPECT_EQ(InspectSecretsJson({}), "[]\n");
}

TEST(InspectJsonTest, ServicesShowFilesWithDockersStringIds) {
  Service svc;
  svc.id = "svc";
  svc.spec.name = "redis";
  svc.spec.secrets.push_back({"sid", "tls_cert", {"server.pem", 999, 998, 0400}});
  std::string j = InspectServicesJson({svc});
  EXPECT_NE(j.find("\"UID\": \"999\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"GID\": \"998\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"Mode\": 256"), std::string::npos) << j;
  EXPECT_NE(j.find("\"SecretName\": \"tls_cert\""), std::string::npos) << j;
}

// Where the files go, also when the service names no dir: the default is shown as such,
// and Spec keeps exactly what the user gave.
TEST(InspectJsonTest, ServicesShowTheSecretsDirActuallyUsed) {
  Service dflt;
  dflt.spec.name = "redis";
  Service own;
  own.spec.name = "web";
  own.spec.secrets_dir = "/etc/web/secrets";
  nlohmann::json j = nlohmann::json::parse(InspectServicesJson({dflt, own}));
  EXPECT_EQ(j[0]["Spec"]["SecretsDir"], "");
  EXPECT_EQ(j[0]["EffectiveSecretsDir"], "/run/secrets");
  EXPECT_EQ(j[0]["SecretsDirIsDefault"], true);
  EXPECT_EQ(j[1]["Spec"]["SecretsDir"], "/etc/web/secrets");
  EXPECT_EQ(j[1]["EffectiveSecretsDir"], "/etc/web/secrets");
  EXPECT_EQ(j[1]["SecretsDirIsDefault"], false);
}

TEST(JsonLinesTest, OneObjectPerSecret) {
  Secret a, b;
  a.spec.name = "a";
  b.spec.name = "b";
  std::string out = SecretsJsonLines({a, b});
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_EQ(out.rfind("{\"ID\":\"\",\"Name\":\"a\",", 0), 0u) << out;
}

TEST(JsonLinesTest, InvalidUtf8InALabelDoesNotThrow) {
  Secret a;
  a.spec.labels["k"] = "\xff";
  EXPECT_NO_THROW(SecretsJsonLines({a}));
  EXPECT_NO_THROW(InspectSecretsJson({a}));
}

}  // namespace
}  // namespace ocisecrets

namespace ocisecrets {
namespace {

SecretHolder Holder(std::string node, std::string container, std::string secret,
                    std::uint64_t version) {
  SecretHolder h;
  h.node_id = std::move(node);
  h.container_id = std::move(container);
  h.service_name = "db";
  h.secret_name = std::move(secret);
  h.version = version;
  h.since = TimePoint(std::chrono::seconds(1800000000));
  return h;
}
const TimePoint kFiveMinutesLater = TimePoint(std::chrono::seconds(1800000300));

TEST(HoldersTableTest, SecretPsShowsNodeContainerServiceVersionAndSince) {
  EXPECT_EQ(SecretHoldersTable({Holder("n1", "c1", "pw", 3), Holder("n2", "c2", "pw", 0)},
                               kFiveMinutesLater),
            "NODE      CONTAINER   SERVICE   VERSION   SINCE\n"
            "n1        c1          db        3         5 minutes ago\n"
            "n2        c2          db        -         5 minutes ago\n");
}

TEST(HoldersTableTest, ServicePsGroupsAContainersSecretsByName) {
  EXPECT_EQ(ServiceHoldersTable({Holder("n1", "c1", "tls", 1), Holder("n1", "c1", "db_password", 3),
                                 Holder("n2", "c2", "tls", 0)},
                                kFiveMinutesLater),
            "CONTAINER   NODE      SINCE           VERSIONS\n"
            "c1          n1        5 minutes ago   db_password:3 tls:1\n"
            "c2          n2        5 minutes ago   tls:?\n");
}

TEST(RevokeReportTest, CountsContainersAndNodesWhenNoneHoldsItAnyMore) {
  EXPECT_EQ(RevokeReport("pw", {Holder("n1", "c1", "pw", 1), Holder("n1", "c2", "pw", 1),
                                Holder("n2", "c3", "pw", 1)},
                         {}),
            "revoked pw: pulled from 3 containers on 2 nodes\n");
  EXPECT_EQ(RevokeReport("pw", {Holder("n1", "c1", "pw", 1)}, {}),
            "revoked pw: pulled from 1 container on 1 node\n");
}

TEST(RevokeReportTest, ListsWhatStillHoldsIt) {
  EXPECT_EQ(RevokeReport("pw", {Holder("n1", "c1", "pw", 1)}, {Holder("n9", "c9", "pw", 1)}),
            "revoked pw; still held by:\n"
            "NODE      CONTAINER\n"
            "n9        c9\n");
}

TEST(InspectJsonTest, SecretsShowTheDataVersionAndWhenItChangedNeverTheData) {
  Secret s;
  s.id = "id1";
  s.spec.name = "pw";
  s.created_at = TimePoint(std::chrono::seconds(1800000000));
  s.data.index = 4;
  s.data.previous = 3;
  s.data.updated_at = kFiveMinutesLater;
  s.data.revoked_at = kFiveMinutesLater;
  const std::string out = InspectSecretsJson({s});
  EXPECT_NE(out.find(R"("DataVersion": {
            "Index": 4,
            "UpdatedAt": "2027-01-15T08:05:00.000000000Z",
            "Previous": 3,
            "RevokedAt": "2027-01-15T08:05:00.000000000Z"
        },)"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("OverlapUntil"), std::string::npos) << out;
}

}  // namespace
}  // namespace ocisecrets
