#include "shared/pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string>

#include "shared/crypto.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;
using std::chrono::hours;
using std::chrono::seconds;

constexpr std::string_view kCluster = "c0000000000000000000000001";

TimePoint Now() { return std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now()); }

std::string AsText(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

struct Member {
  SecretBytes key;
  std::string csr;
};

Member NewMember(std::string_view cn = "ignored") {
  Member m;
  auto key = GenerateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status().message();
  m.key = *key;
  auto csr = MakeCsr(m.key, cn);
  EXPECT_TRUE(csr.ok()) << csr.status().message();
  m.csr = *csr;
  return m;
}

TEST(PkiTest, GeneratedKeyIsPemAndItsCsrChecks) {
  Member m = NewMember("n1");
  EXPECT_TRUE(AsText(m.key).starts_with("-----BEGIN PRIVATE KEY-----"));
  auto cn = CheckCsr(m.csr);
  ASSERT_TRUE(cn.ok()) << cn.status().message();
  EXPECT_EQ(*cn, "n1");
}

TEST(PkiTest, CheckCsrRefusesTamperedAndForeignInput) {
  Member m = NewMember("n1");
  std::string tampered = m.csr;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(IsError(CheckCsr(tampered), StatusCode::kInvalidArgument, "certificate request"));
  EXPECT_TRUE(IsError(CheckCsr("hello"), StatusCode::kInvalidArgument, "not a PEM CSR"));
  EXPECT_TRUE(IsError(CheckCsr(std::string(kMaxPemBytes + 1, 'A')),
                      StatusCode::kInvalidArgument, "16 KiB"));
}

TEST(PkiTest, IssuedCertificateNamesTheSubjectTheCaChoseNotTheCsr) {
  auto ca = CertificateAuthority::Create(kCluster, hours(24 * 365), Now());
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  Member m = NewMember("i-want-to-be-admin");
  auto cert = ca->Issue(m.csr, {"n0000000000000000000000001", "node", std::string(kCluster)},
                        hours(24), Now());
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  auto info = ParseCertificate(*cert);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->subject.node_id, "n0000000000000000000000001");
  EXPECT_EQ(info->subject.role, "node");
  EXPECT_EQ(info->subject.cluster_id, kCluster);
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->serial.size(), 32u);
  EXPECT_LE(info->not_before, Now() - seconds(59));
  EXPECT_GE(info->not_after, Now() + hours(23));
  EXPECT_TRUE(VerifyCertificate(*cert, ca->cert_pem(), Now()).ok());
}

TEST(PkiTest, VerifyRefusesExpiredNotYetValidAndForeignCertificates) {
  auto ca = CertificateAuthority::Create(kCluster, hours(24 * 365), Now());
  auto other = CertificateAuthority::Create(kCluster, hours(24 * 365), Now());
  ASSERT_TRUE(ca.ok() && other.ok());
  Member m = NewMember();
  auto cert = ca->Issue(m.csr, {"n1", "node", std::string(kCluster)}, seconds(10), Now());
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  EXPECT_TRUE(IsError(VerifyCertificate(*cert, ca->cert_pem(), Now() + seconds(3600)),
                      StatusCode::kPermissionDenied, "expired"));
  EXPECT_TRUE(IsError(VerifyCertificate(*cert, ca->cert_pem(), Now() - seconds(3600)),
                      StatusCode::kPermissionDenied, "not yet valid"));
  EXPECT_TRUE(IsError(VerifyCertificate(*cert, other->cert_pem(), Now()),
                      StatusCode::kPermissionDenied, ""));
}

TEST(PkiTest, IssueRefusesBadRolesAndSubjects) {
  auto ca = CertificateAuthority::Create(kCluster, hours(24), Now());
  ASSERT_TRUE(ca.ok());
  Member m = NewMember();
  EXPECT_TRUE(IsError(ca->Issue(m.csr, {"n1", "root", std::string(kCluster)}, hours(1), Now()),
                      StatusCode::kInvalidArgument, "unknown role 'root'"));
  EXPECT_TRUE(IsError(ca->Issue(m.csr, {"", "node", std::string(kCluster)}, hours(1), Now()),
                      StatusCode::kInvalidArgument, "printable"));
  EXPECT_TRUE(IsError(ca->Issue("junk", {"n1", "node", std::string(kCluster)}, hours(1), Now()),
                      StatusCode::kInvalidArgument, "certificate request"));
}

TEST(PkiTest, ServerCertificateCarriesItsAltNames) {
  auto ca = CertificateAuthority::Create(kCluster, hours(24), Now());
  ASSERT_TRUE(ca.ok());
  Member m = NewMember();
  CertSubject subject{"m1", "manager", std::string(kCluster), {"127.0.0.1", "::1", "mgr.example"}};
  auto cert = ca->Issue(m.csr, subject, hours(1), Now());
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  // Read back with OpenSSL's own name check, as curl does.
  BIO* bio = BIO_new_mem_buf(cert->data(), static_cast<int>(cert->size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "::1", 0), 1);
  EXPECT_EQ(X509_check_host(x, "mgr.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "10.0.0.1", 0), 0);
  X509_free(x);
  subject.alt_names = {"a,b"};
  EXPECT_TRUE(IsError(ca->Issue(m.csr, subject, hours(1), Now()), StatusCode::kInvalidArgument,
                      "alternative name"));
}

TEST(PkiTest, CertificateNeverOutlivesTheCa) {
  auto ca = CertificateAuthority::Create(kCluster, hours(2), Now());
  ASSERT_TRUE(ca.ok());
  Member m = NewMember();
  auto cert = ca->Issue(m.csr, {"n1", "node", std::string(kCluster)}, hours(24), Now());
  ASSERT_TRUE(cert.ok());
  auto info = ParseCertificate(*cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->not_after, ca->expires_at());
}

TEST(PkiTest, LoadedCaHasTheSameDigestAndRefusesAMismatchedKey) {
  auto ca = CertificateAuthority::Create(kCluster, hours(24), Now());
  ASSERT_TRUE(ca.ok());
  auto loaded = CertificateAuthority::Load(ca->cert_pem(), ca->key_pem());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->digest(), ca->digest());
  EXPECT_EQ(loaded->digest().size(), 50u);
  auto digest = CaDigest(ca->cert_pem());
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, ca->digest());
  auto other_key = GenerateKeyPem();
  ASSERT_TRUE(other_key.ok());
  EXPECT_TRUE(IsError(CertificateAuthority::Load(ca->cert_pem(), *other_key),
                      StatusCode::kInvalidArgument, "does not match"));
  Member m = NewMember();
  auto leaf = ca->Issue(m.csr, {"n1", "node", std::string(kCluster)}, hours(1), Now());
  ASSERT_TRUE(leaf.ok());
  EXPECT_TRUE(IsError(CertificateAuthority::Load(*leaf, m.key), StatusCode::kInvalidArgument,
                      "not a CA"));
}

TEST(PkiTest, ErrorsAboutKeysHoldNoKeyBytes) {
  SecretBytes junk;
  const std::string text = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n";
  junk.assign(text.begin(), text.end());
  auto csr = MakeCsr(junk, "n1");
  ASSERT_TRUE(IsError(csr, StatusCode::kInvalidArgument, "not a PEM private key"));
  EXPECT_EQ(csr.status().message().find("c2VjcmV0"), std::string::npos);
}

constexpr std::string_view kRootKeyBytes = "0123456789abcdef0123456789abcdef";

TEST(PeerWrapTest, RoundTripsForTheKeyOfTheCsr) {
  Member joiner = NewMember();
  auto wrapped = WrapForPeer(joiner.csr, AsBytes(kRootKeyBytes));
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().message();
  EXPECT_EQ(wrapped->find(kRootKeyBytes), std::string::npos);
  auto plain = UnwrapFromPeer(joiner.key, *wrapped);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(AsText(*plain), kRootKeyBytes);
}

TEST(PeerWrapTest, EachWrapUsesANewEphemeralKey) {
  Member joiner = NewMember();
  auto a = WrapForPeer(joiner.csr, AsBytes(kRootKeyBytes));
  auto b = WrapForPeer(joiner.csr, AsBytes(kRootKeyBytes));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(PeerWrapTest, AnotherKeyCannotUnwrap) {
  Member joiner = NewMember();
  Member other = NewMember();
  auto wrapped = WrapForPeer(joiner.csr, AsBytes(kRootKeyBytes));
  ASSERT_TRUE(wrapped.ok());
  EXPECT_TRUE(IsError(UnwrapFromPeer(other.key, *wrapped), StatusCode::kDataLoss,
                      "wrapped key: does not open with this key"));
}

TEST(PeerWrapTest, AnyChangedByteIsDataLoss) {
  Member joiner = NewMember();
  auto wrapped = WrapForPeer(joiner.csr, AsBytes(kRootKeyBytes));
  ASSERT_TRUE(wrapped.ok());
  for (std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{40}, std::size_t{70},
                        wrapped->size() - 1}) {
    std::string tampered = *wrapped;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_TRUE(IsError(UnwrapFromPeer(joiner.key, tampered), StatusCode::kDataLoss, "wrapped key"))
        << "byte " << i;
  }
  EXPECT_TRUE(IsError(UnwrapFromPeer(joiner.key, wrapped->substr(0, 20)), StatusCode::kDataLoss,
                      "wrapped key: malformed"));
}

TEST(PeerWrapTest, RefusesABadCsrAndAnEmptyPlaintext) {
  Member joiner = NewMember();
  EXPECT_TRUE(IsError(WrapForPeer("not a csr", AsBytes(kRootKeyBytes)), StatusCode::kInvalidArgument,
                      "certificate request"));
  EXPECT_TRUE(IsError(WrapForPeer(joiner.csr, {}), StatusCode::kInvalidArgument, "1 to 4096 bytes"));
}

}  // namespace
}  // namespace ocisecrets
