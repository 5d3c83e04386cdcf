// Fuzzes the CLI's --secret SPEC and --label parsers (manager/cli/secret_spec.h), which read
// what a user types. Invariant: whatever they accept passes the server's own validation
// (shared/validation.h), so the CLI never lets through what the manager would refuse.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "manager/cli/secret_spec.h"
#include "shared/validation.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ref = ParseSecretReference(in);
  if (ref.ok()) {
    FUZZ_CHECK(ValidateSecretName(ref->secret_name).ok(), "accepted source is a valid name");
    FUZZ_CHECK(ValidateSecretTarget(ref->file.name).ok(), "accepted target is valid");
    FUZZ_CHECK(ValidateMode(ref->file.mode).ok(), "accepted mode has no setuid/setgid/sticky");
    FUZZ_CHECK(ValidateUnixId(ref->file.uid, "uid").ok(), "accepted uid in range");
    FUZZ_CHECK(ValidateUnixId(ref->file.gid, "gid").ok(), "accepted gid in range");
  } else {
    FUZZ_CHECK(!ref.status().message().empty(), "an error says why");
  }
  Labels labels;
  (void)ParseLabel(in, &labels);
  return 0;
}
