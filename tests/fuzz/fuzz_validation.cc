// Fuzzes the validation rules that guard what reaches the hook (shared/validation.h):
// targets, secrets dirs, names, container IDs. Invariant: an accepted target or secrets
// dir has no ".." component, no NUL and no newline, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/validation.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// separators: "/" for Linux targets; "/\\" for secrets dirs, which may be Windows paths.
bool HasDotDotComponent(std::string_view p, const char* separators) {
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find_first_of(separators, start);
    if (end == std::string_view::npos) end = p.size();
    if (p.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

bool HasControl(std::string_view p) {
  return p.find('\0') != std::string_view::npos || p.find('\n') != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (ValidateSecretTarget(in).ok()) {
    // On Linux a backslash is an ordinary file name byte: "..\\x" is one component.
    FUZZ_CHECK(!HasDotDotComponent(in, "/"), "accepted target has no .. component");
    FUZZ_CHECK(!HasControl(in), "accepted target has no NUL or newline");
    FUZZ_CHECK(!in.empty() && in.size() <= 4096, "accepted target length");
  }
  if (ValidateSecretsDir(in).ok() && !in.empty()) {
    FUZZ_CHECK(!HasDotDotComponent(in, "/\\"), "accepted secrets dir has no .. component");
    FUZZ_CHECK(!HasControl(in), "accepted secrets dir has no NUL or newline");
  }
  if (ValidateSecretName(in).ok() || ValidateServiceName(in).ok()) {
    FUZZ_CHECK(!in.empty() && in.size() <= 64, "accepted name length");
    FUZZ_CHECK(in.find('/') == std::string_view::npos, "accepted name has no slash");
  }
  if (ValidateContainerId(in).ok()) {
    FUZZ_CHECK(in.find('/') == std::string_view::npos && !HasControl(in), "container id");
  }
  return 0;
}
