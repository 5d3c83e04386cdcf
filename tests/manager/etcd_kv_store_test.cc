// What is etcd's own in the etcd engine, on a real 3-member etcd: failover between
// members, a watch that ends with its member and is opened again, the txn limits checked
// before any request, a compacted watch.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

#include "manager/store/etcd_kv_store.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using std::chrono::steady_clock;

class EtcdEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::EtcdClusterOptions options;
    auto cluster = testing::EtcdCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(cluster).value();
    EtcdOptions etcd;
    etcd.endpoints = cluster_->ClientUrls();
    auto kv = EtcdKvStore::Open(etcd);
    ASSERT_TRUE(kv.ok()) << kv.status().ToString();
    kv_ = std::move(kv).value();
  }

  Result<TxnResult> Put(const std::string& key, const std::string& value) {
    Txn txn;
    txn.ops.push_back({Op::Kind::kPut, key, value});
    return kv_->Commit(txn);
  }

  std::unique_ptr<testing::EtcdCluster> cluster_;
  std::unique_ptr<EtcdKvStore> kv_;
};

TEST_F(EtcdEngineTest, TheNextCallSucceedsOnAnotherMemberWhenItsMemberIsKilled) {
  ASSERT_TRUE(Put("a", "1").ok());  // the store now talks to member 0 over a kept connection
  ASSERT_TRUE(cluster_->Kill(0).ok());
  Result<KeyValue> got = kv_->Get("a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value, "1");
  // A write may meet the election that follows the kill (Unavailable, outcome unknown);
  // once the members have a leader it succeeds.
  Result<TxnResult> put = Put("b", "2");
  for (int i = 0; i < 3 && !put.ok(); ++i) {
    EXPECT_EQ(put.status().code(), StatusCode::kUnavailable) << put.status().ToString();
    put = Put("b", "2");
  }
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(put->succeeded);
}

TEST_F(EtcdEngineTest, AWatchEndsUnavailableWithItsMemberAndReopensOnAnother) {
  auto r = kv_->Revision();
  ASSERT_TRUE(r.ok());
  auto w = kv_->Watch("w/", *r + 1);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(Put("w/1", "x").ok());
  auto first = (*w)->Next(steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(first.ok() && first->size() == 1u) << first.status().ToString();
  const std::int64_t seen = (*first)[0].mod_revision;

  ASSERT_TRUE(cluster_->Kill(0).ok());  // the watch's member: the store dialled 0 first
  auto ended = (*w)->Next(steady_clock::now() + std::chrono::seconds(10));
  EXPECT_TRUE(testing::IsError(ended.status(), StatusCode::kUnavailable, "watch stream"));

  auto again = kv_->Watch("w/", seen + 1);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  Result<TxnResult> put = Put("w/2", "y");
  for (int i = 0; i < 3 && !put.ok(); ++i) put = Put("w/2", "y");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto next = (*again)->Next(steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].key, "w/2");
}

// A member cut off from the others (they are stopped here) has no leader and no longer
// learns of changes: a watch on it must end (Unavailable) rather than stay silent, so
// that the caches it feeds re-read from a member of the majority.
TEST_F(EtcdEngineTest, AWatchOnAMemberThatLostItsLeaderEndsUnavailable) {
  auto r = kv_->Revision();
  ASSERT_TRUE(r.ok());
  auto w = kv_->Watch("w/", *r + 1);  // on member 0: the store dialled it first
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(Put("w/1", "x").ok());
  auto first = (*w)->Next(steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(first.ok() && first->size() == 1u) << first.status().ToString();

  ASSERT_TRUE(cluster_->Signal(1, SIGSTOP).ok());
  ASSERT_TRUE(cluster_->Signal(2, SIGSTOP).ok());
  Result<std::vector<WatchEvent>> ended = std::vector<WatchEvent>();
  const auto end = steady_clock::now() + std::chrono::seconds(20);
  while (ended.ok() && steady_clock::now() < end) {
    ended = (*w)->Next(steady_clock::now() + std::chrono::seconds(1));
  }
  ASSERT_TRUE(cluster_->Signal(1, SIGCONT).ok());
  ASSERT_TRUE(cluster_->Signal(2, SIGCONT).ok());
  EXPECT_TRUE(testing::IsError(ended.status(), StatusCode::kUnavailable, "watch stream"))
      << (ended.ok() ? "the watch stayed open on a member without a leader"
                     : ended.status().ToString());
}

TEST_F(EtcdEngineTest, RefusesATxnOf129OpsBeforeAnyRequest) {
  ASSERT_TRUE(cluster_->Kill(0).ok());
  ASSERT_TRUE(cluster_->Kill(1).ok());
  ASSERT_TRUE(cluster_->Kill(2).ok());
  Txn big;
  for (std::size_t i = 0; i <= kMaxTxnOps; ++i) big.ops.push_back({Op::Kind::kPut, "k" + std::to_string(i), "v"});
  // InvalidArgument although no member runs: nothing was sent.
  EXPECT_TRUE(testing::IsError(kv_->Commit(big).status(), StatusCode::kInvalidArgument,
                               "129 ops exceeds the limit of 128"));
  EXPECT_TRUE(testing::IsError(kv_->Get("a").status(), StatusCode::kUnavailable, "answered"));
}

TEST_F(EtcdEngineTest, AWatchBehindACompactionIsFailedPreconditionCompacted) {
  auto r = kv_->Revision();
  ASSERT_TRUE(r.ok());
  auto w = kv_->Watch("c/", *r + 1);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(Put("c/1", "x").ok());
  ASSERT_TRUE(Put("c/2", "y").ok());
  auto now = kv_->Revision();
  ASSERT_TRUE(now.ok());
  ASSERT_TRUE(cluster_->Etcdctl({"compact", std::to_string(*now + 1)}).ok());
  EXPECT_TRUE(testing::IsError(kv_->Watch("c/", *r + 1).status(), StatusCode::kFailedPrecondition,
                               "compacted"));
}

TEST(EtcdEngineOpenTest, SaysWhichEndpointsDidNotAnswer) {
  EtcdOptions etcd;
  etcd.endpoints = {"http://127.0.0.1:1"};
  etcd.request_timeout = std::chrono::milliseconds(500);
  EXPECT_TRUE(testing::IsError(EtcdKvStore::Open(etcd).status(), StatusCode::kUnavailable,
                               "etcd: none of http://127.0.0.1:1 answered"));
  etcd.endpoints = {"127.0.0.1:2379"};
  EXPECT_TRUE(testing::IsError(EtcdKvStore::Open(etcd).status(), StatusCode::kInvalidArgument,
                               "must be http://HOST:PORT or https://HOST:PORT"));
}


// TLS to etcd: one member that serves https and requires a client certificate
// (--client-cert-auth), both certificates from a test CA; the store presents
// --etcd-cacert/--etcd-cert/--etcd-key as the daemon passes them.
class EtcdTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CertificateAuthority ca = testing::NewTestCa();
    ca_file_ = dir_.WriteFile("ca.pem", ca.cert_pem());
    SecretBytes server_key = testing::MustOk(GenerateKeyPem(), "server key");
    std::string server_cert = testing::MustOk(
        ca.Issue(testing::MustOk(MakeCsr(server_key, "etcd"), "CSR"),
                 {"etcd", "manager", testing::kTestClusterId, {"127.0.0.1", "localhost"}},
                 std::chrono::hours(1), testing::PkiNow()),
        "server certificate");
    const std::string server_cert_file = dir_.WriteFile("server.crt", server_cert);
    const std::string server_key_file =
        dir_.WriteFile("server.key", std::string(server_key.begin(), server_key.end()));
    testing::TestMember client = testing::IssueMember(ca, "manager", "client");
    cert_file_ = dir_.WriteFile("client.crt", client.cert_pem);
    key_file_ = dir_.WriteFile("client.key", std::string(client.key_pem.begin(), client.key_pem.end()));

    testing::EtcdClusterOptions options;
    options.members = 1;
    options.extra_args = {"--cert-file", server_cert_file, "--key-file", server_key_file,
                          "--trusted-ca-file", ca_file_, "--client-cert-auth"};
    options.etcdctl_args = {"--cacert", ca_file_, "--cert", cert_file_, "--key", key_file_};
    auto cluster = testing::EtcdCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(cluster).value();
    ASSERT_EQ(cluster_->ClientUrls().front().rfind("https://", 0), 0u) << cluster_->EndpointsFlag();
  }

  EtcdOptions Options() const {
    EtcdOptions etcd;
    etcd.endpoints = cluster_->ClientUrls();
    etcd.cacert = ca_file_;
    etcd.cert = cert_file_;
    etcd.key = key_file_;
    etcd.request_timeout = std::chrono::milliseconds(3000);
    return etcd;
  }

  testing::TempDir dir_;
  std::string ca_file_, cert_file_, key_file_;
  std::unique_ptr<testing::EtcdCluster> cluster_;
};

TEST_F(EtcdTlsTest, TheStoreWithTheCaAndAClientCertificateWritesAndReads) {
  auto kv = EtcdKvStore::Open(Options());
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  Txn txn;
  txn.ops.push_back({Op::Kind::kPut, "secrets/a", "over tls"});
  auto r = (*kv)->Commit(txn);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded);
  auto got = (*kv)->Get("secrets/a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value, "over tls");
  auto seen = cluster_->Etcdctl({"get", "/oci-secrets/secrets/a", "--print-value-only"});
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(*seen, "over tls\n");
}

TEST_F(EtcdTlsTest, AMemberSignedByAnotherCaIsRefusedNamingTheCaFlag) {
  EtcdOptions etcd = Options();
  etcd.cacert = dir_.WriteFile("other-ca.pem", testing::NewTestCa().cert_pem());
  auto kv = EtcdKvStore::Open(etcd);
  EXPECT_TRUE(testing::IsError(kv.status(), StatusCode::kPermissionDenied, "--etcd-cacert"))
      << kv.status().ToString();
}

TEST_F(EtcdTlsTest, WithoutAClientCertificateTheMemberRefuses) {
  EtcdOptions etcd = Options();
  etcd.cert.clear();
  etcd.key.clear();
  auto kv = EtcdKvStore::Open(etcd);
  ASSERT_FALSE(kv.ok());
  EXPECT_NE(kv.status().message().find("etcd: none of " + cluster_->EndpointsFlag() + " answered"),
            std::string::npos)
      << kv.status().ToString();
}

TEST_F(EtcdTlsTest, OnlyOneOfCertAndKeyIsAnArgumentError) {
  EtcdOptions etcd = Options();
  etcd.key.clear();
  EXPECT_TRUE(testing::IsError(EtcdKvStore::Open(etcd).status(), StatusCode::kInvalidArgument,
                               "--etcd-key"))
      << EtcdKvStore::Open(etcd).status().ToString();
}

}  // namespace
}  // namespace ocisecrets
