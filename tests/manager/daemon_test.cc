#include "manager/daemon/daemon.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

TEST(DaemonTest, ListenUnixMakesA0660SocketAndRefusesToReplaceALiveOne) {
  char tmpl[] = "/tmp/ocs-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string path = dir + "/sub/m.sock";
  auto fd = ListenUnix(path, std::nullopt);
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);

  auto second = ListenUnix(path, std::nullopt);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("already serving"), std::string::npos);

  ::close(*fd);  // now stale: connect gets ECONNREFUSED
  auto third = ListenUnix(path, std::nullopt);
  EXPECT_TRUE(third.ok()) << third.status().message();
  if (third.ok()) ::close(*third);
  ::unlink(path.c_str());
  ::rmdir((dir + "/sub").c_str());
  ::rmdir(dir.c_str());
}

TEST(DaemonTest, AnUnknownStoreEngineIsAUsageErrorBeforeAnythingIsTouched) {
  testing::TempDir tmp;
  const std::string state = tmp / "state";
  const std::string socket = tmp / "m.sock";
  std::vector<std::string> args = {"oci-secretsd", "--state-dir", state, "--socket", socket,
                                   "--store", "mongodb"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  EXPECT_EQ(DaemonMain(static_cast<int>(argv.size()), argv.data()), 2);
  struct stat st {};
  EXPECT_NE(::stat(state.c_str(), &st), 0) << "the state dir was not created";
}

}  // namespace
}  // namespace ocisecrets
