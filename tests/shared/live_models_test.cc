// The live-secrets fields and objects of shared/models.h: each written in nlohmann's sorted
// key order, read back the same, and read the same by every path (the canonical reader,
// the SAX reader, the DOM).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "shared/canonical_reader.h"
#include "shared/models.h"
#include "shared/secret_sax_reader.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TimePoint T(const char* text) { return *ParseTime(text); }

// nlohmann's own compact dump of text: what "sorted key order" means.
std::string Sorted(const std::string& text) { return nlohmann::json::parse(text).dump(); }
// The same document with blanks: never the canonical form.
std::string Pretty(const std::string& text) { return nlohmann::json::parse(text).dump(1); }

std::vector<Secret> VersionedSecrets() {
  std::vector<Secret> out(4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].id = std::string(25, static_cast<char>('a' + i));
    out[i].version = 10 + i;
    out[i].created_at = T("2026-11-29T23:41:07Z");
    out[i].updated_at = T("2026-11-30T01:00:00Z");
    out[i].spec.name = "s" + std::to_string(i);
    out[i].data.updated_at = out[i].created_at;
  }
  out[1].data = {3, T("2026-12-01T10:00:00Z"), 2, {}, {}};                        // rotated
  out[2].data = {5, T("2026-12-01T10:00:00Z"), 4, T("2026-12-01T10:05:00Z"), {}};  // overlap
  out[3].data = {2, T("2026-12-01T10:00:00Z"), 1, {}, T("2026-12-02T08:00:00Z")};  // revoked
  return out;
}

TEST(LiveModelsTest, SecretDataVersionIsWrittenSortedAndOmitsWhatIsUnset) {
  const std::vector<Secret> secrets = VersionedSecrets();
  for (const Secret& s : secrets) EXPECT_EQ(ToJson(s), Sorted(ToJson(s))) << s.spec.name;
  auto j = nlohmann::json::parse(ToJson(secrets[0]));
  EXPECT_EQ(j["DataVersion"], nlohmann::json::parse(
                                  R"({"Index":1,"UpdatedAt":"2026-11-29T23:41:07.000000000Z"})"));
  auto overlap = nlohmann::json::parse(ToJson(secrets[2]))["DataVersion"];
  EXPECT_EQ(overlap["Previous"], 4);
  EXPECT_EQ(overlap["OverlapUntil"], "2026-12-01T10:05:00.000000000Z");
  EXPECT_FALSE(overlap.contains("RevokedAt"));
  EXPECT_EQ(ToJson(secrets), Sorted(ToJson(secrets)));
}

// Every reader gives the same secret: the canonical text, the same with blanks (the SAX
// reader) and with a repeated field (which only the DOM takes; the last one wins).
TEST(LiveModelsTest, SecretDataVersionReadsTheSameOnEveryPath) {
  for (const Secret& s : VersionedSecrets()) {
    const std::string text = ToJson(s);
    std::vector<Secret> canonical;
    ASSERT_TRUE(ReadCanonicalSecrets(text, /*list=*/false, &canonical)) << text;
    EXPECT_EQ(ToJson(canonical.front()), text);
    std::vector<Secret> sax;
    ASSERT_TRUE(ReadSecretsSax(Pretty(text), /*list=*/false, &sax)) << text;
    EXPECT_EQ(ToJson(sax.front()), text);
    const std::string dom_only = "{\"ID\":\"x\"," + text.substr(1);
    ASSERT_FALSE(ReadSecretsSax(dom_only, /*list=*/false, &sax));
    auto dom = ParseSecret(dom_only);
    ASSERT_TRUE(dom.ok()) << dom.status().message();
    EXPECT_EQ(ToJson(*dom), text);
    EXPECT_EQ(dom->data.index, s.data.index);
    EXPECT_EQ(dom->data.revoked_at, s.data.revoked_at);
  }
  auto list = ParseSecretList(ToJson(VersionedSecrets()));
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ((*list)[2].data.overlap_until, T("2026-12-01T10:05:00Z"));
}

// A record stored before data versions is version 1, current since its creation, on
// every path; so is a DataVersion without UpdatedAt.
TEST(LiveModelsTest, SecretWithoutDataVersionReadsAsVersionOneSinceCreation) {
  const std::string old_record =
      R"({"CreatedAt":"2026-11-29T23:41:07.000000000Z","ID":"i","Spec":{"Driver":null,"Labels":{},"Name":"n"},"UpdatedAt":"2026-11-30T01:00:00.000000000Z","Version":{"Index":4}})";
  std::vector<Secret> canonical, sax;
  ASSERT_TRUE(ReadCanonicalSecrets(old_record, /*list=*/false, &canonical));
  ASSERT_TRUE(ReadSecretsSax(Pretty(old_record), /*list=*/false, &sax));
  auto dom = ParseSecret("{\"ID\":\"x\"," + old_record.substr(1));
  ASSERT_TRUE(dom.ok()) << dom.status().message();
  for (const Secret* s : {&canonical.front(), &sax.front(), &*dom}) {
    EXPECT_EQ(s->data.index, 1u);
    EXPECT_EQ(s->data.updated_at, T("2026-11-29T23:41:07Z"));
    EXPECT_EQ(s->data.previous, 0u);
    EXPECT_EQ(s->data.revoked_at, TimePoint{});
  }
  for (const char* text :
       {R"({"DataVersion":{"Index":3},"CreatedAt":"2026-11-29T23:41:07Z"})",
        R"({"CreatedAt":"2026-11-29T23:41:07Z","DataVersion":{"Index":3,"UpdatedAt":""}})",
        R"({"DataVersion":{"Index":3,"UpdatedAt":null},"CreatedAt":"2026-11-29T23:41:07Z","ID":"i","ID":"i"})"}) {
    auto s = ParseSecret(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.status().message();
    EXPECT_EQ(s->data.index, 3u) << text;
    EXPECT_EQ(s->data.updated_at, T("2026-11-29T23:41:07Z")) << text;
  }
}

TEST(LiveModelsTest, BadDataVersionFieldsAreNamed) {
  EXPECT_TRUE(IsError(ParseSecret(R"({"DataVersion":[1]})"), StatusCode::kInvalidArgument,
                      "secret: field DataVersion: must be an object"));
  EXPECT_TRUE(IsError(ParseSecret(R"({"DataVersion":{"Index":-1}})"),
                      StatusCode::kInvalidArgument,
                      "secret: DataVersion: field Index: must be a non-negative integer"));
  EXPECT_TRUE(IsError(ParseSecret(R"({"DataVersion":{"RevokedAt":"soon"}})"),
                      StatusCode::kInvalidArgument, "secret: DataVersion: field RevokedAt"));
}

TEST(LiveModelsTest, LeaseRequestOfTheHookStaysOnTheFastPath) {
  LeaseRequest r;
  r.container_id = "c1";
  r.service = "redis";
  r.renewal = true;
  r.pid = 4242;
  r.default_secrets_dir = "/run/secrets";
  r.tmpfs_size = 1 << 20;
  r.node_id = "n1";
  const std::string text = ToJson(r);
  EXPECT_EQ(text, Sorted(text));
  for (const std::string& form : {text, Pretty(text)}) {
    LeaseRequest fast;
    EXPECT_EQ(ReadCanonicalLeaseRequest(form, &fast), form == text);
    auto back = ParseLeaseRequest(form);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(ToJson(*back), text);
    EXPECT_TRUE(back->renewal);
    EXPECT_EQ(back->pid, 4242);
    EXPECT_EQ(back->default_secrets_dir, "/run/secrets");
    EXPECT_EQ(back->tmpfs_size, 1u << 20);
  }
  LeaseRequest hook;
  hook.container_id = "c1";
  hook.service = "redis";
  hook.pid = 7;
  hook.default_secrets_dir = "/run/secrets";
  hook.tmpfs_size = 65536;
  LeaseRequest fast;
  EXPECT_TRUE(ReadCanonicalLeaseRequest(ToJson(hook), &fast)) << ToJson(hook);
  EXPECT_EQ(fast.pid, 7);
  EXPECT_EQ(ToJson(LeaseRequest{"c1", "redis"}), R"({"ContainerID":"c1","Service":"redis"})")
      << "the unset fields are absent";
  EXPECT_TRUE(IsError(ParseLeaseRequest(R"({"ContainerID":"c","Service":"s","Pid":-1})"),
                      StatusCode::kInvalidArgument, "lease request: field Pid"));
  EXPECT_TRUE(IsError(ParseLeaseRequest(R"({"ContainerID":"c","Pid":2147483648,"Service":"s"})"),
                      StatusCode::kInvalidArgument, "lease request: field Pid: out of range"));
  EXPECT_TRUE(IsError(ParseLeaseRequest(R"({"ContainerID":"c","Renewal":1,"Service":"s"})"),
                      StatusCode::kInvalidArgument,
                      "lease request: field Renewal: must be true or false"));
}

LeaseGrant LiveGrant() {
  LeaseGrant g;
  g.container_id = "c1";
  g.service = "redis";
  g.secrets_dir = "/run/secrets";
  g.expires_at = T("2026-11-30T00:41:07.5Z");
  g.update_signal = "SIGHUP";
  g.refresh_at = T("2026-11-30T00:05:00Z");
  g.revoked = {"old_key", "leaked"};
  LeasedFile cur{"db", 999, 999, 0400, SecretBytes{'n', 'e', 'w'}, "abcdefghijklmnopqrstuvwxy", 3};
  LeasedFile prev{"db.previous", 999, 999, 0400, SecretBytes{'o', 'l', 'd'},
                  "abcdefghijklmnopqrstuvwxy", 2, true};
  LeasedFile plain{"other", 0, 0, 0444, SecretBytes{'x'}};
  g.files = {cur, prev, plain};
  return g;
}

TEST(LiveModelsTest, LeaseGrantLiveFieldsRoundTripOnEveryPath) {
  const LeaseGrant g = LiveGrant();
  std::string text = ToJson(g);
  EXPECT_EQ(text, Sorted(text));
  LeaseGrant fast;
  ASSERT_TRUE(ReadCanonicalLeaseGrant(text, &fast));
  EXPECT_EQ(ToJson(fast), text);
  std::string pretty = Pretty(text);
  LeaseGrant not_fast;
  ASSERT_FALSE(ReadCanonicalLeaseGrant(pretty, &not_fast));
  auto dom = ParseLeaseGrant(pretty);
  ASSERT_TRUE(dom.ok()) << dom.status().message();
  EXPECT_EQ(ToJson(*dom), text);
  ASSERT_EQ(dom->files.size(), 3u);
  EXPECT_TRUE(dom->files[1].previous);
  EXPECT_EQ(dom->files[1].version, 2u);
  EXPECT_EQ(dom->files[0].secret_id, "abcdefghijklmnopqrstuvwxy");
  EXPECT_EQ(dom->files[2].version, 0u);
  EXPECT_EQ(dom->revoked, g.revoked);
  EXPECT_EQ(dom->update_signal, "SIGHUP");
  EXPECT_EQ(dom->refresh_at, g.refresh_at);
  EXPECT_EQ(nlohmann::json::parse(text)["Files"][2].size(), 5u) << "unset fields absent";
  WipeString(text);
  WipeString(pretty);
}

TEST(LiveModelsTest, ServiceUpdateSignalAndLeaseVersionsRoundTrip) {
  Service s;
  s.id = "svc";
  s.spec.name = "redis";
  s.spec.update_signal = "SIGHUP";
  LeaseInfo lease;
  lease.container_id = "c1";
  lease.node_id = "n1";
  lease.versions = {{"abc", 3}, {"def", 1}};
  s.leases = {lease, LeaseInfo{"c2"}};
  const std::string text = ToJson(s);
  EXPECT_EQ(text, Sorted(text));
  auto back = ParseService(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->spec.update_signal, "SIGHUP");
  EXPECT_EQ(back->leases[0].versions, lease.versions);
  EXPECT_FALSE(nlohmann::json::parse(text)["Leases"][1].contains("Versions"));
  EXPECT_EQ(ToJson(ServiceSpec{"redis"}).find("UpdateSignal"), std::string::npos);
  EXPECT_TRUE(IsError(ParseService(R"({"Leases":[{"Versions":{"a":-1}}]})"),
                      StatusCode::kInvalidArgument,
                      "service: Leases: field Versions: must be an object of non-negative integers"));
}

TEST(LiveModelsTest, LiveObjectsRoundTripSorted) {
  SecretHolder h{"n1", "c1", "svc", "redis", "sec", "db", 3, T("2026-12-01T10:00:00Z")};
  std::string holders = ToJson(std::vector<SecretHolder>{h, h});
  EXPECT_EQ(holders, Sorted(holders));
  auto hb = ParseSecretHolders(holders);
  ASSERT_TRUE(hb.ok()) << hb.status().message();
  EXPECT_EQ(ToJson(*hb), holders);
  EXPECT_EQ((*hb)[1].version, 3u);

  HeldReport report{"n1", {{"c1", {{"sec", 3}}}, {"c2", {}}}};
  std::string held = ToJson(report);
  EXPECT_EQ(held, Sorted(held));
  auto rb = ParseHeldReport(held);
  ASSERT_TRUE(rb.ok()) << rb.status().message();
  EXPECT_EQ(ToJson(*rb), held);
  EXPECT_EQ(rb->containers[0].versions.at("sec"), 3u);
  EXPECT_TRUE(IsError(ParseHeldReport(R"({"Containers":{}})"), StatusCode::kInvalidArgument,
                      "held report: field Containers: must be an array"));

  ChangesRequest creq{"ep", 7, {"a", "b"}, {"s"}, 30000};
  std::string creq_text = ToJson(creq);
  EXPECT_EQ(creq_text, Sorted(creq_text));
  auto cb = ParseChangesRequest(creq_text);
  ASSERT_TRUE(cb.ok()) << cb.status().message();
  EXPECT_EQ(ToJson(*cb), creq_text);

  ChangesResponse cresp{"ep", 9, true, {"a"}, T("2026-12-01T10:00:00Z")};
  std::string cresp_text = ToJson(cresp);
  EXPECT_EQ(cresp_text, Sorted(cresp_text));
  auto pb = ParseChangesResponse(cresp_text);
  ASSERT_TRUE(pb.ok()) << pb.status().message();
  EXPECT_EQ(ToJson(*pb), cresp_text);
  EXPECT_EQ(ToJson(ChangesResponse{"ep", 1}).find("ChangedAt"), std::string::npos);
}

TEST(LiveModelsTest, RotateRequestCarriesThePayloadAndABoundedOverlap) {
  SecretRotateRequest r{SecretBytes{'p', 'w'}, 300};
  std::string text = ToJson(r);
  EXPECT_EQ(text, Sorted(text));
  auto back = ParseSecretRotateRequest(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->data, r.data);
  EXPECT_EQ(back->overlap_seconds, 300u);
  EXPECT_EQ(ToJson(SecretRotateRequest{SecretBytes{'p'}}).find("OverlapSeconds"),
            std::string::npos);
  EXPECT_TRUE(IsError(ParseSecretRotateRequest(R"({"OverlapSeconds":5})"),
                      StatusCode::kInvalidArgument,
                      "secret rotate: field Data: must be a base64 string"));
  EXPECT_TRUE(IsError(ParseSecretRotateRequest(R"({"Data":"cHc=","OverlapSeconds":99999999999})"),
                      StatusCode::kInvalidArgument,
                      "secret rotate: field OverlapSeconds: out of range"));
  EXPECT_TRUE(IsError(ParseSecretRotateRequest(R"({"Data":"c*c="})"),
                      StatusCode::kInvalidArgument, "secret rotate: Data"));
  WipeString(text);
}

}  // namespace
}  // namespace ocisecrets
