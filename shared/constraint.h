// Placement constraints in Docker Swarm's syntax: which nodes may lease a service's
// secrets. An expression is KEY OPERATOR VALUE, blanks allowed around each part:
//
//   node.id==2ltbqkr0ykkx7p0r7mmv0ikh3     node.hostname!=build-01
//   node.role==manager                     node.labels.zone == eu
//
// Keys: node.id, node.hostname, node.role, node.labels.KEY (the part after "node." is
// matched ignoring case, as Swarm does; the label KEY itself is case-sensitive).
// Operators: == and !=. Values are compared ignoring ASCII case, as Swarm does. A service's
// constraints are ANDed. A label the node does not have reads as empty: `==` fails, `!=`
// holds.
//
// Roles: Swarm's words are "manager" and "worker"; ours are "manager" and "node". Both
// "worker" and "node" name a node without the manager role, so node.role==worker and
// node.role==node mean the same.
//
// Every function here is pure and safe from any thread. Messages quote the expression
// (escaped, at most 80 bytes shown) and never hold a payload.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/models.h"
#include "shared/status.h"

namespace ocisecrets {

// What a constraint can look at on a node.
struct NodeAttributes {
  std::string id;
  std::string hostname;
  std::string role;  // "manager" or "node"
  Labels labels;
};

struct Constraint {
  std::string key;    // "node.id", "node.hostname", "node.role" or "node.labels.K"
  bool equal = true;  // == (true) or != (false)
  std::string value;  // trimmed, as written
};

inline constexpr std::size_t kMaxServiceConstraints = 32;
inline constexpr std::size_t kMaxConstraintLength = 256;  // bytes of one expression

// Parses one expression. InvalidArgument `constraint "EXPR": WHAT IS WRONG` for an
// expression longer than kMaxConstraintLength bytes, without an operator, with an empty
// or malformed key or value, or with an unknown key, e.g. `constraint "node.zone==eu":
// unknown key node.zone; use node.id, node.hostname, node.role or node.labels.KEY`.
// Values take Swarm's characters: letters, digits, blanks inside and :-_.*()?+[]\^$|/.
Result<Constraint> ParseConstraint(std::string_view expr);

// The canonical text: the key (its fixed part in lower case), the operator and the value,
// without blanks: "node.labels.zone==eu". ParseConstraint(ToString(c)) gives c back.
std::string ToString(const Constraint& c);

// Parses a service's constraints: at most kMaxServiceConstraints of them (else
// InvalidArgument `service "NAME" has N placement constraints; a service may have at most
// 32`), each by ParseConstraint.
Result<std::vector<Constraint>> ParseConstraints(const std::vector<std::string>& exprs,
                                                 std::string_view service_name);

// ParseConstraints, then each in its canonical text (ToString), in the same order.
Result<std::vector<std::string>> CanonicalConstraints(const std::vector<std::string>& exprs,
                                                      std::string_view service_name);

// The canonical text of the first constraint that node does not satisfy, in the given
// order; nullopt when it satisfies all of them (also when there are none).
std::optional<std::string> FirstUnmet(const std::vector<Constraint>& constraints,
                                      const NodeAttributes& node);

}  // namespace ocisecrets
