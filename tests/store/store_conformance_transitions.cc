// Store conformance: TransitionRun, the compare-and-set on (status, version): what a
// lost one leaves, the fields and steps a won one writes, and the child run it creates.
// See store_conformance.h.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

TEST_P(StoreConformanceTest, LostCompareAndSetOnVersionWritesNothing) {
  CreateRunning("run_1");
  ASSERT_TRUE(Transition("run_1", 2, {MakeStep("a", StepStatus::kRunning, 1, kT0)}).ok());
  RunTransition timer;
  timer.run_id = "run_1";
  timer.expected_version = 3;
  timer.now = kT0;
  timer.add_timers.push_back({"run_1", TimerKind::kEventTimeout, "a", kT0 + 100});
  ASSERT_TRUE(store_->TransitionRun(std::move(timer)).ok());
  ASSERT_TRUE(store_->BufferEvent("run_1", 4, {0, "run_1", "go", json{{"n", 1}}, kT0}).ok());
  Result<std::optional<EventRecord>> event = store_->FindBufferedEvent("run_1", "go");
  ASSERT_TRUE(event.ok() && event->has_value());
  // The run is now at version 5.

  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 4;  // stale
  t.expected_status = RunStatus::kRunning;
  t.next_status = RunStatus::kCancelled;
  t.cancel = json{{"reason", "x"}};
  t.output = json{{"o", 1}};
  t.finished_at = kT0 + 50;
  t.now = kT0 + 50;
  t.upsert_steps = {MakeStep("b", StepStatus::kRunning)};
  t.cancel_steps_in_flight = "workflow stopped by user";
  t.discard_step_result = "a";
  t.clear_timers = true;
  t.add_timers.push_back({"run_1", TimerKind::kWake, "b", kT0 + 10});
  t.consume_event_id = (*event)->id;
  t.audit = MakeAudit("aud_lost", "ws_1", "run.cancel", "run_1");
  Result<int64_t> lost = store_->TransitionRun(std::move(t));

  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted);
  EXPECT_EQ(lost.status().reason(), "state_changed");
  EXPECT_EQ(lost.status().detail().current_status, RunStatus::kRunning);
  EXPECT_EQ(lost.status().detail().version, 5);

  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kRunning);
  EXPECT_EQ(run->version, 5);
  EXPECT_TRUE(run->output.is_null());
  EXPECT_TRUE(run->cancel.is_null());
  EXPECT_EQ(run->finished_at, 0);
  ASSERT_EQ(run->steps.size(), 1u);
  EXPECT_EQ(run->steps[0].path, "a");
  EXPECT_EQ(run->steps[0].status, StepStatus::kRunning);
  EXPECT_FALSE(run->steps[0].result_discarded);
  Result<std::vector<TimerRecord>> timers = store_->DueTimers(kT0 + 1'000'000, 10);
  ASSERT_TRUE(timers.ok());
  ASSERT_EQ(timers->size(), 1u);
  EXPECT_EQ((*timers)[0].kind, TimerKind::kEventTimeout);
  EXPECT_TRUE(store_->FindBufferedEvent("run_1", "go")->has_value());
  EXPECT_TRUE(store_->ListAudit("ws_1", "run_1", "", 10)->empty());
}

TEST_P(StoreConformanceTest, LostCompareAndSetOnStatusIsAborted) {
  CreateRunning("run_1");
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;                  // right version
  t.expected_status = RunStatus::kPaused;  // wrong status
  t.next_status = RunStatus::kRunning;
  t.upsert_steps = {MakeStep("a", StepStatus::kRunning)};
  t.audit = MakeAudit("aud_1", "ws_1", "run.resume", "run_1");
  Result<int64_t> lost = store_->TransitionRun(std::move(t));
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted);
  EXPECT_EQ(lost.status().detail().current_status, RunStatus::kRunning);
  EXPECT_EQ(lost.status().detail().version, 2);
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->version, 2);
  EXPECT_TRUE(run->steps.empty());
  EXPECT_TRUE(store_->ListAudit("ws_1", "run_1", "", 10)->empty());

  EXPECT_EQ(Transition("run_missing", 1, {}).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, TransitionBumpsVersionByOneAndAppliesFields) {
  CreateRunning("run_1");
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;
  t.expected_status = RunStatus::kRunning;
  t.next_status = RunStatus::kPaused;
  t.paused_from = RunStatus::kRunning;
  t.pause = json{{"reason", "operator"}, {"by", "token:admin"}};
  t.now = kT0 + 7;
  t.audit = MakeAudit("aud_1", "ws_1", "run.pause", "run_1");
  Result<int64_t> v = store_->TransitionRun(std::move(t));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 3);

  Result<RunRecord> run = store_->GetRun("run_1", false);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->version, 3);
  EXPECT_EQ(run->status, RunStatus::kPaused);
  EXPECT_EQ(run->paused_from, RunStatus::kRunning);
  EXPECT_EQ(run->pause["reason"], "operator");
  EXPECT_EQ(run->updated_at, kT0 + 7);
  EXPECT_EQ(run->started_at, kT0);  // unset fields are not changed
  EXPECT_EQ(run->input, (json{{"user", 42}}));
  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "run_1", "", 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "run.pause");

  // A version-only bump: status unchanged.
  Result<int64_t> bump = Transition("run_1", 3, {});
  ASSERT_TRUE(bump.ok());
  EXPECT_EQ(*bump, 4);
  EXPECT_EQ(store_->GetRun("run_1", false)->status, RunStatus::kPaused);
}

TEST_P(StoreConformanceTest, StepUpsertKeepsSeqAttemptAndStartWhenNotGiven) {
  CreateRunning("run_1");
  ASSERT_TRUE(Transition("run_1", 2,
                         {MakeStep("a", StepStatus::kRunning, 1, kT0 + 100),
                          MakeStep("b", StepStatus::kRunning, 1, kT0 + 110)})
                  .ok());
  StepRecord a_done = MakeStep("a", StepStatus::kCompleted, /*attempt=*/0, /*started_at=*/0);
  a_done.finished_at = kT0 + 200;
  a_done.output = json{{"x", 1}};
  ASSERT_TRUE(
      Transition("run_1", 3, {a_done, MakeStep("c", StepStatus::kWaiting, 1, kT0 + 210)}).ok());

  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->steps.size(), 3u);
  EXPECT_EQ(run->steps[0].path, "a");  // ordered by seq
  EXPECT_EQ(run->steps[1].path, "b");
  EXPECT_EQ(run->steps[2].path, "c");
  const StepRecord* a = FindStep(*run, "a");
  EXPECT_EQ(a->seq, 1);
  EXPECT_EQ(a->status, StepStatus::kCompleted);
  EXPECT_EQ(a->attempt, 1);
  EXPECT_EQ(a->started_at, kT0 + 100);
  EXPECT_EQ(a->finished_at, kT0 + 200);
  EXPECT_EQ(a->output, (json{{"x", 1}}));
  EXPECT_EQ(FindStep(*run, "b")->seq, 2);
  EXPECT_EQ(FindStep(*run, "c")->seq, 3);

  // A new attempt replaces attempt and start; the seq stays.
  ASSERT_TRUE(Transition("run_1", 4, {MakeStep("b", StepStatus::kRunning, 2, kT0 + 300)}).ok());
  run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  const StepRecord* b = FindStep(*run, "b");
  EXPECT_EQ(b->seq, 2);
  EXPECT_EQ(b->attempt, 2);
  EXPECT_EQ(b->started_at, kT0 + 300);

  // Seqs are per run.
  CreateRunning("run_2");
  ASSERT_TRUE(Transition("run_2", 2, {MakeStep("z", StepStatus::kRunning)}).ok());
  EXPECT_EQ(store_->GetRun("run_2", true)->steps.at(0).seq, 1);
}

TEST_P(StoreConformanceTest, CancelStepsInFlightTouchesOnlyRunningAndWaitingSteps) {
  CreateRunning("run_1");
  StepRecord done = MakeStep("done", StepStatus::kCompleted, 1, kT0);
  done.finished_at = kT0 + 1;
  done.output = json{{"kept", true}};
  StepRecord failed = MakeStep("failed", StepStatus::kFailed, 1, kT0);
  failed.error = json{{"message", "boom"}};
  failed.finished_at = kT0 + 2;
  ASSERT_TRUE(Transition("run_1", 2,
                         {done, failed, MakeStep("running", StepStatus::kRunning, 1, kT0),
                          MakeStep("waiting", StepStatus::kWaiting, 1, kT0),
                          MakeStep("pending", StepStatus::kPending, 0, 0)})
                  .ok());
  CreateRunning("run_2");
  ASSERT_TRUE(Transition("run_2", 2, {MakeStep("other", StepStatus::kRunning, 1, kT0)}).ok());

  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 3;
  t.expected_status = RunStatus::kRunning;
  t.next_status = RunStatus::kCancelled;
  t.cancel_steps_in_flight = "workflow stopped by user";
  t.finished_at = kT0 + 500;
  t.now = kT0 + 500;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());

  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kCancelled);
  for (const char* path : {"running", "waiting"}) {
    const StepRecord* s = FindStep(*run, path);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->status, StepStatus::kCancelled) << path;
    EXPECT_EQ(s->error, (json{{"message", "workflow stopped by user"}})) << path;
    EXPECT_EQ(s->finished_at, kT0 + 500) << path;
  }
  EXPECT_EQ(FindStep(*run, "pending")->status, StepStatus::kPending);
  EXPECT_EQ(FindStep(*run, "pending")->finished_at, 0);
  EXPECT_EQ(FindStep(*run, "done")->status, StepStatus::kCompleted);
  EXPECT_EQ(FindStep(*run, "done")->output, (json{{"kept", true}}));
  EXPECT_EQ(FindStep(*run, "done")->finished_at, kT0 + 1);
  EXPECT_EQ(FindStep(*run, "failed")->status, StepStatus::kFailed);
  EXPECT_EQ(FindStep(*run, "failed")->error, (json{{"message", "boom"}}));
  // Other runs' steps are untouched.
  EXPECT_EQ(store_->GetRun("run_2", true)->steps.at(0).status, StepStatus::kRunning);
}

TEST_P(StoreConformanceTest, DiscardStepResultMarksOnlyThatStep) {
  CreateRunning("run_1");
  ASSERT_TRUE(
      Transition("run_1", 2,
                 {MakeStep("a", StepStatus::kCancelled), MakeStep("b", StepStatus::kPending)})
          .ok());
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 3;
  t.discard_step_result = "a";
  t.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(FindStep(*run, "a")->result_discarded);
  EXPECT_EQ(FindStep(*run, "a")->status, StepStatus::kCancelled);
  EXPECT_FALSE(FindStep(*run, "b")->result_discarded);
}

TEST_P(StoreConformanceTest, StepDetailIsKeptWhenAnUpsertLeavesItNull) {
  CreateRunning("run_1");
  StepRecord first = MakeStep("call", StepStatus::kWaiting, 1, kT0);
  first.detail = json{{"attempts", {{{"attempt", 1}}}}};
  ASSERT_TRUE(Transition("run_1", 2, {first}).ok());
  ASSERT_TRUE(Transition("run_1", 3, {MakeStep("call", StepStatus::kRunning, 2)}).ok());
  Result<RunRecord> run = store_->GetRun("run_1", true);
  EXPECT_EQ(FindStep(*run, "call")->detail, first.detail);
  EXPECT_EQ(FindStep(*run, "call")->attempt, 2);
}

TEST_P(StoreConformanceTest, ATransitionCreatesAChildRunAndWakesAnotherRunsTimer) {
  CreateRunning("run_parent");
  RunRecord child = NewRun("run_child", "ws_1", "sub");
  child.parent_run_id = "run_parent";
  child.parent_path = "call";
  RunTransition t;
  t.run_id = "run_parent";
  t.expected_version = 2;
  t.next_status = RunStatus::kWaiting;
  t.now = kT0;
  t.create_run = child;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  Result<RunRecord> got = store_->GetRun("run_child", false);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->parent_run_id, "run_parent");
  EXPECT_EQ(got->parent_path, "call");
  EXPECT_EQ(got->status, RunStatus::kPending);
  EXPECT_EQ(*store_->ActiveChildRuns("run_parent"), std::vector<std::string>{"run_child"});

  RunFilter f;
  f.parent_run_id = "run_parent";
  EXPECT_EQ(store_->ListRuns("ws_1", f)->items.size(), 1u);

  // The child's end wakes the parent through a timer on the parent.
  RunTransition done;
  done.run_id = "run_child";
  done.expected_version = 1;
  done.next_status = RunStatus::kCompleted;
  done.now = kT0;
  done.add_timers.push_back({"run_parent", TimerKind::kChild, "call", kT0});
  ASSERT_TRUE(store_->TransitionRun(std::move(done)).ok());
  Result<std::vector<TimerRecord>> due = store_->DueTimers(kT0 + 1, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].run_id, "run_parent");
  EXPECT_EQ((*due)[0].kind, TimerKind::kChild);
  EXPECT_TRUE(store_->ActiveChildRuns("run_parent")->empty());
}

TEST_P(StoreConformanceTest, ALostCompareAndSetCreatesNoChildRun) {
  CreateRunning("run_parent");
  RunTransition t;
  t.run_id = "run_parent";
  t.expected_version = 1;  // stale
  t.now = kT0;
  t.create_run = NewRun("run_child", "ws_1", "sub");
  EXPECT_EQ(store_->TransitionRun(std::move(t)).status().code(), StatusCode::kAborted);
  EXPECT_EQ(store_->GetRun("run_child", false).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, ATimerWrittenByAnyKindOfChangeIsDroppedWhenTheRunEnds) {
  CreateRunning("run_1");
  // Written by a read-decide-write (UpdateRun), ended by a plain transition.
  Result<RunRecord> parked =
      store_->UpdateRun("run_1",
                        [](const RunRecord&) -> Result<std::optional<RunTransition>> {
                          RunTransition t;
                          t.next_status = RunStatus::kWaiting;
                          t.wait = json{{"kind", "timer"}};
                          t.now = kT0 + 1;
                          t.add_timers.push_back({"", TimerKind::kWake, "s", kT0 + 100});
                          return std::optional<RunTransition>(std::move(t));
                        },
                        {});
  ASSERT_TRUE(parked.ok()) << parked.status().message();
  RunTransition end;
  end.run_id = "run_1";
  end.expected_version = parked->version;
  end.next_status = RunStatus::kCancelled;
  end.finished_at = kT0 + 2;
  end.now = kT0 + 2;
  ASSERT_TRUE(store_->TransitionRun(std::move(end)).ok());
  Result<std::vector<TimerRecord>> due = store_->DueTimers(kT0 + 1'000'000, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty()) << due->size() << " timers left";
}

}  // namespace
}  // namespace sw::store_test
