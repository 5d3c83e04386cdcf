// Fuzzes the Windows path rules (shared/validation.h ValidateWindowsPath, LooksLikeWindowsPath
// and their use in ValidateSecretsDir), which decide what a service may name as the secrets
// dir of a Windows container. Invariants, checked independently of the validator's own
// code: an accepted path is "X:" and a separator (no drive-relative "C:foo", no UNC
// "\\server", no device path "\\?\" or "\\.\"), at most 259 bytes, not the drive root;
// no component is empty (but for one trailing separator), ".", "..", ends in a dot or a
// space, holds a control character or one of <>:"|?*, or is a device name (CON, NUL.txt,
// "com1 .x"). The rules do not depend on which separator is used or the drive letter's
// case, and ValidateSecretsDir applies them to whatever looks like a Windows path.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/validation.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool IsSep(char c) { return c == '\\' || c == '/'; }

std::vector<std::string_view> Components(std::string_view rest) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t end = start;
    while (end < rest.size() && !IsSep(rest[end])) ++end;
    out.push_back(rest.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool IsDeviceName(std::string_view comp) {
  std::string base;
  for (char c : comp) {
    if (c == '.') break;
    base += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (const char* dev : {"CON", "PRN", "AUX", "NUL"}) {
    if (base == dev) return true;
  }
  for (const char* dev : {"COM", "LPT"}) {
    for (char d = '1'; d <= '9'; ++d) {
      if (base == std::string(dev) + d) return true;
    }
  }
  return false;
}

void CheckAccepted(std::string_view p) {
  FUZZ_CHECK(p.size() >= 4 && p.size() <= 259, "accepted length 4..259");
  FUZZ_CHECK(std::isalpha(static_cast<unsigned char>(p[0])) && p[1] == ':' && IsSep(p[2]),
             "accepted path starts with a drive, a colon and a separator");
  FUZZ_CHECK(!IsSep(p[0]) && !IsSep(p[1]), "no UNC or device path accepted");
  std::vector<std::string_view> comps = Components(p.substr(3));
  if (comps.size() > 1 && comps.back().empty()) comps.pop_back();  // one trailing separator
  FUZZ_CHECK(!comps.empty() && !comps.front().empty(), "the drive root is not accepted");
  for (std::string_view c : comps) {
    FUZZ_CHECK(!c.empty(), "no empty component");
    FUZZ_CHECK(c != "." && c != "..", "no . or .. component");
    FUZZ_CHECK(c.size() <= 255, "component at most 255 bytes");
    FUZZ_CHECK(c.back() != '.' && c.back() != ' ', "no component ends in a dot or a space");
    for (char ch : c) {
      FUZZ_CHECK(static_cast<unsigned char>(ch) >= 0x20, "no control character");
      FUZZ_CHECK(std::string_view("<>:\"|?*").find(ch) == std::string_view::npos,
                 "no <>:\"|?* (no alternate data stream, no wildcard)");
    }
    FUZZ_CHECK(!IsDeviceName(c), "no device name");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const bool accepted = ValidateWindowsPath(in).ok();
  if (accepted) CheckAccepted(in);
  if (!accepted) {
    FUZZ_CHECK(!ValidateWindowsPath(in).message().empty(), "a refusal says why");
  }

  // Separators are interchangeable and the drive letter's case does not matter.
  std::string back(in), forward(in);
  for (char& c : back) c = c == '/' ? '\\' : c;
  for (char& c : forward) c = c == '\\' ? '/' : c;
  FUZZ_CHECK(ValidateWindowsPath(back).ok() == accepted, "'/' and '\\' are the same separator");
  FUZZ_CHECK(ValidateWindowsPath(forward).ok() == accepted, "'\\' and '/' are the same separator");
  if (!in.empty() && std::isalpha(static_cast<unsigned char>(in[0]))) {
    std::string flipped(in);
    flipped[0] = static_cast<char>(std::islower(static_cast<unsigned char>(in[0]))
                                       ? std::toupper(static_cast<unsigned char>(in[0]))
                                       : std::tolower(static_cast<unsigned char>(in[0])));
    FUZZ_CHECK(ValidateWindowsPath(flipped).ok() == accepted, "drive letter case ignored");
  }

  // A secrets dir that looks like a Windows path gets exactly the Windows rules.
  if (!in.empty() && LooksLikeWindowsPath(in)) {
    FUZZ_CHECK(ValidateSecretsDir(in).ok() == accepted, "secrets dir uses the Windows rules");
  }
  if (accepted) FUZZ_CHECK(LooksLikeWindowsPath(in), "an accepted path looks like Windows");
  return 0;
}
