#include "tests/bench/bench_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <set>
#include <string>
#include <vector>

#include "tests/bench/unix_http.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/status_assert.h"

namespace ocisecrets::bench {
namespace {

using ::ocisecrets::testing::IsError;

TEST(QuantileTest, InterpolatesBetweenRanks) {
  struct Case {
    const char* description;
    std::vector<double> values;
    double q;
    double want;
  };
  const Case cases[] = {
      {"empty sample is zero", {}, 0.5, 0},
      {"single value is every quantile", {7}, 0.95, 7},
      {"odd count median is the middle", {3, 1, 2}, 0.5, 2},
      {"even count median is the mean of the middle two", {4, 1, 3, 2}, 0.5, 2.5},
      {"p95 of 1..21 is 20", {}, 0.95, 20},
      {"q above 1 is clamped to the max", {1, 2, 3}, 1.5, 3},
      {"q 0 is the min", {5, 9, 2}, 0, 2},
  };
  for (Case c : cases) {
    if (std::string(c.description).rfind("p95 of 1..21", 0) == 0) {
      for (int i = 1; i <= 21; ++i) c.values.push_back(i);
    }
    EXPECT_DOUBLE_EQ(Quantile(c.values, c.q), c.want) << c.description;
  }
}

TEST(SummarizeTest, ReportsOrderStatisticsOfUnsortedInput) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  Summary s = Summarize(v);
  EXPECT_EQ(s.n, 100u);
  EXPECT_DOUBLE_EQ(s.median, 50.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_NEAR(s.p95, 95.05, 1e-9);
  EXPECT_NEAR(s.p99, 99.01, 1e-9);
}

TEST(RunInterleavedTest, RunsEveryVariantOnceARoundInShuffledOrders) {
  std::string order;
  std::vector<Variant> variants = {
      {"a", [&] { order += 'a'; return Status::Ok(); }, {}},
      {"b", [&] { order += 'b'; return Status::Ok(); }, [&] { order += 'p'; return Status::Ok(); }},
      {"c", [&] { order += 'c'; return Status::Ok(); }, {}},
  };
  auto results = RunInterleaved(variants, /*rounds=*/40, /*warmup=*/2);
  ASSERT_EQ(order.size(), 42u * 4);
  std::set<std::string> rounds;
  for (std::size_t at = 0; at < order.size(); at += 4) {
    std::string round = order.substr(at, 4);
    EXPECT_NE(round.find("pb"), std::string::npos) << "b's prepare runs just before b: " << round;
    std::string sorted = round;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, "abcp") << "each variant once a round: " << round;
    rounds.insert(round);
  }
  EXPECT_GT(rounds.size(), 3u) << "the order changes from round to round";
  std::string again;
  std::swap(order, again);
  RunInterleaved(variants, 40, 2);
  EXPECT_EQ(order, again) << "a fixed seed: a rerun runs in the same orders";
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].ms.size(), 40u) << "warm-up rounds are not recorded";
  EXPECT_EQ(results[1].summary.n, 40u);
}

TEST(RunInterleavedTest, RecordsCpuNextToWallTimeOnlyForVariantsThatReportIt) {
  double next = 0;
  std::vector<Variant> variants = {
      {"measured", [] { return Status::Ok(); }, {}, [&] { return next += 1; }},
      {"plain", [] { return Status::Ok(); }, {}},
  };
  auto results = RunInterleaved(variants, /*rounds=*/3, /*warmup=*/2);
  EXPECT_EQ(results[0].cpu_ms, (std::vector<double>{1, 2, 3})) << "recorded rounds only";
  EXPECT_EQ(results[0].cpu.n, 3u);
  EXPECT_DOUBLE_EQ(results[0].cpu.median, 2);
  EXPECT_TRUE(results[1].cpu_ms.empty());
  EXPECT_EQ(results[1].cpu.n, 0u);
}

TEST(RunProcessTest, ReportsTheCpuOfTheChildAndOfWhatItWaitedFor) {
  // The work happens in a grandchild the child waits for, as a runtime waits for hooks.
  auto r = RunProcess({"/bin/sh", "-c", "sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done'"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_GT(r->cpu_ms, 0) << "a busy loop shows some CPU time";
  double cpu = -1;
  EXPECT_TRUE(RunChecked({"/bin/true"}, {}, &cpu).ok());
  EXPECT_GE(cpu, 0);
}

TEST(RunProcessTest, FeedsInputLargerThanAPipeToStdin) {
  ProcessIo io;
  io.input.assign(300 * 1024, 'x');  // more than a pipe holds: written as the child reads
  for (std::size_t i = 0; i < io.input.size(); i += 4096) io.input[i] = static_cast<char>('a' + i % 26);
  io.capture_out = true;
  auto r = RunProcess({"/bin/cat"}, io);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_TRUE(r->out == io.input) << "cat gave back " << r->out.size() << " bytes of " << io.input.size();
}

TEST(RunProcessTest, AppendsStderrToTheFileGivenInsteadOfCapturingIt) {
  ocisecrets::testing::TempDir dir;
  ProcessIo io;
  io.stderr_path = dir / "err.log";
  for (const char* word : {"first", "second"}) {
    auto r = RunProcess({"/bin/sh", "-c", std::string("echo ") + word + " >&2"}, io);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->err, "");
  }
  std::ifstream in(io.stderr_path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "first\nsecond\n");
}

TEST(RunInterleavedTest, DropsAFailingVariantAndKeepsItsError) {
  int b_runs = 0;
  int c_runs = 0;
  std::vector<Variant> variants = {
      {"a", [] { return Status::Ok(); }, {}},
      {"b", [&] { return ++b_runs == 2 ? Status::IOError("boom") : Status::Ok(); }, {}},
      {"c", [&] { ++c_runs; return Status::Ok(); }, {}},
  };
  auto results = RunInterleaved(variants, 5, 0);
  EXPECT_EQ(b_runs, 2);
  EXPECT_EQ(c_runs, 5) << "the others go on";
  EXPECT_EQ(results[1].error.message(), "boom");
  EXPECT_TRUE(results[0].error.ok());
}

TEST(FormatTest, ChoosesUnitsAndSeparators) {
  EXPECT_EQ(FormatMs(27.314), "27.3 ms");
  EXPECT_EQ(FormatMs(0.812), "812 us");
  EXPECT_EQ(FormatMs(1204), "1.20 s");
  EXPECT_EQ(FormatMs(3.14159), "3.14 ms");
  EXPECT_EQ(FormatCount(21400.4), "21,400");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000000), "1,000,000");
}

TEST(ProcTest, ReadsOurOwnResidentSize) {
  auto rss = ResidentKiB(::getpid());
  auto peak = PeakResidentKiB(::getpid());
  ASSERT_TRUE(rss.ok());
  ASSERT_TRUE(peak.ok());
  EXPECT_GT(*rss, 0);
  EXPECT_GE(*peak, *rss);
  EXPECT_TRUE(IsError(ResidentKiB(-5), StatusCode::kNotFound, "no process -5"));
  EXPECT_EQ(FormatKiB(39117), "38.2 MiB");
  volatile double x = 0;
  for (int i = 0; i < 20000000; ++i) x = x + i;  // some CPU time to see
  auto cpu = CpuTimeMs(::getpid());
  ASSERT_TRUE(cpu.ok());
  EXPECT_GT(*cpu, 0);
}

TEST(FormatTest, ComparesMediansAsDeltaAndRatio) {
  Summary ref;
  ref.n = 10;
  ref.median = 20;
  Summary s;
  s.n = 10;
  s.median = 21;
  EXPECT_EQ(CompareMedians(s, ref, "no hooks"), "+1.00 ms (1.05x) vs no hooks");
  s.median = 19.5;
  EXPECT_EQ(CompareMedians(s, ref, "floor"), "-500 us (0.97x) vs floor");
  Summary empty;
  EXPECT_EQ(CompareMedians(empty, ref, "x"), "") << "no figure from an empty sample";
}

TEST(FormatTest, RowsPrintDashesForEmptyCells) {
  Row r = NotAvailableRow("manager", "leases over mTLS", "n/a: mTLS not built yet");
  EXPECT_EQ(FormatRow(r), "| manager | leases over mTLS | - | - | - | - | n/a: mTLS not built yet |\n");
}

TEST(FormatTest, DistributionRowsGiveMedianTailAndMax) {
  Summary s = Summarize({1, 2, 3, 4, 100});
  Row r = DistributionRow("live", "N = 5", s, "CPU p50");
  EXPECT_EQ(FormatRow(r), "| live | N = 5 | 5 | CPU p50 3.00 ms | p99 96.2 ms, max 100 ms | - | - |\n");
  EXPECT_EQ(GoalLine(true, "p99 under 1 s"), "goal p99 under 1 s: met");
  EXPECT_EQ(GoalLine(false, "p99 under 1 s"), "goal p99 under 1 s: not met");
}

TEST(OptionsTest, ParsesCommonFlagsAndLeavesTheRest) {
  const char* argv[] = {"x", "--quick", "--rounds", "12", "--rows-only", "--runtime", "crun"};
  auto o = ParseOptions(7, const_cast<char**>(argv));
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->quick);
  EXPECT_TRUE(o->rows_only);
  EXPECT_EQ(o->rounds.value_or(0), 12);
  EXPECT_EQ(o->rest, (std::vector<std::string>{"--runtime", "crun"}));
}

TEST(OptionsTest, RejectsABadRoundCount) {
  const char* argv[] = {"x", "--rounds", "0"};
  EXPECT_TRUE(IsError(ParseOptions(3, const_cast<char**>(argv)), StatusCode::kInvalidArgument,
                      "--rounds: not a positive number: 0"));
  const char* argv2[] = {"x", "--rounds"};
  EXPECT_TRUE(IsError(ParseOptions(2, const_cast<char**>(argv2)), StatusCode::kInvalidArgument,
                      "--rounds needs a number"));
}

TEST(ResponseParserTest, ParsesContentLengthFedByteByByte) {
  std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: x\r\n\r\nhelloHTTP/1.1";
  ResponseParser p;
  std::size_t used = 0;
  for (std::size_t i = 0; i < raw.size() && !p.done(); ++i) {
    auto n = p.Feed(std::string_view(raw).substr(i, 1));
    ASSERT_TRUE(n.ok());
    used += *n;
  }
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.reply().status, 200);
  EXPECT_EQ(p.reply().body, "hello");
  EXPECT_EQ(used, raw.size() - 8) << "bytes of the next response are left alone";
}

TEST(ResponseParserTest, ParsesChunkedBodyInOnePiece) {
  std::string raw = "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  ResponseParser p;
  auto n = p.Feed(raw);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, raw.size());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.reply().status, 201);
  EXPECT_EQ(p.reply().body, "abcde");
}

TEST(ResponseParserTest, RejectsWhatIsNotHttp) {
  ResponseParser p;
  EXPECT_TRUE(
      IsError(p.Feed("SSH-2.0-OpenSSH\r\n\r\n"), StatusCode::kDataLoss, "not an HTTP response"));
}

TEST(ResponseParserTest, NoBodyWhenNoLengthIsGiven) {
  ResponseParser p;
  auto n = p.Feed("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.reply().status, 204);
  EXPECT_TRUE(p.reply().body.empty());
}

}  // namespace
}  // namespace ocisecrets::bench
