// Fuzzes the OCI state JSON the hook reads on stdin (hook/oci/oci_state.h), which the
// runtime writes from what the container's creator chose (id, annotations).
// Invariants: an accepted state has a non-empty id without '/', newline or NUL, an absolute
// bundle and a non-negative pid; written back as JSON and parsed again it gives the same
// state; the opt-in annotation is read from the state only; a refusal says why, prefixed
// "state".
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "hook/oci/oci_state.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ocisecrets::hook::ContainerState;

// The state as the runtime would write it: only the fields the hook keeps.
std::string WriteBack(const ContainerState& s) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = s.id;
  if (!s.status.empty()) j["status"] = s.status;
  j["pid"] = s.pid;
  j["bundle"] = s.bundle;
  if (s.has_annotations) {
    j["annotations"] = nlohmann::json::object();
    for (const auto& [k, v] : s.annotations) j["annotations"][k] = v;
  }
  // The parser refuses invalid UTF-8, so everything it kept encodes.
  return j.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets::hook;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto state = ParseState(in);
  if (!state.ok()) {
    FUZZ_CHECK(state.status().message().starts_with("state"), "a refusal is prefixed 'state'");
    return 0;
  }
  const ContainerState& s = *state;
  FUZZ_CHECK(!s.id.empty(), "accepted id is not empty");
  FUZZ_CHECK(s.id.find_first_of(std::string_view("/\n\0", 3)) == std::string::npos,
             "accepted id has no '/', newline or NUL");
  FUZZ_CHECK(!s.bundle.empty() && s.bundle.front() == '/', "accepted bundle is absolute");
  FUZZ_CHECK(s.pid >= 0, "accepted pid is not negative");
  FUZZ_CHECK(s.has_annotations || s.annotations.empty(), "annotations only when present");

  auto again = ParseState(WriteBack(s));
  FUZZ_CHECK(again.ok(), "a written-back state parses");
  FUZZ_CHECK(again->id == s.id && again->status == s.status && again->pid == s.pid &&
                 again->bundle == s.bundle && again->annotations == s.annotations &&
                 again->has_annotations == s.has_annotations,
             "a written-back state parses to the same state");

  auto service = ServiceAnnotation(s, nullptr);
  auto it = s.annotations.find(std::string(kServiceAnnotation));
  FUZZ_CHECK(service.has_value() == (it != s.annotations.end()),
             "opted in exactly when the state has the annotation");
  if (service) FUZZ_CHECK(*service == it->second, "the service is the annotation's value");
  return 0;
}
