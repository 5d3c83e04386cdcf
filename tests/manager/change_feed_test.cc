// The change feed (manager/live/change_feed.h): what Since reports for a caller's
// interest, when it says Reset, and how Wait and Subscribe learn of a Publish.
#include "manager/live/change_feed.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace ocisecrets {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

TimePoint At(int seconds) { return TimePoint(std::chrono::seconds(seconds)); }

// A feed whose clock the test moves.
struct ClockedFeed {
  std::atomic<int> now{100};
  ChangeFeed feed{16, [this] { return At(now.load()); }};
};

TEST(ChangeFeedTest, EpochIsSixteenBase36Characters) {
  ChangeFeed a, b;
  ASSERT_EQ(a.epoch().size(), 16u);
  for (char c : a.epoch()) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) << a.epoch();
  }
  EXPECT_NE(a.epoch(), b.epoch());
}

TEST(ChangeFeedTest, FirstCallStartsFromTheCurrentRevisionWithoutReset) {
  ChangeFeed feed;
  feed.Publish({"s1"});
  feed.Publish({"s2"});
  ChangesResponse r = feed.Since("", 0, {});
  EXPECT_FALSE(r.reset);
  EXPECT_TRUE(r.changed.empty());
  EXPECT_EQ(r.revision, 2u);
  EXPECT_EQ(r.epoch, feed.epoch());
}

TEST(ChangeFeedTest, SinceReportsOnlyInterestingChangesAfterTheRevisionOnceEach) {
  ClockedFeed f;
  f.feed.Publish({"s1"});  // revision 1, before the caller's since
  f.now = 200;
  f.feed.Publish({"other"});
  f.now = 300;
  f.feed.Publish({"s2", "s1"});
  f.feed.Publish({"s2"});
  ChangesResponse r = f.feed.Since(f.feed.epoch(), 1, {"s1", "s2"});
  EXPECT_FALSE(r.reset);
  EXPECT_EQ(r.revision, 4u);
  EXPECT_EQ(r.changed, (std::vector<std::string>{"s2", "s1"}));
  EXPECT_EQ(r.changed_at, At(300));  // the first interesting change, not "other"'s
}

TEST(ChangeFeedTest, EmptyInterestMatchesEveryId) {
  ChangeFeed feed;
  feed.Publish({"a"});
  feed.Publish({"b"});
  EXPECT_EQ(feed.Since(feed.epoch(), 0, {}).changed, (std::vector<std::string>{"a", "b"}));
}

TEST(ChangeFeedTest, NothingInterestingIsNoChangeAndNoChangedAt) {
  ChangeFeed feed;
  feed.Publish({"other"});
  ChangesResponse r = feed.Since(feed.epoch(), 0, {"mine"});
  EXPECT_FALSE(r.reset);
  EXPECT_TRUE(r.changed.empty());
  EXPECT_EQ(r.changed_at, TimePoint{});
  EXPECT_EQ(r.revision, 1u);
}

TEST(ChangeFeedTest, AnotherEpochIsReset) {
  ChangeFeed feed;
  feed.Publish({"s1"});
  ChangesResponse r = feed.Since("someothermanager", 1, {"s1"});
  EXPECT_TRUE(r.reset);
  EXPECT_TRUE(r.changed.empty());
  EXPECT_EQ(r.epoch, feed.epoch());
  EXPECT_EQ(r.revision, 1u);
}

TEST(ChangeFeedTest, AForgottenRevisionIsReset) {
  ChangeFeed feed(2);
  feed.Publish({"a"});
  feed.Publish({"b"});
  feed.Publish({"c"});  // revision 1 is forgotten: the feed keeps 2 and 3
  EXPECT_TRUE(feed.Since(feed.epoch(), 0, {}).reset);
  ChangesResponse kept = feed.Since(feed.epoch(), 1, {});
  EXPECT_FALSE(kept.reset);
  EXPECT_EQ(kept.changed, (std::vector<std::string>{"b", "c"}));
}

TEST(ChangeFeedTest, ARevisionNewerThanTheFeedIsReset) {
  ChangeFeed feed;
  feed.Publish({"a"});
  EXPECT_TRUE(feed.Since(feed.epoch(), 7, {}).reset);
}

TEST(ChangeFeedTest, AnEmptyPublishIsNoRevision) {
  ChangeFeed feed;
  feed.Publish({});
  EXPECT_EQ(feed.revision(), 0u);
}

TEST(ChangeFeedTest, WaitIsWokenByAPublishFromAnotherThread) {
  ChangeFeed feed;
  const std::string epoch = feed.epoch();
  std::thread publisher([&] {
    std::this_thread::sleep_for(milliseconds(20));
    feed.Publish({"other"});  // not interesting: Wait keeps waiting
    std::this_thread::sleep_for(milliseconds(20));
    feed.Publish({"mine"});
  });
  ChangesResponse r = feed.Wait(epoch, 0, {"mine"}, Steady::now() + std::chrono::seconds(30));
  publisher.join();
  EXPECT_FALSE(r.reset);
  EXPECT_EQ(r.changed, (std::vector<std::string>{"mine"}));
  EXPECT_EQ(r.revision, 2u);
}

TEST(ChangeFeedTest, WaitReturnsNothingChangedAtTheDeadline) {
  ChangeFeed feed;
  feed.Publish({"other"});
  ChangesResponse r = feed.Wait(feed.epoch(), 1, {"mine"}, Steady::now() + milliseconds(10));
  EXPECT_FALSE(r.reset);
  EXPECT_TRUE(r.changed.empty());
  EXPECT_EQ(r.revision, 1u);
}

TEST(ChangeFeedTest, WaitAnswersAtOnceWhenSinceAlreadyHasAChange) {
  ChangeFeed feed;
  feed.Publish({"mine"});
  // A deadline in the past: only an answer that needs no waiting can carry the change.
  ChangesResponse r = feed.Wait(feed.epoch(), 0, {"mine"}, Steady::now() - milliseconds(1));
  EXPECT_EQ(r.changed, (std::vector<std::string>{"mine"}));
}

TEST(ChangeFeedTest, SubscribersAreWokenOnceByTheNextPublish) {
  ChangeFeed feed;
  int woken = 0;
  feed.Subscribe([&] { ++woken; });
  feed.Subscribe([&] { ++woken; });
  EXPECT_EQ(feed.subscribers(), 2u);
  feed.Publish({"a"});
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(feed.subscribers(), 0u);
  feed.Publish({"b"});
  EXPECT_EQ(woken, 2);
}

TEST(ChangeFeedTest, AnUnsubscribedWakeIsNeverCalled) {
  ChangeFeed feed;
  bool woken = false;
  std::uint64_t token = feed.Subscribe([&] { woken = true; });
  feed.Unsubscribe(token);
  feed.Publish({"a"});
  EXPECT_FALSE(woken);
  feed.Unsubscribe(token);  // after the fact: a no-op
  EXPECT_EQ(feed.subscribers(), 0u);
}

TEST(ChangeFeedTest, AWakeMayTakeALockThatAPublisherHolds) {
  // Publish calls wakes outside its own lock: a wake that reads the feed does not
  // deadlock (the server's wake only posts, but a test's may look).
  ChangeFeed feed;
  std::uint64_t seen = 0;
  feed.Subscribe([&] { seen = feed.revision(); });
  feed.Publish({"a"});
  EXPECT_EQ(seen, 1u);
}

}  // namespace
}  // namespace ocisecrets
