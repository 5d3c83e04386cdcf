#include "shared/secret_sax_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shared/models.h"

namespace ocisecrets {
namespace {

// The SAX reader takes what a client other than ours may send (any key order, blanks,
// escapes, unknown fields), so that such listings too are read without a DOM.
TEST(SecretSaxReaderTest, ReadsSecretsInAnyShapeTheGeneralReaderAccepts) {
  const std::string text =
      R"([ {"Spec": {"Labels": {"env": "prod"}, "Name": "n\u0031", "Driver": {"Name": "x"}},)"
      R"( "Version": {"Index": 7}, "ID": "i", "X": [1, {"y": null}],)"
      R"( "CreatedAt": "2026-11-29T23:41:07Z", "UpdatedAt": null},)"
      R"( {"ID": "j"} ])";
  std::vector<Secret> out;
  ASSERT_TRUE(ReadSecretsSax(text, /*list=*/true, &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].spec.name, "n1");
  EXPECT_EQ(out[0].version, 7u);
  EXPECT_EQ(out[0].spec.labels.at("env"), "prod");
  EXPECT_EQ(out[0].created_at, *ParseTime("2026-11-29T23:41:07Z"));
  EXPECT_EQ(out[1].id, "j");

  std::vector<Secret> one;
  ASSERT_TRUE(ReadSecretsSax(R"( {"ID": "i", "Spec": {"Name": "s"}} )", /*list=*/false, &one));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].spec.name, "s");
}

// What it cannot read exactly as the general reader does, it refuses, leaving *out alone.
TEST(SecretSaxReaderTest, RefusesWhatTheGeneralReaderMustDecide) {
  struct Case {
    const char* description;
    const char* text;
    bool list;
  } cases[] = {
      {"a repeated field", R"({"ID":"a","ID":"b"})", false},
      {"a wrong type", R"({"ID":5})", false},
      {"Spec null", R"({"Spec":null})", false},
      {"a bad time", R"({"CreatedAt":"yesterday"})", false},
      {"malformed", R"({"ID":)", false},
      {"a list where one secret belongs", R"([{"ID":"a"}])", false},
      {"one secret where a list belongs", R"({"ID":"a"})", true},
      {"a bare value in a list", R"([1])", true},
  };
  for (const Case& c : cases) {
    std::vector<Secret> out(1);
    out[0].id = "untouched";
    EXPECT_FALSE(ReadSecretsSax(c.text, c.list, &out)) << c.description;
    ASSERT_EQ(out.size(), 1u) << c.description;
    EXPECT_EQ(out[0].id, "untouched") << c.description;
  }
}

}  // namespace
}  // namespace ocisecrets
