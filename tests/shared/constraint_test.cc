#include "shared/constraint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TEST(ConstraintTest, ParsesEveryKeyAndBothOperatorsIntoCanonicalText) {
  struct Case {
    const char* description;
    std::string expr;
    std::string key;
    bool equal;
    std::string value;
    std::string canonical;
  };
  const std::vector<Case> cases = {
      {"node.id ==", "node.id==abc", "node.id", true, "abc", "node.id==abc"},
      {"node.hostname !=", "node.hostname!=build-01", "node.hostname", false, "build-01",
       "node.hostname!=build-01"},
      {"node.role ==", "node.role==manager", "node.role", true, "manager", "node.role==manager"},
      {"node.role worker", "node.role!=worker", "node.role", false, "worker",
       "node.role!=worker"},
      {"a label", "node.labels.zone==eu", "node.labels.zone", true, "eu",
       "node.labels.zone==eu"},
      {"a dotted label", "node.labels.com.example.rack!=r1", "node.labels.com.example.rack",
       false, "r1", "node.labels.com.example.rack!=r1"},
      {"blanks around every part", "  node.labels.zone  ==\teu ", "node.labels.zone", true, "eu",
       "node.labels.zone==eu"},
      {"blanks inside the value stay", "node.labels.name == a b", "node.labels.name", true,
       "a b", "node.labels.name==a b"},
      {"key case folded, label case kept", "NODE.Labels.Zone==EU", "node.labels.Zone", true, "EU",
       "node.labels.Zone==EU"},
      {"Swarm's value characters", "node.hostname==a:b-c_d.e*(f)?+[g]\\^$|/h", "node.hostname",
       true, "a:b-c_d.e*(f)?+[g]\\^$|/h", "node.hostname==a:b-c_d.e*(f)?+[g]\\^$|/h"},
  };
  for (const Case& c : cases) {
    Result<Constraint> parsed = ParseConstraint(c.expr);
    ASSERT_TRUE(parsed.ok()) << c.description << ": " << parsed.status().message();
    EXPECT_EQ(parsed->key, c.key) << c.description;
    EXPECT_EQ(parsed->equal, c.equal) << c.description;
    EXPECT_EQ(parsed->value, c.value) << c.description;
    EXPECT_EQ(ToString(*parsed), c.canonical) << c.description;
    Result<Constraint> again = ParseConstraint(ToString(*parsed));
    ASSERT_TRUE(again.ok()) << c.description;
    EXPECT_EQ(ToString(*again), c.canonical) << c.description << ": canonical is a fixed point";
  }
}

TEST(ConstraintTest, RefusesMalformedExpressionsNamingThemAndTheProblem) {
  struct Case {
    const char* description;
    std::string expr;
    std::string words;
  };
  const std::vector<Case> cases = {
      {"unknown key", "node.zone==eu",
       "constraint \"node.zone==eu\": unknown key node.zone; use node.id, node.hostname, "
       "node.role or node.labels.KEY"},
      {"engine labels are Swarm's, not ours", "engine.labels.os==linux",
       "unknown key engine.labels.os"},
      {"no operator", "node.labels.zone=eu",
       "constraint \"node.labels.zone=eu\": no operator: use KEY==VALUE or KEY!=VALUE"},
      {"empty", "", "constraint \"\": no operator"},
      {"no key", " ==eu", "no key before =="},
      {"no value", "node.id!=  ", "no value after !="},
      {"no label name", "node.labels.==eu", "no label name after node.labels."},
      {"bad key character", "node.labels.a/b==eu",
       "invalid key \"node.labels.a/b\": a key takes letters, digits, '-', '_' and '.'"},
      {"a second operator in the value", "node.id==a==b", "invalid character \"=\" in the value"},
      {"a newline in the value", "node.id==a\nb", "invalid character \"\\x0a\" in the value"},
      {"a quote in the value", "node.id==\"a\"", "invalid character \"\\\"\" in the value"},
      {"257 bytes", "node.id==" + std::string(248, 'a'), "longer than 256 bytes"},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(IsError(ParseConstraint(c.expr), StatusCode::kInvalidArgument, c.words))
        << c.description;
  }
}

TEST(ConstraintTest, AcceptsExactly256Bytes) {
  std::string expr = "node.id==" + std::string(247, 'a');
  ASSERT_EQ(expr.size(), kMaxConstraintLength);
  EXPECT_TRUE(ParseConstraint(expr).ok());
}

TEST(ConstraintTest, AServiceHasAtMost32Constraints) {
  std::vector<std::string> exprs(kMaxServiceConstraints, "node.role==manager");
  Result<std::vector<std::string>> ok = CanonicalConstraints(exprs, "redis");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->size(), kMaxServiceConstraints);
  exprs.push_back("node.role==manager");
  EXPECT_TRUE(IsError(CanonicalConstraints(exprs, "redis"), StatusCode::kInvalidArgument,
                      "service \"redis\" has 33 placement constraints; a service may have at "
                      "most 32"));
}

TEST(ConstraintTest, CanonicalConstraintsNamesTheBadOne) {
  EXPECT_TRUE(IsError(CanonicalConstraints({"node.role==manager", "node.zone==eu"}, "redis"),
                      StatusCode::kInvalidArgument, "constraint \"node.zone==eu\": unknown key"));
  Result<std::vector<std::string>> ok =
      CanonicalConstraints({" node.labels.zone == eu", "node.id!=x"}, "redis");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (std::vector<std::string>{"node.labels.zone==eu", "node.id!=x"}));
}

std::vector<Constraint> Parsed(const std::vector<std::string>& exprs) {
  std::vector<Constraint> out;
  for (const auto& e : exprs) {
    Result<Constraint> c = ParseConstraint(e);
    EXPECT_TRUE(c.ok()) << e;
    if (c.ok()) out.push_back(*c);
  }
  return out;
}

TEST(ConstraintTest, FirstUnmetEvaluatesEveryKeyAsSwarmDoes) {
  NodeAttributes worker{"w1id", "build-01", "node", {{"zone", "eu"}, {"Rack", "r1"}}};
  NodeAttributes manager{"m1id", "mgr", "manager", {}};
  struct Case {
    const char* description;
    std::string expr;
    bool worker_holds;
    bool manager_holds;
  };
  const std::vector<Case> cases = {
      {"id ==", "node.id==w1id", true, false},
      {"id !=", "node.id!=w1id", false, true},
      {"hostname ==, ignoring case", "node.hostname==BUILD-01", true, false},
      {"hostname !=", "node.hostname!=build-01", false, true},
      {"role manager", "node.role==manager", false, true},
      {"role worker is our node", "node.role==worker", true, false},
      {"role node", "node.role==node", true, false},
      {"role != worker", "node.role!=worker", false, true},
      {"label ==", "node.labels.zone==eu", true, false},
      {"label value ignoring case", "node.labels.zone==EU", true, false},
      {"label !=", "node.labels.zone!=eu", false, true},
      {"label key is case-sensitive", "node.labels.rack==r1", false, false},
      {"missing label: != holds", "node.labels.gpu!=yes", true, true},
      {"missing label: == fails", "node.labels.gpu==yes", false, false},
  };
  for (const Case& c : cases) {
    std::vector<Constraint> one = Parsed({c.expr});
    EXPECT_EQ(!FirstUnmet(one, worker).has_value(), c.worker_holds) << c.description;
    EXPECT_EQ(!FirstUnmet(one, manager).has_value(), c.manager_holds) << c.description;
  }
}

TEST(ConstraintTest, FirstUnmetNamesTheFirstFailingConstraintInCanonicalText) {
  NodeAttributes node{"w1id", "build-01", "node", {{"zone", "us"}}};
  std::vector<Constraint> all =
      Parsed({"node.role == worker", "node.labels.zone == eu", "node.id==other"});
  EXPECT_EQ(FirstUnmet(all, node), std::optional<std::string>("node.labels.zone==eu"));
  EXPECT_EQ(FirstUnmet({}, node), std::nullopt) << "no constraints: every node";
  node.labels["zone"] = "eu";
  EXPECT_EQ(FirstUnmet(all, node), std::optional<std::string>("node.id==other"));
  node.id = "other";
  EXPECT_EQ(FirstUnmet(all, node), std::nullopt);
}

}  // namespace
}  // namespace ocisecrets
