#include "shared/refresh_plan.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "tests/testing/status_assert.h"

namespace ocisecrets {
namespace {

using ::ocisecrets::testing::IsError;

LeasedFile File(const std::string& name, const std::string& payload) {
  LeasedFile f;
  f.name = name;
  f.uid = 999;
  f.gid = 998;
  f.mode = 0400;
  f.data.assign(payload.begin(), payload.end());
  return f;
}

RefreshPlan Plan() {
  RefreshPlan p;
  p.container_id = "c1";
  p.pid = 4242;
  p.start_time = 123456;
  p.secrets_dir = "/run/secrets";
  p.tmpfs_size = 1 << 20;
  p.signal = 1;
  LeasedFile db = File("db", "hunter2");
  db.secret_id = "abc";
  db.version = 3;
  p.files.push_back(db);
  LeasedFile prev = File("db.previous", "hunter1");
  prev.secret_id = "abc";
  prev.version = 2;
  prev.previous = true;
  p.files.push_back(prev);
  return p;
}

TEST(RefreshPlanTest, WritesSortedKeysAndLeavesOutEmptyExtras) {
  RefreshPlan p = Plan();
  p.signal = 0;
  p.files = {File("a", "x")};
  EXPECT_EQ(ToJson(p),
            R"({"ContainerID":"c1","Files":[{"Data":"eA==","GID":998,"Mode":256,"Name":"a",)"
            R"("UID":999}],"Pid":4242,"SecretsDir":"/run/secrets","StartTime":123456,)"
            R"("TmpfsSize":1048576})");
  p.signal = 1;
  p.files[0].secret_id = "abc";
  p.files[0].version = 3;
  p.files[0].previous = true;
  EXPECT_EQ(ToJson(p),
            R"({"ContainerID":"c1","Files":[{"Data":"eA==","GID":998,"Mode":256,"Name":"a",)"
            R"("Previous":true,"SecretID":"abc","UID":999,"Version":3}],"Pid":4242,)"
            R"("SecretsDir":"/run/secrets","Signal":1,"StartTime":123456,"TmpfsSize":1048576})");
}

TEST(RefreshPlanTest, RoundTripsEveryField) {
  RefreshPlan p = Plan();
  Result<RefreshPlan> back = ParseRefreshPlan(ToJson(p));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->container_id, "c1");
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->start_time, 123456u);
  EXPECT_EQ(back->secrets_dir, "/run/secrets");
  EXPECT_EQ(back->tmpfs_size, 1u << 20);
  EXPECT_EQ(back->signal, 1);
  ASSERT_EQ(back->files.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const LeasedFile& a = p.files[i];
    const LeasedFile& b = back->files[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.uid, a.uid);
    EXPECT_EQ(b.gid, a.gid);
    EXPECT_EQ(b.mode, a.mode);
    EXPECT_EQ(b.data, a.data);
    EXPECT_EQ(b.secret_id, a.secret_id);
    EXPECT_EQ(b.version, a.version);
    EXPECT_EQ(b.previous, a.previous);
  }
}

TEST(RefreshPlanTest, AZeroFilePlanIsValid) {
  RefreshPlan p = Plan();
  p.files.clear();
  Result<RefreshPlan> back = ParseRefreshPlan(ToJson(p));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->files.empty());
}

TEST(RefreshPlanTest, RefusesMalformedPlansNamingTheFieldNeverTheValue) {
  struct Case {
    const char* description;
    std::string json;
    const char* message;
  };
  const std::string files = R"("Files":[{"Data":"aHVudGVyMg==","Name":"db"}])";
  const std::string tail = R"(,"SecretsDir":"/run/secrets","StartTime":5,"TmpfsSize":4096})";
  const Case cases[] = {
      {"not JSON", "{hunter2", "refresh plan: malformed JSON"},
      {"not an object", "[]", "refresh plan: must be an object"},
      {"no container", R"({"Pid":1,)" + files + tail,
       "refresh plan: ContainerID: must be a non-empty string"},
      {"pid zero", R"({"ContainerID":"c","Pid":0,)" + files + tail,
       "refresh plan: Pid: must be a positive integer"},
      {"pid negative", R"({"ContainerID":"c","Pid":-3,)" + files + tail,
       "refresh plan: Pid: must be a positive integer"},
      {"pid too large", R"({"ContainerID":"c","Pid":4294967296,)" + files + tail,
       "refresh plan: Pid: must be a positive integer"},
      {"start time missing",
       R"({"ContainerID":"c","Pid":1,)" + files + R"(,"SecretsDir":"/s","TmpfsSize":1})",
       "refresh plan: StartTime: must be a positive integer"},
      {"relative secrets dir",
       R"({"ContainerID":"c","Pid":1,)" + files +
           R"(,"SecretsDir":"run/secrets","StartTime":5,"TmpfsSize":4096})",
       "refresh plan: SecretsDir: must be an absolute path"},
      {"signal 65", R"({"ContainerID":"c","Pid":1,"Signal":65,)" + files + tail,
       "refresh plan: Signal: must be a signal number 0 to 64"},
      {"no files", R"({"ContainerID":"c","Pid":1)" + tail, "refresh plan: Files: must be an array"},
      {"bad base64",
       R"({"ContainerID":"c","Pid":1,"Files":[{"Data":"hunter2!","Name":"db"}])" + tail,
       "refresh plan: Files[0]: Data: must be base64"},
      {"file without a name",
       R"({"ContainerID":"c","Pid":1,"Files":[{"Data":"aHVudGVyMg=="}])" + tail,
       "refresh plan: Files[0]: Name: must be a non-empty string"},
      {"mode beyond 07777",
       R"({"ContainerID":"c","Pid":1,"Files":[{"Data":"aHVudGVyMg==","Name":"d","Mode":4096}])" +
           tail,
       "refresh plan: Files[0]: field Mode: out of range"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.description);
    Result<RefreshPlan> r = ParseRefreshPlan(c.json);
    EXPECT_TRUE(IsError(r.status(), StatusCode::kInvalidArgument, c.message));
    EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos);
    EXPECT_EQ(r.status().message().find("aHVudGVyMg"), std::string::npos);
  }
}

TEST(RefreshOutcomeTest, TheLastNonEmptyLineDecides) {
  struct Case {
    const char* description;
    const char* out;
    RefreshOutcome::Kind kind;
    const char* detail;
  };
  using K = RefreshOutcome::Kind;
  const Case cases[] = {
      {"refreshed", "refreshed files=2\n", K::kRefreshed, "refreshed files=2"},
      {"skipped after a note", "note\nskipped: container exited\n\n", K::kSkipped,
       "skipped: container exited"},
      {"failed", "oci-secrets-hook: refresh: setns: EPERM\r\n", K::kFailed,
       "oci-secrets-hook: refresh: setns: EPERM"},
      {"empty", "", K::kFailed, "no answer from oci-secrets-hook refresh"},
      {"only blank lines", "\n \n", K::kFailed, "no answer from oci-secrets-hook refresh"},
      {"unknown words", "Segmentation fault\n", K::kFailed,
       "no answer from oci-secrets-hook refresh"},
      {"refreshed not last", "refreshed files=1\ngarbage", K::kFailed,
       "no answer from oci-secrets-hook refresh"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.description);
    RefreshOutcome o = ParseRefreshOutcome(c.out);
    EXPECT_EQ(o.kind, c.kind);
    EXPECT_EQ(o.detail, c.detail);
  }
}

TEST(StatStartTimeTest, ReadsField22AfterTheLastParenthesis) {
  // A command name with spaces and parentheses must not shift the fields.
  const std::string stat =
      "77 (a) b (c)) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200";
  Result<std::uint64_t> t = ParseStatStartTime(stat);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*t, 987654u);
}

TEST(StatStartTimeTest, RefusesMalformedText) {
  EXPECT_TRUE(IsError(ParseStatStartTime("77 S 1 2").status(), StatusCode::kInvalidArgument,
                      "/proc stat: no command name in parentheses"));
  EXPECT_TRUE(IsError(ParseStatStartTime("77 (x) S 1 2 3").status(), StatusCode::kInvalidArgument,
                      "/proc stat: fewer than 22 fields"));
  EXPECT_TRUE(IsError(
      ParseStatStartTime("7 (x) S 1 7 7 0 -1 4 1 0 0 0 1 2 0 0 20 0 1 0 12x4 1000").status(),
      StatusCode::kInvalidArgument, "/proc stat: field 22 (starttime) is not a number"));
}

TEST(StatStartTimeTest, ThisProcessHasAStartTimeAndAGoneOneIsNotFound) {
  Result<std::uint64_t> self = ProcessStartTime(getpid());
  ASSERT_TRUE(self.ok()) << self.status().message();
  EXPECT_GT(*self, 0u);
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_TRUE(IsError(ProcessStartTime(child).status(), StatusCode::kNotFound,
                      "process " + std::to_string(child) + " not found"));
}

}  // namespace
}  // namespace ocisecrets
