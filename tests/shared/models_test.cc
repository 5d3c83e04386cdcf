#include "shared/models.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

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

TEST(ModelsTest, ServiceConstraintsRoundTripAsSwarmsPlacement) {
  ServiceSpec spec;
  spec.name = "redis";
  spec.constraints = {"node.labels.zone==eu", "node.role!=manager"};
  const std::string text = ToJson(spec);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["Placement"], nlohmann::json::parse(
                                R"({"Constraints":["node.labels.zone==eu","node.role!=manager"]})"))
      << text;
  auto back = ParseServiceSpec(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->constraints, spec.constraints);

  Service service;
  service.id = "svc";
  service.spec = spec;
  auto stored = ParseService(ToJson(service));
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_EQ(stored->spec.constraints, spec.constraints) << "a stored service keeps them";

  spec.constraints.clear();
  EXPECT_EQ(ToJson(spec).find("Placement"), std::string::npos) << "omitted when empty";
}

TEST(ModelsTest, ServiceSpecParsingKeepsConstraintsInCanonicalText) {
  auto spec = ParseServiceSpec(
      R"({"Name":"redis","Placement":{"Constraints":[" node.labels.zone == eu ","NODE.ID!=x"]}})");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->constraints, (std::vector<std::string>{"node.labels.zone==eu", "node.id!=x"}));
  auto none = ParseServiceSpec(R"({"Name":"redis","Placement":{}})");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->constraints.empty());
}

TEST(ModelsTest, ServiceSpecParsingRefusesBadConstraintsWithTheParsersWords) {
  using ::ocisecrets::testing::IsError;
  struct Case {
    const char* description;
    std::string json;
    std::string words;
  };
  const std::vector<Case> cases = {
      {"unknown key", R"({"Name":"redis","Placement":{"Constraints":["node.zone==eu"]}})",
       "constraint \"node.zone==eu\": unknown key node.zone; use node.id, node.hostname, "
       "node.role or node.labels.KEY"},
      {"not a string", R"({"Name":"redis","Placement":{"Constraints":[1]}})",
       "field Placement.Constraints: must be an array of strings"},
      {"not an array", R"({"Name":"redis","Placement":{"Constraints":"node.id==x"}})",
       "field Placement.Constraints: must be an array of strings"},
      {"Placement not an object", R"({"Name":"redis","Placement":[]})",
       "field Placement: must be an object"},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(IsError(ParseServiceSpec(c.json), StatusCode::kInvalidArgument, c.words))
        << c.description;
  }
  std::string many = R"({"Name":"redis","Placement":{"Constraints":[)";
  for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + R"("node.role==manager")";
  many += "]}}";
  EXPECT_TRUE(IsError(ParseServiceSpec(many), StatusCode::kInvalidArgument,
                      "has 33 placement constraints; a service may have at most 32"));
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

// What the DOM serializer wrote for a secret before it was written by hand.
std::string SecretDomDump(const Secret& s) {
  nlohmann::json j{{"ID", s.id},
                   {"DataVersion", {{"Index", s.data.index}, {"UpdatedAt", FormatTime(s.data.updated_at)}}},
                   {"Version", {{"Index", s.version}}},
                   {"CreatedAt", FormatTime(s.created_at)},
                   {"UpdatedAt", FormatTime(s.updated_at)},
                   {"Spec", {{"Name", s.spec.name}, {"Labels", s.spec.labels}, {"Driver", nullptr}}}};
  return j.dump();
}

TEST(ModelsTest, SecretJsonIsTheGenericSerializersAndParsesBack) {
  struct Case {
    const char* description;
    Secret secret;
  };
  std::vector<Case> cases(4);
  cases[0].description = "empty";
  cases[1].description = "typical";
  cases[1].secret.id = "abcdefghijklmnopqrstuvwxy";
  cases[1].secret.version = 18446744073709551615ull;
  cases[1].secret.created_at = *ParseTime("2026-11-29T23:41:07.123456789Z");
  cases[1].secret.updated_at = *ParseTime("2026-11-30T01:00:00Z");
  cases[1].secret.spec.name = "redis_password";
  cases[2].description = "labels that need escaping, sorted";
  cases[2].secret.spec.name = "s";
  cases[2].secret.spec.labels = {{"z", "last"}, {"env", "prod"}, {"q\"k", "v\\al\n"},
                                 {"caf\xc3\xa9", "\xe2\x82\xac"}, {"", ""}};
  cases[3].description = "one label";
  cases[3].secret.spec.labels = {{"k", "v"}};
  std::vector<Secret> all;
  for (const Case& c : cases) {
    EXPECT_EQ(ToJson(c.secret), SecretDomDump(c.secret)) << c.description;
    auto back = ParseSecret(ToJson(c.secret));
    ASSERT_TRUE(back.ok()) << c.description << ": " << back.status().message();
    EXPECT_EQ(back->id, c.secret.id) << c.description;
    EXPECT_EQ(back->version, c.secret.version) << c.description;
    EXPECT_EQ(back->created_at, c.secret.created_at) << c.description;
    EXPECT_EQ(back->updated_at, c.secret.updated_at) << c.description;
    EXPECT_EQ(back->spec.name, c.secret.spec.name) << c.description;
    EXPECT_EQ(back->spec.labels, c.secret.spec.labels) << c.description;
    all.push_back(c.secret);
  }
  auto list = ParseSecretList(ToJson(all));
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ((*list)[i].spec.labels, all[i].spec.labels) << cases[i].description;
    EXPECT_EQ((*list)[i].version, all[i].version) << cases[i].description;
  }
}

// Secrets are read without a DOM when they have the usual shape; every other shape must
// give what the DOM reading gives: the same values, or the same error.
TEST(ModelsTest, SecretParsingAgreesWithTheDomReadingOnOddShapes) {
  struct Case {
    const char* description;
    const char* json;
    const char* error;  // nullptr: parses
    const char* name;   // expected Spec.Name when it parses
    std::uint64_t version;
    std::size_t labels;
  };
  const Case cases[] = {
      {"unknown fields of every type are ignored",
       R"({"X":{"a":[1,{"b":null}]},"Y":[[]],"ID":"i","Z":-1.5,"Spec":{"Name":"n","Driver":{"Name":"d"},"Templating":[1]},"Version":{"Index":3,"Other":[true]}})",
       nullptr, "n", 3, 0},
      {"null fields are left empty", R"({"ID":null,"Version":null,"CreatedAt":null,"Spec":{"Name":null,"Labels":null}})",
       nullptr, "", 0, 0},
      {"no Spec at all", R"({"ID":"i"})", nullptr, "", 0, 0},
      {"a repeated field: the last one wins", R"({"Spec":{"Name":"a","Labels":{"k":"1"}},"Spec":{"Name":"b"}})",
       nullptr, "b", 0, 0},
      {"a repeated label: the last one wins", R"({"Spec":{"Name":"a","Labels":{"k":"1","k":"2","j":"3"}}})",
       nullptr, "a", 0, 2},
      {"empty times are no times", R"({"CreatedAt":"","UpdatedAt":"","Spec":{"Name":"t"}})",
       nullptr, "t", 0, 0},
      {"Spec null", R"({"Spec":null})", "secret: Spec: must be an object", nullptr, 0, 0},
      {"Spec a string", R"({"Spec":"x"})", "secret: Spec: must be an object", nullptr, 0, 0},
      {"ID a number", R"({"ID":5})", "secret: field ID: must be a string", nullptr, 0, 0},
      {"Version an array", R"({"Version":[1]})", "secret: field Version: must be an object",
       nullptr, 0, 0},
      {"negative Index", R"({"Version":{"Index":-1}})",
       "secret: field Index: must be a non-negative integer", nullptr, 0, 0},
      {"a label that is not a string", R"({"Spec":{"Labels":{"k":1}}})",
       "secret: Spec: field Labels: must be an object of strings", nullptr, 0, 0},
      {"a bad time", R"({"CreatedAt":"yesterday"})",
       "secret: field CreatedAt: bad time: want RFC 3339 UTC", nullptr, 0, 0},
      {"an array, not an object", R"([])", "secret: must be an object", nullptr, 0, 0},
      {"malformed", R"({"ID":)", "secret: malformed JSON", nullptr, 0, 0},
      {"canonical form", R"({"CreatedAt":"2026-11-29T23:41:07.000000000Z","ID":"i","Spec":{"Driver":null,"Labels":{"a":"1","b":"2"},"Name":"n"},"UpdatedAt":"2026-11-29T23:41:07.000000000Z","Version":{"Index":18446744073709551615}})",
       nullptr, "n", 18446744073709551615ull, 2},
      {"canonical form, a repeated label", R"({"CreatedAt":"2026-11-29T23:41:07Z","ID":"i","Spec":{"Driver":null,"Labels":{"k":"1","k":"2"},"Name":"n"},"UpdatedAt":"2026-11-29T23:41:07Z","Version":{"Index":0}})",
       nullptr, "n", 0, 1},
      {"canonical form, empty times", R"({"CreatedAt":"","ID":"i","Spec":{"Driver":null,"Labels":{},"Name":"n"},"UpdatedAt":"","Version":{"Index":1}})",
       nullptr, "n", 1, 0},
      {"canonical form but a leading zero", R"({"CreatedAt":"2026-11-29T23:41:07Z","ID":"i","Spec":{"Driver":null,"Labels":{},"Name":"n"},"UpdatedAt":"2026-11-29T23:41:07Z","Version":{"Index":01}})",
       "secret: malformed JSON", nullptr, 0, 0},
      {"canonical form but an Index past 64 bits", R"({"CreatedAt":"2026-11-29T23:41:07Z","ID":"i","Spec":{"Driver":null,"Labels":{},"Name":"n"},"UpdatedAt":"2026-11-29T23:41:07Z","Version":{"Index":18446744073709551616}})",
       "secret: field Index: must be a non-negative integer", nullptr, 0, 0},
      {"canonical form but a bad time", R"({"CreatedAt":"2026-13-29T23:41:07Z","ID":"i","Spec":{"Driver":null,"Labels":{},"Name":"n"},"UpdatedAt":"2026-11-29T23:41:07Z","Version":{"Index":1}})",
       "secret: field CreatedAt: bad time: field out of range", nullptr, 0, 0},
      {"trailing garbage", R"({"ID":"i"} x)", "secret: malformed JSON", nullptr, 0, 0},
  };
  for (const Case& c : cases) {
    auto one = ParseSecret(c.json);
    auto list = ParseSecretList(std::string("[") + c.json + "]");
    if (c.error == nullptr) {
      ASSERT_TRUE(one.ok()) << c.description << ": " << one.status().message();
      EXPECT_EQ(one->spec.name, c.name) << c.description;
      EXPECT_EQ(one->version, c.version) << c.description;
      EXPECT_EQ(one->spec.labels.size(), c.labels) << c.description;
      ASSERT_TRUE(list.ok()) << c.description << ": " << list.status().message();
      ASSERT_EQ(list->size(), 1u) << c.description;
      EXPECT_EQ(list->front().spec.name, c.name) << c.description;
    } else {
      ASSERT_FALSE(one.ok()) << c.description;
      EXPECT_EQ(one.status().message(), c.error) << c.description;
      EXPECT_FALSE(list.ok()) << c.description;
    }
  }
  EXPECT_EQ(ParseSecretList(R"({"ID":"i"})").status().message(), "secret list: must be an array");
  EXPECT_EQ(ParseSecretList(R"([1])").status().message(), "secret list: secret: must be an object");
  EXPECT_TRUE(ParseSecretList("[]").ok());
  EXPECT_TRUE(ParseSecretList(" [ ] ").ok());
  EXPECT_EQ(ParseSecretList("[]x").status().message(), "secret list: malformed JSON");
}

TEST(ModelsTest, LeaseRequestsReadTheSameInEveryForm) {
  struct Case {
    const char* description;
    const char* json;
    const char* error;  // nullptr: parses to container "c1", service "redis"
  };
  const Case cases[] = {
      {"our client's form", R"({"ContainerID":"c1","Service":"redis"})", nullptr},
      {"keys the other way round", R"({"Service":"redis","ContainerID":"c1"})", nullptr},
      {"blanks", R"( { "ContainerID" : "c1" , "Service" : "redis" } )", nullptr},
      {"escapes", R"({"ContainerID":"\u00631","Service":"re\u0064is"})", nullptr},
      {"an extra field", R"({"ContainerID":"c1","Service":"redis","X":[1]})", nullptr},
      {"a repeated field, the last one wins", R"({"ContainerID":"c0","Service":"redis","ContainerID":"c1"})",
       nullptr},
      {"a number", R"({"ContainerID":1,"Service":"redis"})",
       "lease request: field ContainerID: must be a string"},
      {"an array", R"([])", "lease request: must be an object"},
      {"trailing garbage", R"({"ContainerID":"c1","Service":"redis"}x)",
       "lease request: malformed JSON"},
  };
  for (const Case& c : cases) {
    auto r = ParseLeaseRequest(c.json);
    if (c.error == nullptr) {
      ASSERT_TRUE(r.ok()) << c.description << ": " << r.status().message();
      EXPECT_EQ(r->container_id, "c1") << c.description;
      EXPECT_EQ(r->service, "redis") << c.description;
    } else {
      ASSERT_FALSE(r.ok()) << c.description;
      EXPECT_EQ(r.status().message(), c.error) << c.description;
    }
  }
  LeaseRequest req{"c1", "redis"};
  auto back = ParseLeaseRequest(ToJson(req));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->container_id, "c1");
}

// The manager's grant is read without a DOM; every near miss of that form must read as
// the general reader reads it, errors included.
TEST(ModelsTest, LeaseGrantParsingAgreesWithTheDomReadingOnNearMisses) {
  const std::string head = R"({"ContainerID":"c1","ExpiresAt":"2026-11-30T00:41:07Z","Files":[)";
  const std::string tail = R"(],"SecretsDir":"/run/secrets","Service":"redis"})";
  auto file = [](const std::string& data, const std::string& gid, const std::string& mode,
                 const std::string& uid) {
    return R"({"Data":")" + data + R"(","GID":)" + gid + R"(,"Mode":)" + mode +
           R"(,"Name":"pw","UID":)" + uid + "}";
  };
  struct Case {
    const char* description;
    std::string json;
    const char* error;     // nullptr: parses
    std::string payload;   // of the last file, when it parses
    std::uint32_t uid;
  };
  const Case cases[] = {
      {"canonical, two files", head + file("aGk=", "0", "292", "0") + "," +
                                   file("AAD/", "4294967294", "256", "999") + tail,
       nullptr, std::string("\0\0\xff", 3), 999},
      {"canonical, no files", head + tail, nullptr, "", 0},
      {"canonical, empty payload", head + file("", "0", "292", "0") + tail, nullptr, "", 0},
      {"keys in another order", R"({"Service":"redis","Files":[{"UID":7,"Name":"pw","Mode":256,"GID":0,"Data":"aGk="}],"ContainerID":"c1"})",
       nullptr, "hi", 7},
      {"ids as strings", head + file("aGk=", R"("5")", "292", R"("6")") + tail, nullptr, "hi", 6},
      {"an escaped payload", head + file(R"(aG\u0073=)", "0", "292", "0") + tail, nullptr, "hk", 0},
      {"a payload that is not base64", head + file("a*k=", "0", "292", "0") + tail,
       "lease: Files: Data: invalid base64: bad character", "", 0},
      {"a payload of a bad length", head + file("aGk", "0", "292", "0") + tail,
       "lease: Files: Data: invalid base64: length", "", 0},
      {"padding in the middle", head + file("aG==aGk=", "0", "292", "0") + tail,
       "lease: Files: Data: invalid base64: bad character", "", 0},
      {"a uid past 2^32 - 2", head + file("aGk=", "0", "292", "4294967295") + tail,
       "lease: Files: field UID: out of range", "", 0},
      {"a mode past 07777", head + file("aGk=", "0", "4096", "0") + tail,
       "lease: Files: field Mode: out of range", "", 0},
      {"a negative gid", head + file("aGk=", "-1", "292", "0") + tail,
       "lease: Files: field GID: must be a decimal id", "", 0},
      {"a bad expiry", R"({"ContainerID":"c1","ExpiresAt":"2026-13-30T00:41:07Z","Files":[],"SecretsDir":"","Service":"s"})",
       "lease: field ExpiresAt: bad time: field out of range", "", 0},
      {"an unterminated payload", head + R"({"Data":"aGk=)", "lease: malformed JSON", "", 0},
      {"trailing garbage", head + tail + "x", "lease: malformed JSON", "", 0},
      {"Files not an array", R"({"ContainerID":"c1","Files":{}})", "lease: field Files: must be an array", "", 0},
      {"a file without Data", head + R"({"Name":"pw"})" + tail,
       "lease: Files: field Data: must be a base64 string", "", 0},
  };
  for (const Case& c : cases) {
    auto g = ParseLeaseGrant(c.json);
    if (c.error == nullptr) {
      ASSERT_TRUE(g.ok()) << c.description << ": " << g.status().message();
      EXPECT_EQ(g->container_id, "c1") << c.description;
      EXPECT_EQ(g->service, "redis") << c.description;
      if (!g->files.empty()) {
        const LeasedFile& last = g->files.back();
        EXPECT_EQ(std::string(last.data.begin(), last.data.end()), c.payload) << c.description;
        EXPECT_EQ(last.uid, c.uid) << c.description;
        EXPECT_EQ(last.name, "pw") << c.description;
      }
      // What it read is what ToJson writes back, and reads the same way again.
      auto again = ParseLeaseGrant(ToJson(*g));
      ASSERT_TRUE(again.ok()) << c.description;
      EXPECT_EQ(ToJson(*again), ToJson(*g)) << c.description;
    } else {
      ASSERT_FALSE(g.ok()) << c.description;
      EXPECT_EQ(g.status().message(), c.error) << c.description;
    }
  }
}

TEST(ModelsTest, ParseErrorsNameTheField) {
  auto r = ParseServiceSpec(R"({"Name":"x","Secrets":[{"File":{"UID":"abc"}}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("UID"), std::string::npos);
  auto bad = ParseLeaseRequest("{not json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "lease request: malformed JSON");
}

}  // namespace
}  // namespace ocisecrets
