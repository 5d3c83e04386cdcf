#include "manager/cli/format.h"

#include <gtest/gtest.h>

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
