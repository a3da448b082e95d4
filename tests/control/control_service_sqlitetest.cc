// ControlService's runs through its interface: the controls' outcomes and refusals, the
// audit log, starting runs (with an Idempotency-Key), events and replays.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "control_fixture.h"

namespace sw::test {
namespace {

// --- Control() ---

TEST_F(ControlServiceTest, PauseThenResumeReturnsARunToItsStatusAndCancelEndsIt) {
  const std::string id = RunningRun();
  Result<RunRecord> paused = Control(id, RunAction::kPause);
  ASSERT_TRUE(paused.ok()) << paused.status().message();
  EXPECT_EQ(paused->status, RunStatus::kPaused);
  EXPECT_EQ(paused->paused_from, RunStatus::kRunning);
  EXPECT_EQ(paused->pause["reason"], "operator");
  EXPECT_EQ(Run(id).status, RunStatus::kPaused);

  Result<RunRecord> resumed = Control(id, RunAction::kResume);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(resumed->status, RunStatus::kRunning);
  EXPECT_TRUE(resumed->pause.is_null());

  Result<RunRecord> cancelled = Control(id, RunAction::kCancel);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().message();
  EXPECT_EQ(cancelled->status, RunStatus::kCancelled);
  EXPECT_EQ(cancelled->cancel["reason"], ControlService::kDefaultCancelReason) << cancelled->cancel;
  EXPECT_EQ(Run(id).status, RunStatus::kCancelled);
  // The cancel stopped the request in flight.
  EXPECT_TRUE(WaitUntil([&] { return !http_.InFlight(kSlowUrl).has_value(); }));
}

TEST_F(ControlServiceTest, AWaitingRunCannotBePausedButCanBeCancelled) {
  const std::string id = WaitingRun();
  Result<RunRecord> paused = Control(id, RunAction::kPause);
  ASSERT_FALSE(paused.ok());
  EXPECT_EQ(paused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(paused.status().reason(), "invalid_transition");
  EXPECT_EQ(paused.status().message(), "Cannot pause workflow run " + id + " with status waiting");
  Result<RunRecord> cancelled = Control(id, RunAction::kCancel);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().message();
  EXPECT_EQ(cancelled->status, RunStatus::kCancelled);
}

TEST_F(ControlServiceTest, AControlTheStatusDoesNotAllowIsRefusedAsAnInvalidTransition) {
  const std::string id = WaitingRun();
  const RunRecord before = Run(id);
  Result<RunRecord> resumed = Control(id, RunAction::kResume);
  ASSERT_FALSE(resumed.ok());
  EXPECT_EQ(resumed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(resumed.status().reason(), "invalid_transition");
  EXPECT_EQ(resumed.status().message(),
            "Cannot resume workflow run " + id + " with status waiting");

  const std::string done = CompletedRun();
  Result<RunRecord> paused = Control(done, RunAction::kPause);
  ASSERT_FALSE(paused.ok());
  EXPECT_EQ(paused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(paused.status().message(),
            "Cannot pause workflow run " + done + " with status completed");
  EXPECT_EQ(Run(id).version, before.version);
  EXPECT_TRUE(AuditOf(id).empty());
}

TEST_F(ControlServiceTest, AStaleExpectedVersionIsStateChangedAndChangesNothing) {
  const std::string id = WaitingRun();
  const RunRecord before = Run(id);
  Result<RunRecord> r = Control(id, RunAction::kPause, before.version - 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().reason(), "state_changed");
  EXPECT_EQ(r.status().detail().current_status, RunStatus::kWaiting);
  EXPECT_EQ(r.status().detail().version, before.version);
  const RunRecord after = Run(id);
  EXPECT_EQ(after.status, RunStatus::kWaiting);
  EXPECT_EQ(after.version, before.version);
  EXPECT_TRUE(AuditOf(id).empty());
}

TEST_F(ControlServiceTest, AStaleExpectedStatusIsStateChangedAndChangesNothing) {
  const std::string id = WaitingRun();
  const RunRecord before = Run(id);
  Result<RunRecord> r = Control(id, RunAction::kCancel, std::nullopt, RunStatus::kRunning);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().reason(), "state_changed");
  EXPECT_EQ(r.status().detail().current_status, RunStatus::kWaiting);
  EXPECT_EQ(r.status().detail().version, before.version);
  EXPECT_EQ(Run(id).status, RunStatus::kWaiting);
  EXPECT_EQ(Run(id).version, before.version);

  Result<RunRecord> current = Control(id, RunAction::kCancel, before.version, RunStatus::kWaiting);
  ASSERT_TRUE(current.ok()) << current.status().message();
  EXPECT_EQ(current->status, RunStatus::kCancelled);
}

TEST_F(ControlServiceTest, ARunOfAnotherWorkspaceIsNotFound) {
  const std::string id = WaitingRun();
  const RequestContext other = Workspace("other");
  ControlRequest cancel;
  cancel.action = RunAction::kCancel;
  Result<RunRecord> r = control_->Control(other, id, cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "workflow run " + id + " not found");
  EXPECT_EQ(control_->GetRun(other, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(control_->SendEvent(other, id, "go", json::object()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(control_->Replay(other, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Run(id).status, RunStatus::kWaiting);
}

TEST_F(ControlServiceTest, AnUnknownRunIsNotFound) {
  Result<RunRecord> r = Control("run_nope", RunAction::kCancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "workflow run run_nope not found");
}

TEST_F(ControlServiceTest, CancellingTwiceSucceedsAndTheSecondChangesNothing) {
  const std::string id = WaitingRun();
  Result<RunRecord> first = Control(id, RunAction::kCancel);
  ASSERT_TRUE(first.ok()) << first.status().message();
  const RunRecord after_first = Run(id);
  Result<RunRecord> second = Control(id, RunAction::kCancel);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->status, RunStatus::kCancelled);
  EXPECT_EQ(second->version, after_first.version);
  EXPECT_EQ(Run(id).version, after_first.version);
  EXPECT_EQ(Run(id).error, after_first.error);
  EXPECT_EQ(AuditOf(id).size(), 1u);
}

TEST_F(ControlServiceTest, EachControlWritesOneAuditEntry) {
  const std::string id = RunningRun();
  ASSERT_TRUE(Control(id, RunAction::kPause).ok());
  ASSERT_TRUE(Control(id, RunAction::kResume).ok());
  ControlRequest cancel;
  cancel.action = RunAction::kCancel;
  cancel.reason = "no longer needed";
  ASSERT_TRUE(control_->Control(ctx_, id, cancel).ok());

  std::vector<AuditEntry> entries = AuditOf(id);
  ASSERT_EQ(entries.size(), 3u);
  std::sort(entries.begin(), entries.end(),
            [](const AuditEntry& a, const AuditEntry& b) { return a.id < b.id; });
  EXPECT_EQ(entries[0].action, "run.pause");
  EXPECT_EQ(entries[0].status_before, "running");
  EXPECT_EQ(entries[0].status_after, "paused");
  EXPECT_EQ(entries[1].action, "run.resume");
  EXPECT_EQ(entries[1].status_before, "paused");
  EXPECT_EQ(entries[1].status_after, "running");
  EXPECT_EQ(entries[2].action, "run.cancel");
  EXPECT_EQ(entries[2].status_before, "running");
  EXPECT_EQ(entries[2].status_after, "cancelled");
  EXPECT_EQ(entries[2].reason, "no longer needed");
  for (const AuditEntry& e : entries) {
    EXPECT_EQ(e.target, id);
    EXPECT_EQ(e.actor, ctx_.principal.actor());
    EXPECT_EQ(e.request_id, "req-acme");
    EXPECT_EQ(e.at, kStartMs);
  }
}

TEST_F(ControlServiceTest, ACancelWithoutAReasonIsCancelledByUser) {
  const std::string id = WaitingRun();
  ASSERT_TRUE(Control(id, RunAction::kCancel).ok());
  std::vector<AuditEntry> entries = AuditOf(id);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].reason, ControlService::kDefaultCancelReason);
}

TEST_F(ControlServiceTest, AnAsyncCancelIsAnsweredOnceWithItsChildRunsCancelled) {
  Apply("gate", json::array({WaitForEvent("wait", "go")}));
  Apply(
      "parent",
      json::array({json{{"id", "child"}, {"type", "workflow"}, {"with", {{"workflow", "gate"}}}}}));
  const std::string parent = StartRun("parent");
  WaitStatus(parent, RunStatus::kWaiting);
  RunFilter children;
  children.parent_run_id = parent;
  std::string child;
  ASSERT_TRUE(WaitUntil([&] {
    Result<RunPage> page = control_->ListRuns(ctx_, children);
    if (!page.ok() || page->items.empty()) return false;
    child = page->items[0].id;
    return Run(child).status == RunStatus::kWaiting;
  }));

  ControlRequest cancel;
  cancel.action = RunAction::kCancel;
  int answers = 0;
  RunStatus child_when_answered = RunStatus::kPending;
  std::promise<Result<RunRecord>> answered;
  control_->ControlAsync(ctx_, parent, cancel, "", [&](Result<RunRecord> r) {
    ++answers;
    child_when_answered = Run(child).status;  // a client reading the child next
    answered.set_value(std::move(r));
  });
  Result<RunRecord> cancelled = answered.get_future().get();
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().message();
  EXPECT_EQ(cancelled->id, parent);
  EXPECT_EQ(cancelled->status, RunStatus::kCancelled);
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(child_when_answered, RunStatus::kCancelled);
}

TEST_F(ControlServiceTest, ControlAsyncAnswersWhatControlWould) {
  auto control_async = [&](const std::string& run_id, RunAction action) {
    ControlRequest request;
    request.action = action;
    std::promise<Result<RunRecord>> answered;
    int calls = 0;
    control_->ControlAsync(ctx_, run_id, request, "", [&](Result<RunRecord> run) {
      ++calls;
      answered.set_value(std::move(run));
    });
    Result<RunRecord> run = answered.get_future().get();
    EXPECT_EQ(calls, 1);
    return run;
  };
  const std::string id = WaitingRun();
  Result<RunRecord> paused = control_async(id, RunAction::kPause);
  ASSERT_FALSE(paused.ok());
  EXPECT_EQ(paused.status().reason(), "invalid_transition");
  EXPECT_EQ(paused.status().message(), "Cannot pause workflow run " + id + " with status waiting");

  Result<RunRecord> cancelled = control_async(id, RunAction::kCancel);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().message();
  EXPECT_EQ(cancelled->status, RunStatus::kCancelled);
  EXPECT_FALSE(cancelled->steps.empty());  // the answer has the steps
  EXPECT_EQ(Run(id).status, RunStatus::kCancelled);
  EXPECT_EQ(AuditOf(id).size(), 1u);

  Result<RunRecord> again = control_async(id, RunAction::kCancel);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->version, cancelled->version);  // the second changed nothing

  Result<RunRecord> unknown = control_async("run_nope", RunAction::kCancel);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

// --- StartRun() ---

TEST_F(ControlServiceTest, ADisabledWorkflowAcceptsNoNewRuns) {
  Apply("off", json::array({Noop("a", 1)}));
  ASSERT_TRUE(control_->SetWorkflowStatus(ctx_, "off", "disabled").ok());
  Result<CreateRunResult> r = TryStart("off");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().reason(), "workflow_disabled");
  EXPECT_EQ(r.status().message(), "workflow 'off' is disabled and accepts no new runs");
}

TEST_F(ControlServiceTest, AScriptHasNoRuns) {
  Apply("calc", json::array({Noop("a", 1)}), "script");
  Result<CreateRunResult> r = TryStart("calc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "invalid_request");
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(ControlServiceTest, AnUnknownWorkflowIsNotFound) {
  Result<CreateRunResult> r = TryStart("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(ControlServiceTest, ARepeatedIdempotencyKeyReturnsTheFirstRunReplayed) {
  Apply("gate", json::array({WaitForEvent("wait", "go")}));
  Result<CreateRunResult> first = TryStart("gate", json{{"a", 1}}, "key-1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_FALSE(first->replayed);
  Result<CreateRunResult> again = TryStart("gate", json{{"a", 1}}, "key-1");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->run.id, first->run.id);
  EXPECT_EQ(RunCount(), 1u);
}

TEST_F(ControlServiceTest, AnIdempotencyKeyWithADifferentBodyIsAConflict) {
  Apply("gate", json::array({WaitForEvent("wait", "go")}));
  Result<CreateRunResult> first = TryStart("gate", json{{"a", 1}}, "key-1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  Result<CreateRunResult> other = TryStart("gate", json{{"a", 2}}, "key-1");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(other.status().reason(), "idempotency_conflict");
  EXPECT_EQ(RunCount(), 1u);
}

TEST_F(ControlServiceTest, AnIdempotencyKeyIsForgottenAfterItsWindow) {
  Apply("gate", json::array({WaitForEvent("wait", "go")}));
  Result<CreateRunResult> first = TryStart("gate", json{{"a", 1}}, "key-1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  clock_.Advance(ControlService::kIdempotencyWindowMs + 1);
  Result<CreateRunResult> later = TryStart("gate", json{{"a", 2}}, "key-1");
  ASSERT_TRUE(later.ok()) << later.status().message();
  EXPECT_FALSE(later->replayed);
  EXPECT_NE(later->run.id, first->run.id);
}

// --- SendEvent() ---

TEST_F(ControlServiceTest, AnEventAWaitingStepMatchesIsTakenAndTheRunGoesOn) {
  const std::string id = WaitingRun();
  Result<bool> taken = control_->SendEvent(ctx_, id, "go", json{{"ok", true}});
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  EXPECT_TRUE(*taken);
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  Result<RunRecord> run = control_->GetRun(ctx_, id);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->steps.size(), 2u);
  EXPECT_EQ(run->steps[0].output, (json{{"payload", {{"ok", true}}}}));
  EXPECT_EQ(run->output, "done");
}

TEST_F(ControlServiceTest, AnEventNoStepWaitsForIsBuffered) {
  const std::string id = WaitingRun();
  Result<bool> taken = control_->SendEvent(ctx_, id, "other", json{{"n", 1}});
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  EXPECT_FALSE(*taken);
  EXPECT_EQ(Run(id).status, RunStatus::kWaiting);
  Result<std::optional<EventRecord>> buffered = store_->FindBufferedEvent(id, "other");
  ASSERT_TRUE(buffered.ok());
  ASSERT_TRUE(buffered->has_value());
  EXPECT_EQ((*buffered)->payload, (json{{"n", 1}}));
}

TEST_F(ControlServiceTest, AnEventForAPausedRunIsBuffered) {
  const std::string id = RunningRun();
  ASSERT_TRUE(Control(id, RunAction::kPause).ok());
  Result<bool> taken = control_->SendEvent(ctx_, id, "go", json::object());
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  EXPECT_FALSE(*taken);
  EXPECT_EQ(Run(id).status, RunStatus::kPaused);
  Result<std::optional<EventRecord>> buffered = store_->FindBufferedEvent(id, "go");
  ASSERT_TRUE(buffered.ok());
  EXPECT_TRUE(buffered->has_value());
}

TEST_F(ControlServiceTest, ATerminalRunRefusesEvents) {
  const std::string id = CompletedRun();
  Result<bool> r = control_->SendEvent(ctx_, id, "go", json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().reason(), "invalid_transition");
  EXPECT_EQ(r.status().message(),
            "Cannot send an event to workflow run " + id + " with status completed");
}

// --- Replay() ---

TEST_F(ControlServiceTest, OnlyATerminalRunCanBeReplayed) {
  const std::string id = WaitingRun();
  Result<RunRecord> r = control_->Replay(ctx_, id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().reason(), "invalid_transition");
  EXPECT_EQ(r.status().message(), "Cannot replay workflow run " + id + " with status waiting");
}

TEST_F(ControlServiceTest, AReplayIsANewRunOfTheSameInputThatNamesTheOriginal) {
  const std::string id = CompletedRun();
  Result<RunRecord> replay = control_->Replay(ctx_, id);
  ASSERT_TRUE(replay.ok()) << replay.status().message();
  EXPECT_NE(replay->id, id);
  EXPECT_EQ(replay->replay_of, id);
  EXPECT_EQ(replay->workflow_id, "quick");
  EXPECT_EQ(replay->input, (json{{"n", 7}}));
  EXPECT_EQ(replay->trigger["kind"], "replay");
  ASSERT_TRUE(WaitStatus(replay->id, RunStatus::kCompleted));
  EXPECT_EQ(Run(replay->id).output, (json{{"x", 1}}));
}

TEST_F(ControlServiceTest, ACancelledRunCanBeReplayed) {
  const std::string id = WaitingRun();
  ASSERT_TRUE(Control(id, RunAction::kCancel).ok());
  Result<RunRecord> replay = control_->Replay(ctx_, id);
  ASSERT_TRUE(replay.ok()) << replay.status().message();
  EXPECT_EQ(replay->replay_of, id);
  ASSERT_TRUE(WaitStatus(replay->id, RunStatus::kWaiting));
}

}  // namespace
}  // namespace sw::test
