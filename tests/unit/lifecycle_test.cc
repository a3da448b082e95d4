// The lifecycle rules of core/lifecycle.h, written out as tables independently of the
// code: which timer ends which wait and what it does, what a commit that lost its
// compare-and-set does next, and which wait takes an event.
#include "core/lifecycle.h"

#include <gtest/gtest.h>

namespace sw {
namespace {

TEST(Lifecycle, KindsRoundTripThroughTheirStoredNames) {
  for (WaitKind k : kAllWaitKinds) {
    EXPECT_EQ(ParseWaitKind(ToString(k)), k);
  }
  for (TimerKind k : kAllTimerKinds) {
    EXPECT_EQ(ParseTimerKind(ToString(k)), k);
  }
  EXPECT_EQ(ToString(TimerKind::kEventTimeout), "timeout");
  EXPECT_EQ(ToString(TimerKind::kStepTimeout), "step_timeout");
  EXPECT_EQ(ToString(WaitKind::kAgent), "agent");
  for (PauseReason r : {PauseReason::kOperator, PauseReason::kReauth}) {
    EXPECT_EQ(ParsePauseReason(ToString(r)), r);
  }
  EXPECT_EQ(ToString(PauseReason::kOperator), "operator");  // API.md's run.pause.reason
  EXPECT_EQ(ToString(PauseReason::kReauth), "reauth");
}

TEST(Lifecycle, UnknownStoredKindsDoNotParse) {
  EXPECT_EQ(ParseWaitKind("Timer"), std::nullopt);
  EXPECT_EQ(ParseWaitKind(""), std::nullopt);
  EXPECT_EQ(ParseTimerKind("wake "), std::nullopt);
  EXPECT_EQ(ParsePauseReason("user"), std::nullopt);
}

// timer × wait -> effect, for a waiting run at the timer's step.
struct TimerRow {
  TimerKind timer;
  WaitKind wait;
  TimerEffect effect;
};
constexpr TimerRow kTimerTable[] = {
    {TimerKind::kWake, WaitKind::kTimer, TimerEffect::kCompleteStep},
    {TimerKind::kEventTimeout, WaitKind::kEvent, TimerEffect::kFailRun},
    {TimerKind::kRetry, WaitKind::kRetry, TimerEffect::kWake},
    {TimerKind::kChild, WaitKind::kChild, TimerEffect::kWake},
    {TimerKind::kStepTimeout, WaitKind::kChild, TimerEffect::kTimeOutWork},
    {TimerKind::kStepTimeout, WaitKind::kAgent, TimerEffect::kTimeOutWork},
    {TimerKind::kExpiry, WaitKind::kApproval, TimerEffect::kExpire},
    {TimerKind::kExpiry, WaitKind::kForm, TimerEffect::kExpire},
};

TimerEffect Expected(TimerKind timer, WaitKind wait) {
  for (const TimerRow& row : kTimerTable) {
    if (row.timer == timer && row.wait == wait) {
      return row.effect;
    }
  }
  return TimerEffect::kNone;
}

TEST(Lifecycle, EachTimerEndsOnlyItsWaitsAtItsStep) {
  for (TimerKind timer : kAllTimerKinds) {
    if (timer == TimerKind::kRunTimeout) {
      continue;  // ends the run whatever it waits for; not a wait's timer
    }
    for (WaitKind wait : kAllWaitKinds) {
      EXPECT_EQ(DecideTimer(timer, RunStatus::kWaiting, wait, /*same_step=*/true),
                Expected(timer, wait))
          << ToString(timer) << " x " << ToString(wait);
      EXPECT_EQ(DecideTimer(timer, RunStatus::kWaiting, wait, /*same_step=*/false),
                TimerEffect::kNone)
          << "a timer of another step is stale";
    }
  }
}

TEST(Lifecycle, ATimerOfARunThatNoLongerWaitsIsStale) {
  for (RunStatus status : kAllRunStatuses) {
    if (status == RunStatus::kWaiting) {
      continue;
    }
    EXPECT_EQ(DecideTimer(TimerKind::kWake, status, WaitKind::kTimer, true), TimerEffect::kNone)
        << ToString(status);
    EXPECT_EQ(DecideTimer(TimerKind::kRetry, status, WaitKind::kRetry, true), TimerEffect::kNone)
        << "a paused back-off holds its retry: " << ToString(status);
  }
  EXPECT_EQ(DecideTimer(TimerKind::kWake, RunStatus::kWaiting, std::nullopt, true),
            TimerEffect::kNone);
}

struct LostRaceRow {
  CommitPhase phase;
  RunStatus expected;
  RunStatus now;
  bool has_step_result;
  LostRace outcome;
};
constexpr LostRaceRow kLostRaces[] = {
    // Same status: a plan is made again, a result is committed again.
    {CommitPhase::kBeforeWork, RunStatus::kRunning, RunStatus::kRunning, true, LostRace::kReplan},
    {CommitPhase::kBeforeWork, RunStatus::kPending, RunStatus::kPending, false, LostRace::kReplan},
    {CommitPhase::kResult, RunStatus::kRunning, RunStatus::kRunning, true, LostRace::kRecommit},
    {CommitPhase::kBeforeWork, RunStatus::kPaused, RunStatus::kPaused, true, LostRace::kRecommit},
    {CommitPhase::kBeforeWork, RunStatus::kCancelled, RunStatus::kCancelled, false,
     LostRace::kRecommit},
    {CommitPhase::kBeforeWork, RunStatus::kFailed, RunStatus::kFailed, false, LostRace::kRecommit},
    // A result that raced a pause is kept; one that raced a cancel or failure discarded.
    {CommitPhase::kResult, RunStatus::kRunning, RunStatus::kPaused, true, LostRace::kKeepResult},
    {CommitPhase::kResult, RunStatus::kRunning, RunStatus::kCancelled, true,
     LostRace::kDiscardResult},
    {CommitPhase::kResult, RunStatus::kRunning, RunStatus::kFailed, true, LostRace::kDiscardResult},
    {CommitPhase::kResult, RunStatus::kRunning, RunStatus::kCancelled, false, LostRace::kLetGo},
    // The keep of a result that came during a pause (a result too) lost in turn: to a
    // cancel or a timeout it is discarded, to a resume it stands for the running run.
    {CommitPhase::kResult, RunStatus::kPaused, RunStatus::kPaused, true, LostRace::kRecommit},
    {CommitPhase::kResult, RunStatus::kPaused, RunStatus::kCancelled, true,
     LostRace::kDiscardResult},
    {CommitPhase::kResult, RunStatus::kPaused, RunStatus::kFailed, true, LostRace::kDiscardResult},
    {CommitPhase::kResult, RunStatus::kPaused, RunStatus::kRunning, true, LostRace::kRecommit},
    {CommitPhase::kBeforeWork, RunStatus::kPaused, RunStatus::kRunning, true, LostRace::kLetGo},
    // A plan that raced anything else is let go: whoever changed the run drives it.
    {CommitPhase::kBeforeWork, RunStatus::kRunning, RunStatus::kPaused, true, LostRace::kLetGo},
    {CommitPhase::kBeforeWork, RunStatus::kRunning, RunStatus::kCancelled, true, LostRace::kLetGo},
    {CommitPhase::kBeforeWork, RunStatus::kPending, RunStatus::kRunning, false, LostRace::kLetGo},
    {CommitPhase::kResult, RunStatus::kRunning, RunStatus::kCompleted, true, LostRace::kLetGo},
};

TEST(Lifecycle, ALostRaceGoesOnAsTheTableSays) {
  for (const LostRaceRow& row : kLostRaces) {
    EXPECT_EQ(DecideLostRace(row.phase, row.expected, row.now, row.has_step_result), row.outcome)
        << ToString(row.expected) << " -> " << ToString(row.now);
  }
}

TEST(Lifecycle, OnlyAnEventWaitForTheSameTypeTakesAnEvent) {
  EXPECT_TRUE(WaitTakesEvent(RunStatus::kWaiting, WaitKind::kEvent, "paid", "paid"));
  EXPECT_FALSE(WaitTakesEvent(RunStatus::kWaiting, WaitKind::kEvent, "paid", "shipped"));
  EXPECT_FALSE(WaitTakesEvent(RunStatus::kWaiting, WaitKind::kTimer, "", "paid"));
  EXPECT_FALSE(WaitTakesEvent(RunStatus::kRunning, std::nullopt, "", "paid"));
  EXPECT_FALSE(WaitTakesEvent(RunStatus::kPaused, WaitKind::kEvent, "paid", "paid"));
}

}  // namespace
}  // namespace sw
