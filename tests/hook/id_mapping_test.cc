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

TEST(ProcIdMapTest, ReadsTheKernelsColumnsAndTheIdentityMap) {
  Result<std::vector<IdMapping>> m =
      ParseProcIdMap("         0     100000       1000\n      1000       5000         10\n");
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[1].container_id, 1000u);
  EXPECT_EQ((*m)[1].host_id, 5000u);
  EXPECT_EQ((*m)[1].size, 10u);
  EXPECT_EQ(*MapToHost(*m, 1003), 5003u);
  Result<std::vector<IdMapping>> identity = ParseProcIdMap("0 0 4294967295\n");
  ASSERT_TRUE(identity.ok()) << identity.status().message();
  EXPECT_EQ(*MapToHost(*identity, 4294967294u), 4294967294u);
}

TEST(ProcIdMapTest, RefusesMalformedAndEmptyMaps) {
  EXPECT_TRUE(IsError(ParseProcIdMap(""), StatusCode::kInvalidArgument, "id map: empty"));
  EXPECT_TRUE(
      IsError(ParseProcIdMap("0 0\n"), StatusCode::kInvalidArgument, "id map: malformed line"));
  EXPECT_TRUE(IsError(ParseProcIdMap("0 0 10 x\n"), StatusCode::kInvalidArgument,
                      "id map: malformed line"));
  EXPECT_TRUE(IsError(ParseProcIdMap("0 0 4294967296\n"), StatusCode::kInvalidArgument,
                      "id map: malformed line"));
}

}  // namespace
}  // namespace ocisecrets::hook
