// Fuzzes what a manager reads from machines that are not yet (or no longer) trusted: the
// cluster API's objects (shared/cluster_models.h: a join request comes from an anonymous
// TLS peer), join tokens (shared/join_token.h) and certificate requests and certificates
// (shared/pki.h). The first byte picks the reader; the rest is its input. Beyond "no
// crash, no UB": a parsed object survives a round trip (ToJson(Parse(ToJson(Parse(x))))
// is ToJson(Parse(x))), a parsed token formats back to its text, and no error message
// repeats a token's secret.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/cluster_models.h"
#include "shared/join_token.h"
#include "shared/pki.h"
#include "tests/fuzz/fuzz_check.h"

namespace ocisecrets {
namespace {

void FuzzToken(std::string_view input) {
  auto token = ParseJoinToken(input);
  if (!token.ok()) {
    const std::string m = token.status().message();
    FUZZ_CHECK(m.starts_with("invalid join token: "), "a refusal names the token");
    // A secret is 25 base36 characters after the last dash; shorter text there could be
    // any word of the message itself ("missing the secret part").
    const std::size_t last_dash = input.rfind('-');
    const std::string_view secret =
        last_dash == std::string_view::npos ? std::string_view() : input.substr(last_dash + 1);
    const bool base36 = std::all_of(secret.begin(), secret.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
    });
    if (secret.size() == kJoinSecretLength && base36) {
      FUZZ_CHECK(m.find(secret) == std::string::npos, "the message does not repeat the secret");
    }
    return;
  }
  FUZZ_CHECK(FormatJoinToken(*token) == input, "a parsed token formats back to its text");
}

void FuzzCsr(std::string_view input) {
  auto cn = CheckCsr(input);
  if (!cn.ok()) {
    FUZZ_CHECK(cn.status().message().starts_with("certificate request"),
               "a refusal names the request");
  }
}

void FuzzCertificate(std::string_view input) {
  auto info = ParseCertificate(input);
  if (info.ok()) FUZZ_CHECK(!info->subject.node_id.empty(), "a member certificate has a CN");
}

}  // namespace
}  // namespace ocisecrets

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 10) {
    case 0: CheckJsonRoundTrip(in, ParseJoinRequest); break;
    case 1: CheckJsonRoundTrip(in, ParseJoinResponse); break;
    case 2: CheckJsonRoundTrip(in, ParseNode); break;
    case 3: CheckJsonRoundTrip(in, ParseNodeList); break;
    case 4: CheckJsonRoundTrip(in, ParseClusterInfo); break;
    case 5: CheckJsonRoundTrip(in, ParseCsrRequest); break;
    case 6: CheckJsonRoundTrip(in, ParseClusterInitRequest); break;
    case 7: FuzzToken(in); break;
    case 8: FuzzCsr(in); break;
    case 9: FuzzCertificate(in); break;
  }
  return 0;
}
