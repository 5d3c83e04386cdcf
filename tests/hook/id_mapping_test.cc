#include "hook/oci/id_mapping.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/testing/status_assert.h"

namespace ocisecrets::hook {
namespace {

using ::ocisecrets::testing::IsError;

TEST(IdMappingTest, MapsThroughTheCoveringRange) {
  const std::vector<IdMapping> maps = {{0, 100000, 1000}, {1000, 5000, 10}};
  struct Case {
    const char* description;
    std::uint32_t id;
    bool mapped;
    std::uint32_t host;
  };
  const std::vector<Case> cases = {
      {"root maps to the range start", 0, true, 100000},
      {"last id of the first range", 999, true, 100999},
      {"first id of the second range", 1000, true, 5000},
      {"last id of the second range", 1009, true, 5009},
      {"just past every range", 1010, false, 0},
      {"nobody is not mapped", 65534, false, 0},
  };
  for (const auto& c : cases) {
    Result<std::uint32_t> r = MapToHost(maps, c.id);
    EXPECT_EQ(r.ok(), c.mapped) << c.description;
    if (r.ok()) {
      EXPECT_EQ(*r, c.host) << c.description;
    }
  }
}

TEST(IdMappingTest, NoMappingsMeansIdentity) {
  Result<std::uint32_t> r = MapToHost({}, 999);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 999u);
}

TEST(IdMappingTest, UnmappedIdErrorNamesTheId) {
  Result<std::uint32_t> r = MapToHost({{0, 100000, 1}}, 7);
  ASSERT_TRUE(IsError(r, StatusCode::kInvalidArgument, "id 7"));
}

TEST(IdMappingTest, RangeAtTheTopOfThe32BitSpace) {
  Result<std::uint32_t> r = MapToHost({{4294967000u, 10, 295}}, 4294967294u);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 304u);
}

}  // namespace
}  // namespace ocisecrets::hook
