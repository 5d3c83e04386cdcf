// The test-only fault points: absent from an ordinary build whatever the environment
// says; in a -DOCI_SECRETS_FAULT_POINTS=ON build, armed by exact name from the list.
#include "shared/fault_point.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace ocisecrets {
namespace {

class FaultPointTest : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv("OCI_SECRETS_FAULT_POINTS"); }
};

#ifndef OCI_SECRETS_FAULT_POINTS
TEST_F(FaultPointTest, AnOrdinaryBuildHasNoneWhateverTheEnvironmentSays) {
  setenv("OCI_SECRETS_FAULT_POINTS", "partial-file,hook-hang", 1);
  EXPECT_FALSE(OCI_FAULT_POINT("partial-file"));
  EXPECT_FALSE(OCI_FAULT_POINT("hook-hang"));
}
#else
TEST_F(FaultPointTest, AFaultPointBuildArmsExactlyTheListedNames) {
  EXPECT_FALSE(OCI_FAULT_POINT("partial-file"));
  setenv("OCI_SECRETS_FAULT_POINTS", "payload-to-log,partial-file", 1);
  EXPECT_TRUE(OCI_FAULT_POINT("partial-file"));
  EXPECT_TRUE(OCI_FAULT_POINT("payload-to-log"));
  EXPECT_FALSE(OCI_FAULT_POINT("partial"));
  EXPECT_FALSE(OCI_FAULT_POINT("hook-hang"));
  setenv("OCI_SECRETS_FAULT_POINTS", "", 1);
  EXPECT_FALSE(OCI_FAULT_POINT("partial-file"));
}
#endif

}  // namespace
}  // namespace ocisecrets
