// Fuzzes the unlock key parser (shared/unlock_key.h): the text an admin pastes into
// `cluster unlock`, sent to the manager. Beyond "no crash, no UB": a parsed key formats
// back to exactly its text, a refusal names the unlock key, and no refusal repeats a key
// value that followed the prefix (the key, or a near miss of it), unless that value is the
// message's own words.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/unlock_key.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto key = ParseUnlockKey(in);
  if (!key.ok()) {
    const std::string m = key.status().message();
    FUZZ_CHECK(m.starts_with("invalid unlock key: "), "a refusal names the unlock key");
    // A key's value, or a near miss of it: 8 or more base36 characters after the prefix
    // (other text there may be words of the message itself, e.g. "OCSKEY-1-").
    const std::string_view rest =
        in.starts_with(kUnlockKeyPrefix) ? in.substr(kUnlockKeyPrefix.size()) : std::string_view();
    if (rest.size() >= 8 && rest.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz") ==
                                std::string_view::npos) {
      // Unless it is the message's own words ("characte" of "characters"): the refusal
      // of the same input with the value swapped for as many '0's (or '1's) holds it too.
      std::string swapped(kUnlockKeyPrefix);
      swapped.append(rest.size(), rest.starts_with('0') ? '1' : '0');
      auto other = ParseUnlockKey(swapped);
      const bool own_words = !other.ok() && other.status().message().find(rest) != std::string::npos;
      FUZZ_CHECK(own_words || m.find(rest) == std::string::npos, "the message does not repeat the key");
    }
    return 0;
  }
  FUZZ_CHECK(key->size() == kUnlockKeySize, "a parsed key has 32 bytes");
  auto text = FormatUnlockKey(*key);
  FUZZ_CHECK(text.ok() && *text == in, "a parsed key formats back to its text");
  WipeString(*text);
  return 0;
}
