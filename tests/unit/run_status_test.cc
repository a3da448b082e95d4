#include "core/run_status.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace sw {
namespace {

// The allowed-controls table of API.md, written out here independently of the
// implementation: one row per status, columns pause, resume, cancel.
struct TableRow {
  RunStatus status;
  bool pause;
  bool resume;
  bool cancel;
};
constexpr TableRow kApiTable[] = {
    {RunStatus::kPending, true, false, true},     {RunStatus::kRunning, true, false, true},
    {RunStatus::kPaused, false, true, true},      {RunStatus::kWaiting, false, false, true},
    {RunStatus::kCompleted, false, false, false}, {RunStatus::kFailed, false, false, false},
    {RunStatus::kCancelled, false, false, false},
};

bool Expected(const TableRow& row, RunAction action) {
  switch (action) {
    case RunAction::kPause:
      return row.pause;
    case RunAction::kResume:
      return row.resume;
    case RunAction::kCancel:
      return row.cancel;
  }
  return false;
}

// Every status, spelled as API.md spells it.
const std::vector<std::pair<RunStatus, std::string>>& StatusNames() {
  static const std::vector<std::pair<RunStatus, std::string>> kNames = {
      {RunStatus::kPending, "pending"},     {RunStatus::kRunning, "running"},
      {RunStatus::kPaused, "paused"},       {RunStatus::kWaiting, "waiting"},
      {RunStatus::kCompleted, "completed"}, {RunStatus::kFailed, "failed"},
      {RunStatus::kCancelled, "cancelled"},
  };
  return kNames;
}

std::string ActionName(RunAction action) {
  switch (action) {
    case RunAction::kPause:
      return "pause";
    case RunAction::kResume:
      return "resume";
    case RunAction::kCancel:
      return "cancel";
  }
  return "?";
}

TEST(RunStatus, TheTableCoversEveryStatusAndEveryAction) {
  EXPECT_EQ(std::size(kAllRunStatuses), std::size(kApiTable));
  EXPECT_EQ(std::size(kAllRunActions), 3u);
  for (size_t i = 0; i < std::size(kApiTable); ++i) {
    EXPECT_EQ(kAllRunStatuses[i], kApiTable[i].status) << i;
  }
}

TEST(RunStatus, IsActionAllowedMatchesTheApiTableForEveryStatusAndAction) {
  for (const TableRow& row : kApiTable) {
    for (RunAction action : {RunAction::kPause, RunAction::kResume, RunAction::kCancel}) {
      EXPECT_EQ(IsActionAllowed(row.status, action), Expected(row, action))
          << ToString(row.status) << " x " << ToString(action);
    }
  }
}

TEST(RunStatus, AllowedActionsListsTheTableRowInPauseResumeCancelOrder) {
  using A = RunAction;
  EXPECT_EQ(AllowedActions(RunStatus::kPending), (std::vector<A>{A::kPause, A::kCancel}));
  EXPECT_EQ(AllowedActions(RunStatus::kRunning), (std::vector<A>{A::kPause, A::kCancel}));
  EXPECT_EQ(AllowedActions(RunStatus::kPaused), (std::vector<A>{A::kResume, A::kCancel}));
  EXPECT_EQ(AllowedActions(RunStatus::kWaiting), (std::vector<A>{A::kCancel}));
  EXPECT_EQ(AllowedActions(RunStatus::kCompleted), (std::vector<A>{}));
  EXPECT_EQ(AllowedActions(RunStatus::kFailed), (std::vector<A>{}));
  EXPECT_EQ(AllowedActions(RunStatus::kCancelled), (std::vector<A>{}));
}

TEST(RunStatus, AllowedActionsAgreesWithIsActionAllowed) {
  for (const TableRow& row : kApiTable) {
    std::vector<RunAction> expected;
    for (RunAction action : {RunAction::kPause, RunAction::kResume, RunAction::kCancel}) {
      if (Expected(row, action)) {
        expected.push_back(action);
      }
    }
    EXPECT_EQ(AllowedActions(row.status), expected) << ToString(row.status);
  }
}

TEST(RunStatus, PauseOfPendingOrRunningMovesToPaused) {
  for (RunStatus from : {RunStatus::kPending, RunStatus::kRunning}) {
    Result<ActionOutcome> outcome =
        DecideAction("run_1", from, RunAction::kPause, RunStatus::kPending);
    ASSERT_TRUE(outcome.ok()) << ToString(from);
    EXPECT_EQ(outcome->next, RunStatus::kPaused);
    EXPECT_FALSE(outcome->noop);
  }
}

TEST(RunStatus, ResumeReturnsToTheStatusTheRunWasPausedFrom) {
  Result<ActionOutcome> to_pending =
      DecideAction("run_1", RunStatus::kPaused, RunAction::kResume, RunStatus::kPending);
  ASSERT_TRUE(to_pending.ok());
  EXPECT_EQ(to_pending->next, RunStatus::kPending);
  EXPECT_FALSE(to_pending->noop);

  Result<ActionOutcome> to_running =
      DecideAction("run_1", RunStatus::kPaused, RunAction::kResume, RunStatus::kRunning);
  ASSERT_TRUE(to_running.ok());
  EXPECT_EQ(to_running->next, RunStatus::kRunning);
  EXPECT_FALSE(to_running->noop);
}

TEST(RunStatus, CancelOfEveryNonTerminalStatusMovesToCancelled) {
  for (RunStatus from :
       {RunStatus::kPending, RunStatus::kRunning, RunStatus::kPaused, RunStatus::kWaiting}) {
    Result<ActionOutcome> outcome =
        DecideAction("run_1", from, RunAction::kCancel, RunStatus::kRunning);
    ASSERT_TRUE(outcome.ok()) << ToString(from);
    EXPECT_EQ(outcome->next, RunStatus::kCancelled);
    EXPECT_FALSE(outcome->noop);
  }
}

TEST(RunStatus, CancelOfCancelledRunIsNoopSuccess) {
  for (RunStatus paused_from : {RunStatus::kPending, RunStatus::kRunning}) {
    Result<ActionOutcome> outcome =
        DecideAction("run_1", RunStatus::kCancelled, RunAction::kCancel, paused_from);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->next, RunStatus::kCancelled);
    EXPECT_TRUE(outcome->noop);
  }
}

TEST(RunStatus, DecideActionOfEveryCombinationFollowsTheTable) {
  for (const TableRow& row : kApiTable) {
    for (RunAction action : {RunAction::kPause, RunAction::kResume, RunAction::kCancel}) {
      for (RunStatus paused_from : {RunStatus::kPending, RunStatus::kRunning}) {
        const std::string label = std::string(ToString(row.status)) + " x " + ActionName(action) +
                                  " (paused from " + std::string(ToString(paused_from)) + ")";
        Result<ActionOutcome> outcome = DecideAction("run_01JD", row.status, action, paused_from);
        const bool repeat_cancel =
            row.status == RunStatus::kCancelled && action == RunAction::kCancel;
        if (repeat_cancel) {
          ASSERT_TRUE(outcome.ok()) << label;
          EXPECT_TRUE(outcome->noop) << label;
          EXPECT_EQ(outcome->next, RunStatus::kCancelled) << label;
          continue;
        }
        if (!Expected(row, action)) {
          ASSERT_FALSE(outcome.ok()) << label;
          continue;
        }
        ASSERT_TRUE(outcome.ok()) << label << ": " << outcome.status().message();
        EXPECT_FALSE(outcome->noop) << label;
        RunStatus expected_next = RunStatus::kCancelled;
        if (action == RunAction::kPause) {
          expected_next = RunStatus::kPaused;
        } else if (action == RunAction::kResume) {
          expected_next = paused_from;
        }
        EXPECT_EQ(outcome->next, expected_next) << label;
      }
    }
  }
}

TEST(RunStatus, EveryRefusalIsFailedPreconditionWithInvalidTransitionAndExactMessage) {
  int refusals = 0;
  for (const auto& [status, status_name] : StatusNames()) {
    for (RunAction action : {RunAction::kPause, RunAction::kResume, RunAction::kCancel}) {
      const bool expected_ok = IsActionAllowed(status, action) ||
                               (status == RunStatus::kCancelled && action == RunAction::kCancel);
      Result<ActionOutcome> outcome =
          DecideAction("run_01JD3XYZ", status, action, RunStatus::kRunning);
      if (expected_ok) {
        EXPECT_TRUE(outcome.ok()) << status_name << " x " << ActionName(action);
        continue;
      }
      ++refusals;
      ASSERT_FALSE(outcome.ok()) << status_name << " x " << ActionName(action);
      EXPECT_EQ(outcome.status().code(), StatusCode::kFailedPrecondition);
      EXPECT_EQ(outcome.status().reason(), "invalid_transition");
      EXPECT_EQ(
          outcome.status().message(),
          "Cannot " + ActionName(action) + " workflow run run_01JD3XYZ with status " + status_name);
    }
  }
  // pending: resume; running: resume; paused: pause; waiting: pause, resume;
  // completed and failed: all three; cancelled: pause, resume.
  EXPECT_EQ(refusals, 1 + 1 + 1 + 2 + 3 + 3 + 2);
}

TEST(RunStatus, CancelOfCompletedRunNamesTheRunInTheMessage) {
  Result<ActionOutcome> outcome =
      DecideAction("run_01JDABC", RunStatus::kCompleted, RunAction::kCancel, RunStatus::kRunning);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().message(),
            "Cannot cancel workflow run run_01JDABC with status completed");
}

TEST(RunStatus, OnlyCompletedFailedAndCancelledAreTerminal) {
  EXPECT_FALSE(IsTerminal(RunStatus::kPending));
  EXPECT_FALSE(IsTerminal(RunStatus::kRunning));
  EXPECT_FALSE(IsTerminal(RunStatus::kPaused));
  EXPECT_FALSE(IsTerminal(RunStatus::kWaiting));
  EXPECT_TRUE(IsTerminal(RunStatus::kCompleted));
  EXPECT_TRUE(IsTerminal(RunStatus::kFailed));
  EXPECT_TRUE(IsTerminal(RunStatus::kCancelled));
}

TEST(RunStatus, TerminalStatusesAllowNoAction) {
  for (RunStatus status : kAllRunStatuses) {
    if (IsTerminal(status)) {
      EXPECT_TRUE(AllowedActions(status).empty()) << ToString(status);
    } else {
      EXPECT_FALSE(AllowedActions(status).empty()) << ToString(status);
    }
  }
}

TEST(RunStatus, RunStatusNamesAreTheApiSpellings) {
  for (const auto& [status, name] : StatusNames()) {
    EXPECT_EQ(ToString(status), name);
  }
}

TEST(RunStatus, RunStatusNamesRoundTrip) {
  for (RunStatus status : kAllRunStatuses) {
    std::optional<RunStatus> parsed = ParseRunStatus(ToString(status));
    ASSERT_TRUE(parsed.has_value()) << ToString(status);
    EXPECT_EQ(*parsed, status);
  }
  for (const auto& [status, name] : StatusNames()) {
    EXPECT_EQ(ParseRunStatus(name), std::optional<RunStatus>(status));
  }
}

TEST(RunStatus, UnknownRunStatusStringsDoNotParse) {
  for (std::string_view text : {"", "Pending", "PAUSED", "paused ", " running", "skipped",
                                "canceled", "paused_safety", "unknown", "done"}) {
    EXPECT_EQ(ParseRunStatus(text), std::nullopt) << "'" << text << "'";
  }
}

TEST(RunStatus, StepStatusNamesAreTheApiSpellingsAndRoundTrip) {
  const std::vector<std::pair<StepStatus, std::string>> names = {
      {StepStatus::kPending, "pending"}, {StepStatus::kRunning, "running"},
      {StepStatus::kWaiting, "waiting"}, {StepStatus::kCompleted, "completed"},
      {StepStatus::kFailed, "failed"},   {StepStatus::kCancelled, "cancelled"},
      {StepStatus::kSkipped, "skipped"},
  };
  for (const auto& [status, name] : names) {
    EXPECT_EQ(ToString(status), name);
    EXPECT_EQ(ParseStepStatus(name), std::optional<StepStatus>(status)) << name;
  }
}

TEST(RunStatus, UnknownStepStatusStringsDoNotParse) {
  for (std::string_view text : {"", "Skipped", "paused", "canceled", "completed "}) {
    EXPECT_EQ(ParseStepStatus(text), std::nullopt) << "'" << text << "'";
  }
}

TEST(RunStatus, ActionNamesAreTheEndpointNames) {
  EXPECT_EQ(ToString(RunAction::kPause), "pause");
  EXPECT_EQ(ToString(RunAction::kResume), "resume");
  EXPECT_EQ(ToString(RunAction::kCancel), "cancel");
}

TEST(RunStatus, AWaitingRunInARetryBackoffMayAlsoBePaused) {
  EXPECT_EQ(AllowedActions(RunStatus::kWaiting, /*in_backoff=*/true),
            (std::vector<RunAction>{RunAction::kPause, RunAction::kCancel}));
  Result<ActionOutcome> pause = DecideAction("run_1", RunStatus::kWaiting, RunAction::kPause,
                                             RunStatus::kPending, /*in_backoff=*/true);
  ASSERT_TRUE(pause.ok());
  EXPECT_EQ(pause->next, RunStatus::kPaused);
  // Resumed, it waits out the rest of its back-off.
  Result<ActionOutcome> resume =
      DecideAction("run_1", RunStatus::kPaused, RunAction::kResume, RunStatus::kWaiting);
  ASSERT_TRUE(resume.ok());
  EXPECT_EQ(resume->next, RunStatus::kWaiting);
  // Only a waiting run: the flag changes nothing for the other statuses.
  for (RunStatus s : {RunStatus::kPending, RunStatus::kRunning, RunStatus::kPaused,
                      RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kCancelled}) {
    EXPECT_EQ(AllowedActions(s, true), AllowedActions(s)) << ToString(s);
  }
}

}  // namespace
}  // namespace sw
