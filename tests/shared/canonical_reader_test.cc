#include "shared/canonical_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shared/models.h"

namespace ocisecrets {
namespace {

Secret TypicalSecret(const std::string& name) {
  Secret s;
  s.id = "abcdefghijklmnopqrstuvwxy";
  s.version = 42;
  s.created_at = *ParseTime("2026-11-29T23:41:07.123456789Z");
  s.updated_at = *ParseTime("2026-11-30T01:00:00Z");
  s.spec.name = name;
  s.spec.labels = {{"env", "prod"}, {"zone", "eu"}};
  return s;
}

// The fast path is what keeps listings and leases quick: what the writers write must be
// taken by it, not merely parse through the general reader.
TEST(CanonicalReaderTest, ReadsWhatTheWritersWrite) {
  std::vector<Secret> one;
  ASSERT_TRUE(ReadCanonicalSecrets(ToJson(TypicalSecret("a")), /*list=*/false, &one));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].version, 42u);
  EXPECT_EQ(one[0].spec.labels.at("zone"), "eu");
  EXPECT_EQ(ToJson(one[0]), ToJson(TypicalSecret("a")));

  std::vector<Secret> list;
  ASSERT_TRUE(ReadCanonicalSecrets(ToJson(std::vector<Secret>{TypicalSecret("a"),
                                                              TypicalSecret("b")}),
                                   /*list=*/true, &list));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].spec.name, "b");
  std::vector<Secret> none;
  EXPECT_TRUE(ReadCanonicalSecrets(ToJson(std::vector<Secret>{}), /*list=*/true, &none));
  EXPECT_TRUE(none.empty());

  LeaseRequest req;
  ASSERT_TRUE(ReadCanonicalLeaseRequest(ToJson(LeaseRequest{"c1", "redis"}), &req));
  EXPECT_EQ(req.container_id, "c1");
  EXPECT_EQ(req.service, "redis");

  LeaseGrant g;
  g.container_id = "c1";
  g.service = "redis";
  g.secrets_dir = "/run/secrets";
  g.expires_at = *ParseTime("2026-11-30T00:41:07.5Z");
  for (std::uint32_t i = 0; i < 3; ++i) {
    LeasedFile f;
    f.name = "f" + std::to_string(i);
    f.uid = 999 + i;
    f.gid = 4294967294u;
    f.mode = 0400;
    f.data = SecretBytes(i + 1, static_cast<std::uint8_t>(0xf0 + i));
    g.files.push_back(std::move(f));
  }
  std::string text = ToJson(g);
  LeaseGrant back;
  ASSERT_TRUE(ReadCanonicalLeaseGrant(text, &back));
  ASSERT_EQ(back.files.size(), 3u);
  EXPECT_EQ(back.files[2].data, g.files[2].data);
  EXPECT_EQ(back.files[1].uid, 1000u);
  EXPECT_EQ(back.files[0].gid, 4294967294u);
  EXPECT_EQ(ToJson(back), text);
  WipeString(text);
}

// Anything but the writers' exact form is left to the general reader, which names the
// problem or reads it the same way.
TEST(CanonicalReaderTest, LeavesEveryOtherFormToTheGeneralReader) {
  struct Case {
    const char* description;
    const char* text;
  } requests[] = {
      {"keys the other way round", R"({"Service":"redis","ContainerID":"c1"})"},
      {"blanks", R"({"ContainerID": "c1","Service":"redis"})"},
      {"an escape", R"({"ContainerID":"\u00631","Service":"redis"})"},
      {"trailing text", R"({"ContainerID":"c1","Service":"redis"} )"},
      {"an extra field", R"({"ContainerID":"c1","Service":"redis","X":1})"},
  };
  for (const Case& c : requests) {
    LeaseRequest r;
    EXPECT_FALSE(ReadCanonicalLeaseRequest(c.text, &r)) << c.description;
  }
  const Case grants[] = {
      {"a payload that is not base64",
       R"({"ContainerID":"c","ExpiresAt":"2026-11-30T00:41:07Z","Files":[{"Data":"a*k=","GID":0,"Mode":292,"Name":"pw","UID":0}],"SecretsDir":"","Service":"s"})"},
      {"a mode past 07777",
       R"({"ContainerID":"c","ExpiresAt":"2026-11-30T00:41:07Z","Files":[{"Data":"aGk=","GID":0,"Mode":4096,"Name":"pw","UID":0}],"SecretsDir":"","Service":"s"})"},
      {"a uid of -1 as 2^32 - 1",
       R"({"ContainerID":"c","ExpiresAt":"2026-11-30T00:41:07Z","Files":[{"Data":"aGk=","GID":0,"Mode":292,"Name":"pw","UID":4294967295}],"SecretsDir":"","Service":"s"})"},
      {"no expiry", R"({"ContainerID":"c","ExpiresAt":"","Files":[],"SecretsDir":"","Service":"s"})"},
  };
  for (const Case& c : grants) {
    LeaseGrant g;
    EXPECT_FALSE(ReadCanonicalLeaseGrant(c.text, &g)) << c.description;
  }
  std::vector<Secret> out;
  EXPECT_FALSE(ReadCanonicalSecrets(R"({"ID":"i"})", /*list=*/false, &out));
  out.clear();
  EXPECT_FALSE(ReadCanonicalSecrets(ToJson(TypicalSecret("a")), /*list=*/true, &out))
      << "one secret where a list belongs";
}

}  // namespace
}  // namespace ocisecrets
