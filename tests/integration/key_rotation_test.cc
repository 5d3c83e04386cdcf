// `cluster rotate-key` on the real daemon (SQLite engine): the background pass under
// lease load, a kill -9 halfway, the pass resumed by the restarted daemon, the old term
// gone, every secret still opening.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "manager/store/keyring.h"
#include "manager/store/sqlite_kv_store.h"
#include "tests/integration/harness.h"
#include "tests/integration/rotation_fixture.h"

namespace ocisecrets::itest {
namespace {

constexpr int kSecrets = 2000;

TEST(KeyRotationIntegrationTest, APassKilledHalfwayResumesAfterRestartAndRetiresTheOldTerm) {
  Daemon d(Daemon::Options{{"--reencrypt-rate", "200"}, {}});
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  Status seeded = SeedSecrets(d, kSecrets);
  ASSERT_TRUE(seeded.ok()) << seeded.ToString();

  std::unique_ptr<LeaseLoop> leases = std::make_unique<LeaseLoop>(d, kSecrets, "sqlite");
  CommandResult rotated = d.Cli({"cluster", "rotate-key"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("Key term 2 is now current"), std::string::npos) << rotated.out;
  CommandResult again = d.Cli({"cluster", "rotate-key"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("a key rotation is already running ("), std::string::npos)
      << again.err;

  KeyStatus midway = WaitForKeys(d, [](const KeyStatus& k) {
    return k.rotation && k.rotation->done >= k.rotation->total / 5;
  });
  leases->Stop();
  d.Kill();
  ASSERT_TRUE(midway.rotation.has_value());
  const std::int64_t done_at_kill = midway.rotation->done;
  EXPECT_EQ(midway.rotation->total, kSecrets);
  EXPECT_LE(done_at_kill, midway.rotation->total * 4 / 5) << "the pass must be caught midway";
  EXPECT_EQ(midway.key_terms, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_GT(leases->ok(), 0);
  EXPECT_EQ(leases->failed(), 0) << leases->first_error();

  ASSERT_TRUE(d.Start().ok()) << d.Log();
  auto resumed = KeysOf(d);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  ASSERT_TRUE(resumed->rotation.has_value());
  EXPECT_GE(resumed->rotation->done, done_at_kill) << "the pass went back";
  leases = std::make_unique<LeaseLoop>(d, kSecrets, "sqlite");
  KeyStatus finished = WaitForKeys(d, [](const KeyStatus& k) {
    return k.rotation && k.rotation->state == "done";
  });
  leases->Stop();
  EXPECT_GT(leases->ok(), 0);
  EXPECT_EQ(leases->failed(), 0) << leases->first_error();
  EXPECT_EQ(finished.key_terms, std::vector<std::uint32_t>{2});
  EXPECT_EQ(finished.current_term, 2u);
  CommandResult status = d.Cli({"cluster", "rotate-key", "--status"});
  EXPECT_NE(status.out.find("Key terms: 2 (current 2)"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("Rotation to term 2: done"), std::string::npos) << status.out;
  ASSERT_EQ(d.Stop(), 0) << d.Log();

  // The store itself: only term 2, every payload on it and opening to its value.
  auto kv = SqliteKvStore::Open(d.state_dir() + "/store.db");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  auto terms = (*kv)->Range("keyring/terms/", true);
  ASSERT_TRUE(terms.ok());
  ASSERT_EQ(terms->size(), 1u);
  EXPECT_EQ((*terms)[0].key, "keyring/terms/0000000002");
  auto ring = Keyring::Open(d.state_dir() + "/" + std::string(kRootKeyFileName), **kv);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  auto names = (*kv)->Range("names/secret/");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), static_cast<std::size_t>(kSecrets));
  for (const KeyValue& name : *names) {
    const std::string& id = name.value;
    auto sealed = (*kv)->Get("payloads/" + id);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(*Keyring::TermOf(sealed->value), 2u);
    auto plain = (*ring)->OpenPayload("payloads/" + id, id, 1, sealed->value);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    int i = std::stoi(name.key.substr(std::string("names/secret/s").size()));
    ASSERT_EQ(std::string(plain->begin(), plain->end()), SeedPayload(i));
  }
}

}  // namespace
}  // namespace ocisecrets::itest
