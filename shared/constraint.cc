#include "shared/constraint.h"

#include <algorithm>

#include "shared/validation.h"

namespace ocisecrets {
namespace {

constexpr std::string_view kLabelPrefix = "node.labels.";
constexpr std::string_view kKnownKeys = "node.id, node.hostname, node.role or node.labels.KEY";

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), LowerAscii);
  return out;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return LowerAscii(x) == LowerAscii(y); });
}

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Swarm's key characters: letters, digits, '-', '_' and '.'.
bool IsKeyChar(char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; }

// Swarm's value characters; blanks only inside (the value is trimmed first).
bool IsValueChar(char c) {
  return IsAlnum(c) || c == ' ' || c == '\t' ||
         std::string_view(":-_.*()?+[]\\^$|/").find(c) != std::string_view::npos;
}

// "worker" is Swarm's word for our "node" role.
std::string CanonicalRole(std::string_view role) {
  std::string r = Lower(role);
  return r == "worker" ? "node" : r;
}

// The attribute of node that key names; nullopt for a label the node does not have.
std::optional<std::string_view> AttributeOf(const std::string& key, const NodeAttributes& node) {
  if (key == "node.id") return node.id;
  if (key == "node.hostname") return node.hostname;
  if (key.starts_with(kLabelPrefix)) {
    auto it = node.labels.find(key.substr(kLabelPrefix.size()));
    if (it == node.labels.end()) return std::nullopt;
    return it->second;
  }
  return std::nullopt;  // node.role is compared by Holds itself
}

bool Holds(const Constraint& c, const NodeAttributes& node) {
  bool match = false;
  if (c.key == "node.role") {
    match = CanonicalRole(c.value) == CanonicalRole(node.role);
  } else {
    // A missing label reads as "", which no (non-empty) value equals.
    std::optional<std::string_view> have = AttributeOf(c.key, node);
    match = have.has_value() && EqualsIgnoringCase(*have, c.value);
  }
  return c.equal == match;
}

}  // namespace

Result<Constraint> ParseConstraint(std::string_view expr) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("constraint " + QuoteForMessage(expr) + ": " + why);
  };
  if (expr.size() > kMaxConstraintLength) {
    return bad("longer than " + std::to_string(kMaxConstraintLength) + " bytes");
  }
  const std::size_t eq = expr.find("==");
  const std::size_t ne = expr.find("!=");
  const std::size_t at = std::min(eq, ne);
  if (at == std::string_view::npos) return bad("no operator: use KEY==VALUE or KEY!=VALUE");
  Constraint c;
  c.equal = at == eq;
  const std::string_view op = c.equal ? "==" : "!=";
  const std::string_view key = Trim(expr.substr(0, at));
  const std::string_view value = Trim(expr.substr(at + 2));
  if (key.empty()) return bad("no key before " + std::string(op));
  if (value.empty()) return bad("no value after " + std::string(op));
  for (char ch : key) {
    if (!IsKeyChar(ch)) {
      return bad("invalid key " + QuoteForMessage(key) +
                 ": a key takes letters, digits, '-', '_' and '.'");
    }
  }
  const std::string lower = Lower(key);
  if (lower == "node.id" || lower == "node.hostname" || lower == "node.role") {
    c.key = lower;
  } else if (lower.starts_with(kLabelPrefix)) {
    if (key.size() == kLabelPrefix.size()) return bad("no label name after node.labels.");
    // The label name keeps its case: labels are case-sensitive.
    c.key = std::string(kLabelPrefix) + std::string(key.substr(kLabelPrefix.size()));
  } else {
    return bad("unknown key " + std::string(key) + "; use " + std::string(kKnownKeys));
  }
  for (char ch : value) {
    if (!IsValueChar(ch)) {
      std::string shown = QuoteForMessage(std::string_view(&ch, 1));
      return bad("invalid character " + shown +
                 " in the value: a value takes letters, digits, blanks and :-_.*()?+[]\\^$|/");
    }
  }
  c.value = std::string(value);
  return c;
}

std::string ToString(const Constraint& c) {
  return c.key + (c.equal ? "==" : "!=") + c.value;
}

Result<std::vector<Constraint>> ParseConstraints(const std::vector<std::string>& exprs,
                                                 std::string_view service_name) {
  if (exprs.size() > kMaxServiceConstraints) {
    return Status::InvalidArgument("service " + QuoteForMessage(service_name) + " has " +
                                   std::to_string(exprs.size()) +
                                   " placement constraints; a service may have at most " +
                                   std::to_string(kMaxServiceConstraints));
  }
  std::vector<Constraint> out;
  out.reserve(exprs.size());
  for (const std::string& e : exprs) {
    ASSIGN_OR_RETURN(Constraint c, ParseConstraint(e), "");
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<std::string>> CanonicalConstraints(const std::vector<std::string>& exprs,
                                                      std::string_view service_name) {
  ASSIGN_OR_RETURN(std::vector<Constraint> parsed, ParseConstraints(exprs, service_name), "");
  std::vector<std::string> out;
  out.reserve(parsed.size());
  for (const Constraint& c : parsed) out.push_back(ToString(c));
  return out;
}

std::optional<std::string> FirstUnmet(const std::vector<Constraint>& constraints,
                                      const NodeAttributes& node) {
  for (const Constraint& c : constraints) {
    if (!Holds(c, node)) return ToString(c);
  }
  return std::nullopt;
}

}  // namespace ocisecrets
