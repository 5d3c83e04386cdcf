// Fuzzes the API objects' JSON parsers (shared/models.h), which read what clients send the
// manager and what the manager sends the hook, and the time and base64 readers under them
// (time_format.h, base64.h). The first byte picks the parser; the rest is its input.
// Beyond "no crash, no UB", a parsed object must survive a round trip:
// Parse(ToJson(Parse(x))) gives the same JSON again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/models.h"
#include "tests/fuzz/fuzz_check.h"

namespace ocisecrets {
namespace {

void FuzzTime(std::string_view input) {
  auto t = ParseTime(input);
  if (!t.ok()) return;
  std::string text = FormatTime(*t);
  auto back = ParseTime(text);
  FUZZ_CHECK(back.ok(), "FormatTime output parses again");
  FUZZ_CHECK(*back == *t, "time round trip is exact");
}

void FuzzBase64(std::string_view input) {
  auto bytes = Base64Decode(input);
  if (!bytes.ok()) return;
  std::string text = Base64Encode(bytes->data(), bytes->size());
  FUZZ_CHECK(text.size() == input.size(), "re-encoding keeps the length");
  auto back = Base64Decode(text);
  FUZZ_CHECK(back.ok() && *back == *bytes, "base64 round trip is exact");
}

}  // namespace
}  // namespace ocisecrets

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  // 250 and up: the live-secrets objects; below, the selectors the corpus was made with.
  switch (data[0] >= 250 ? 10 + (data[0] - 250) % 5 : data[0] % 10) {
    case 0: CheckJsonRoundTrip(in, ParseServiceSpec); break;
    case 1: CheckJsonRoundTrip(in, ParseService); break;
    case 2: CheckJsonRoundTrip(in, ParseSecret); break;
    case 3: CheckJsonRoundTrip(in, ParseLeaseGrant); break;
    case 4: CheckJsonRoundTrip(in, ParseSecretList); break;
    case 5: CheckJsonRoundTrip(in, ParseServiceList); break;
    case 6: CheckJsonRoundTrip(in, ParseLeaseRequest); break;
    case 7: CheckJsonRoundTrip(in, ParseSecretCreateRequest); break;
    case 8: FuzzTime(in); break;
    case 9: FuzzBase64(in); break;
    case 10: CheckJsonRoundTrip(in, ParseSecretHolders); break;
    case 11: CheckJsonRoundTrip(in, ParseSecretRotateRequest); break;
    case 12: CheckJsonRoundTrip(in, ParseHeldReport); break;
    case 13: CheckJsonRoundTrip(in, ParseChangesRequest); break;
    case 14: CheckJsonRoundTrip(in, ParseChangesResponse); break;
  }
  (void)ParseSecretSpec(in);
  return 0;
}
