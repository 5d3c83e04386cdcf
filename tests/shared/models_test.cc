#include "shared/models.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ocisecrets {
namespace {

TEST(ModelsTest, TimeRoundTripsWithNanoseconds) {
  auto t = ParseTime("2026-11-29T23:41:07.123456789Z");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(FormatTime(*t), "2026-11-29T23:41:07.123456789Z");
}

TEST(ModelsTest, RejectsTimeWithoutZone) {
  EXPECT_FALSE(ParseTime("2026-11-29T23:41:07").ok());
  EXPECT_FALSE(ParseTime("yesterday").ok());
}

// Regression (found by fuzz_models): a year past 2261 overflowed the 64-bit nanosecond
// count (undefined behaviour); sscanf also let signs and blanks through.
TEST(ModelsTest, RejectsTimeOutsideNanosecondRangeOrLayout) {
  struct Case {
    const char* description;
    const char* text;
  } cases[] = {
      {"year 4052 overflows int64 nanoseconds", "4052-11-29T23:41:07Z"},
      {"year 2262 is past the end of TimePoint", "2262-06-01T00:00:00Z"},
      {"year before the epoch", "1969-12-31T23:59:59Z"},
      {"leading blank", " 2026-11-29T23:41:07Z"},
      {"signed field", "+026-11-29T23:41:07Z"},
      {"month 13", "2026-13-29T23:41:07Z"},
      {"hour 24", "2026-11-29T24:41:07Z"},
      {"trailing garbage", "2026-11-29T23:41:07Zx"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(ParseTime(c.text).ok()) << c.description;
  }
  EXPECT_TRUE(ParseTime("2261-12-31T23:59:59.999999999Z").ok());
  EXPECT_TRUE(ParseTime("1970-01-01T00:00:00Z").ok());
}

TEST(ModelsTest, Base64RoundTripsEveryLength) {
  for (int n = 0; n < 70; ++n) {
    std::string raw;
    for (int i = 0; i < n; ++i) raw += static_cast<char>(i * 37 + n);
    std::string enc = Base64Encode(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.ok()) << "length " << n;
    EXPECT_EQ(std::string(dec->begin(), dec->end()), raw) << "length " << n;
  }
}

TEST(ModelsTest, Base64RejectsGarbage) {
  EXPECT_FALSE(Base64Decode("abc").ok());
  EXPECT_FALSE(Base64Decode("ab=c").ok());
  EXPECT_FALSE(Base64Decode("a\nbc").ok());
}

TEST(ModelsTest, ServiceSpecKeepsDockerFileFields) {
  ServiceSpec spec;
  spec.name = "redis";
  spec.secrets.push_back({"id1", "tls_cert", {"server.pem", 999, 999, 0400}});
  auto back = ParseServiceSpec(ToJson(spec));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->secrets.size(), 1u);
  EXPECT_EQ(back->secrets[0].file.uid, 999u);
  EXPECT_EQ(back->secrets[0].file.mode, 0400u);
  EXPECT_NE(ToJson(spec).find("\"UID\":\"999\""), std::string::npos);
}

TEST(ModelsTest, LeaseGrantRoundTripsPayload) {
  LeaseGrant g;
  g.service = "redis";
  g.secrets_dir = "/run/secrets";
  LeasedFile f;
  f.name = "pw";
  f.data = {'h', 'i', 0, 0xff};
  g.files.push_back(f);
  auto back = ParseLeaseGrant(ToJson(g));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->files[0].data, f.data);
}

TEST(ModelsTest, Base64EncodesKnownVectors) {
  // RFC 4648 section 10.
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [raw, want] : cases) {
    std::string r(raw);
    EXPECT_EQ(Base64Encode(reinterpret_cast<const std::uint8_t*>(r.data()), r.size()), want) << raw;
  }
}

// The grant's hand-written JSON must be exactly what the generic serializer writes.
TEST(ModelsTest, LeaseGrantJsonMatchesGenericSerializer) {
  struct Case {
    const char* description;
    std::vector<std::pair<std::string, std::size_t>> files;  // name, payload size
    std::string service;
  };
  const Case cases[] = {
      {"no files", {}, "redis"},
      {"padding of every length", {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4096}}, "svc"},
      {"names that need escaping", {{"q\"uote\\back\ttab", 5}, {"caf\xc3\xa9/nested/x", 7}}, "s\"1"},
      {"invalid UTF-8 is replaced, not thrown", {{"bad\xff", 3}}, "x"},
  };
  for (const Case& c : cases) {
    LeaseGrant g;
    g.container_id = "0123456789abcdef";
    g.service = c.service;
    g.secrets_dir = "/run/secrets";
    g.expires_at = *ParseTime("2026-11-30T00:41:07.5Z");
    nlohmann::json files = nlohmann::json::array();
    for (const auto& [name, size] : c.files) {
      LeasedFile f;
      f.name = name;
      f.uid = 999;
      f.gid = 4294967294u;
      f.mode = 0400;
      for (std::size_t i = 0; i < size; ++i) f.data.push_back(static_cast<std::uint8_t>(i * 31));
      files.push_back({{"Name", f.name}, {"UID", f.uid}, {"GID", f.gid}, {"Mode", f.mode},
                       {"Data", Base64Encode(f.data.data(), f.data.size())}});
      g.files.push_back(std::move(f));
    }
    nlohmann::json want{{"ContainerID", g.container_id}, {"Service", g.service},
                        {"SecretsDir", g.secrets_dir}, {"ExpiresAt", FormatTime(g.expires_at)},
                        {"Files", files}};
    EXPECT_EQ(ToJson(g), want.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        << c.description;
    auto back = ParseLeaseGrant(ToJson(g));
    ASSERT_TRUE(back.ok()) << c.description << ": " << back.status().message();
    EXPECT_EQ(back->files.size(), c.files.size()) << c.description;
  }
}

TEST(ModelsTest, ListsAreWrittenAsTheWholeArraysDump) {
  std::vector<Secret> secrets(3);
  nlohmann::json want = nlohmann::json::array();
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    secrets[i].id = std::string(25, static_cast<char>('a' + i));
    secrets[i].version = i + 7;
    secrets[i].spec.name = "s" + std::to_string(i);
    if (i == 1) secrets[i].spec.labels = {{"env", "prod"}, {"q\"", "v"}};
    want.push_back(nlohmann::json::parse(ToJson(secrets[i])));
  }
  EXPECT_EQ(ToJson(secrets), want.dump());
  EXPECT_EQ(ToJson(std::vector<Secret>{}), "[]");
  auto back = ParseSecretList(ToJson(secrets));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[1].spec.labels.at("env"), "prod");

  std::vector<Service> services(2);
  nlohmann::json want_services = nlohmann::json::array();
  for (std::size_t i = 0; i < services.size(); ++i) {
    services[i].id = std::string(25, static_cast<char>('k' + i));
    services[i].spec.name = "svc" + std::to_string(i);
    want_services.push_back(nlohmann::json::parse(ToJson(services[i])));
  }
  EXPECT_EQ(ToJson(services), want_services.dump());
}

TEST(ModelsTest, ParseErrorsNameTheField) {
  auto r = ParseServiceSpec(R"({"Name":"x","Secrets":[{"File":{"UID":"abc"}}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("UID"), std::string::npos);
  EXPECT_FALSE(ParseLeaseRequest("{not json").ok());
}

}  // namespace
}  // namespace ocisecrets
