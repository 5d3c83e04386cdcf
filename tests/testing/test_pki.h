// Certificates for the tests of the cluster's TLS: a CA and the members it issues, made
// with shared/pki.h. A failure to make one aborts the test program with the reason.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "shared/pki.h"

namespace ocisecrets::testing {

inline constexpr char kTestClusterId[] = "c000000000000000000000001";

inline TimePoint PkiNow() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(Clock::now());
}

template <class T>
T MustOk(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().message().c_str());
    std::abort();
  }
  return std::move(r).value();
}

inline CertificateAuthority NewTestCa() {
  return MustOk(CertificateAuthority::Create(kTestClusterId, std::chrono::hours(24), PkiNow()),
                "test CA");
}

// A member's key and certificate.
struct TestMember {
  std::string cert_pem;
  SecretBytes key_pem;
};

// A new key and a certificate for it: CN node_id, OU role, valid from `now` minus
// kCertBackdate for `lifetime` (a `now` in the past makes an expired certificate).
inline TestMember IssueMember(const CertificateAuthority& ca, const std::string& role,
                              const std::string& node_id,
                              std::chrono::seconds lifetime = std::chrono::hours(1),
                              TimePoint now = PkiNow()) {
  TestMember m;
  m.key_pem = MustOk(GenerateKeyPem(), "key");
  std::string csr = MustOk(MakeCsr(m.key_pem, node_id), "CSR");
  m.cert_pem = MustOk(ca.Issue(csr, {node_id, role, kTestClusterId}, lifetime, now), "certificate");
  return m;
}

}  // namespace ocisecrets::testing
