// Fuzzes the placement constraint parser and evaluator (shared/constraint.h): service
// specs carry constraints from any admin, and every lease of such a service evaluates them.
// Invariants: an accepted expression's canonical text parses back to itself, holds no
// newline or NUL, is no longer than the input; a node whose attribute is the value
// satisfies `==` and fails `!=`; a label the node lacks fails `==` and satisfies `!=`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/constraint.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// A node whose every attribute (and the constraint's label, when it names one) is value.
ocisecrets::NodeAttributes NodeWith(const ocisecrets::Constraint& c) {
  ocisecrets::NodeAttributes node{c.value, c.value, c.value, {}};
  constexpr std::string_view kLabels = "node.labels.";
  if (c.key.starts_with(kLabels)) node.labels[c.key.substr(kLabels.size())] = c.value;
  return node;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Result<Constraint> c = ParseConstraint(in);
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == StatusCode::kInvalidArgument, "a refusal is InvalidArgument");
    FUZZ_CHECK(c.status().message().find('\n') == std::string::npos, "a refusal is one line");
    return 0;
  }
  const std::string canonical = ToString(*c);
  FUZZ_CHECK(canonical.find('\n') == std::string::npos, "canonical text has no newline");
  FUZZ_CHECK(canonical.find('\0') == std::string::npos, "canonical text has no NUL");
  FUZZ_CHECK(canonical.size() <= in.size(), "canonical text is no longer than the input");
  FUZZ_CHECK(canonical.starts_with("node."), "every key is a node's");
  Result<Constraint> again = ParseConstraint(canonical);
  FUZZ_CHECK(again.ok() && ToString(*again) == canonical, "canonical text parses to itself");

  Constraint eq = *c;
  eq.equal = true;
  Constraint ne = *c;
  ne.equal = false;
  const NodeAttributes node = NodeWith(*c);
  FUZZ_CHECK(!FirstUnmet({eq}, node).has_value(), "the node with the value satisfies ==");
  FUZZ_CHECK(FirstUnmet({ne}, node) == ToString(ne), "the node with the value fails !=");
  if (c->key.starts_with("node.labels.")) {
    const NodeAttributes unlabelled{"id", "host", "node", {}};
    FUZZ_CHECK(FirstUnmet({eq}, unlabelled).has_value(), "a missing label fails ==");
    FUZZ_CHECK(!FirstUnmet({ne}, unlabelled).has_value(), "a missing label satisfies !=");
  }
  return 0;
}
