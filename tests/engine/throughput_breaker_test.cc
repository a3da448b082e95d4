// WorkflowBreaker in memory: the trip at the limit, and Sync, which brings a breaker in
// line with the hold the store has (several instances) unless the breaker changed its
// hold after the store was read.
#include "engine/throughput_breaker.h"

#include <gtest/gtest.h>

namespace sw {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;
const ThroughputLimits kTwoSteps{.max_runs_per_minute = 0, .max_steps_per_minute = 2};

TEST(WorkflowBreakerTest, TripsAtTheDispatchThatWouldExceedAndReleasesItsWaitingRuns) {
  WorkflowBreaker breaker("");
  EXPECT_EQ(breaker.Admit("r1", true, kNow, kTwoSteps), WorkflowBreaker::Verdict::kDispatch);
  EXPECT_EQ(breaker.Admit("r1", false, kNow, kTwoSteps), WorkflowBreaker::Verdict::kDispatch);
  EXPECT_EQ(breaker.Admit("r1", false, kNow, kTwoSteps), WorkflowBreaker::Verdict::kTrip);
  EXPECT_EQ(breaker.Admit("r2", true, kNow, kTwoSteps), WorkflowBreaker::Verdict::kHeld);
  EXPECT_EQ(breaker.HeldFor(), kThroughputCapReason);
  EXPECT_EQ(breaker.Release(), (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(breaker.Admit("r1", false, kNow, kTwoSteps), WorkflowBreaker::Verdict::kDispatch);
}

TEST(WorkflowBreakerTest, SyncTakesAHoldMadeElsewhereAndItsEnd) {
  WorkflowBreaker breaker("");
  breaker.Sync(std::string(kSpendCapReason), breaker.Epoch());
  EXPECT_EQ(breaker.HeldFor(), kSpendCapReason);
  EXPECT_FALSE(breaker.MayProceed("r1"));
  // The same hold read again changes nothing.
  EXPECT_TRUE(breaker.Sync(std::string(kSpendCapReason), breaker.Epoch()).empty());
  EXPECT_EQ(breaker.Sync("", breaker.Epoch()), (std::vector<std::string>{"r1"}));
  EXPECT_FALSE(breaker.Held());
  EXPECT_TRUE(breaker.MayProceed("r1"));
}

TEST(WorkflowBreakerTest, SyncDoesNotUndoATripMadeAfterTheStoreWasRead) {
  WorkflowBreaker breaker("");
  const uint64_t read_at = breaker.Epoch();
  // The store is read (no hold), then this instance trips before the read is applied.
  breaker.Admit("r1", true, kNow, kTwoSteps);
  breaker.Admit("r1", false, kNow, kTwoSteps);
  ASSERT_EQ(breaker.Admit("r1", false, kNow, kTwoSteps), WorkflowBreaker::Verdict::kTrip);
  EXPECT_TRUE(breaker.Sync("", read_at).empty());
  EXPECT_TRUE(breaker.Held());
  // Nor a release made here after the read (a resume answered by this instance).
  const uint64_t held_read_at = breaker.Epoch();
  breaker.Release();
  breaker.Sync(std::string(kThroughputCapReason), held_read_at);
  EXPECT_FALSE(breaker.Held());
}

}  // namespace
}  // namespace sw
