// PlanTransition without a database: the compare-and-set it checks, the row change,
// and what a transition implies beyond the fields it sets (an ending run drops its
// timers, wakes its parent, closes its agent tasks; steps in flight are cancelled).
#include "store/transition_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sw {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'700'000'000'000;

RunHead Head(RunStatus status, int64_t version, std::string parent_run_id = "",
             std::string parent_path = "") {
  RunHead h;
  h.id = "run_1";
  h.status = status;
  h.version = version;
  h.parent_run_id = std::move(parent_run_id);
  h.parent_path = std::move(parent_path);
  return h;
}

RunTransition At(int64_t version, std::optional<RunStatus> next = std::nullopt) {
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = version;
  t.next_status = next;
  t.now = kNow;
  return t;
}

TEST(TransitionPlanTest, AStaleVersionIsALostCompareAndSetWithTheCurrentState) {
  Result<TransitionPlan> plan = PlanTransition(At(3), Head(RunStatus::kRunning, 4));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kAborted);
  EXPECT_EQ(plan.status().reason(), "state_changed");
  EXPECT_EQ(plan.status().detail().current_status, RunStatus::kRunning);
  EXPECT_EQ(plan.status().detail().version, 4);
}

TEST(TransitionPlanTest, AnUnexpectedStatusIsALostCompareAndSetEvenAtTheRightVersion) {
  RunTransition t = At(4, RunStatus::kRunning);
  t.expected_status = RunStatus::kPaused;
  Result<TransitionPlan> plan = PlanTransition(t, Head(RunStatus::kRunning, 4));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kAborted);
  t.expected_status = RunStatus::kRunning;
  EXPECT_TRUE(PlanTransition(t, Head(RunStatus::kRunning, 4)).ok());
  t.expected_status.reset();  // any status
  EXPECT_TRUE(PlanTransition(t, Head(RunStatus::kWaiting, 4)).ok());
}

TEST(TransitionPlanTest, TheRowMovesOneVersionAndTakesOnlyTheFieldsSet) {
  RunTransition t = At(4, RunStatus::kPaused);
  t.paused_from = RunStatus::kRunning;
  t.pause = json{{"reason", "operator"}, {"by", "token:admin"}};
  t.output = json{{"o", 1}};
  Result<TransitionPlan> plan = PlanTransition(t, Head(RunStatus::kRunning, 4));
  ASSERT_TRUE(plan.ok());
  const RunRowChange& row = plan->row;
  EXPECT_EQ(row.expected_version, 4);
  EXPECT_EQ(row.new_version, 5);
  EXPECT_EQ(row.updated_at, kNow);
  EXPECT_EQ(row.status, RunStatus::kPaused);
  EXPECT_EQ(row.paused_from, RunStatus::kRunning);
  ASSERT_NE(row.pause, nullptr);
  EXPECT_EQ(*row.pause, *t.pause);
  EXPECT_EQ(row.pause_reason, "operator");
  ASSERT_NE(row.output, nullptr);
  EXPECT_EQ(row.wait, nullptr);
  EXPECT_EQ(row.cancel, nullptr);
  EXPECT_EQ(row.error, nullptr);
  EXPECT_FALSE(row.started_at.has_value());
  EXPECT_FALSE(row.finished_at.has_value());
  EXPECT_EQ(plan->changed_runs, std::vector<std::string>{"run_1"});
}

TEST(TransitionPlanTest, FilterColumnsFollowPauseAndWaitAndClearWithThem) {
  RunTransition t = At(1, RunStatus::kWaiting);
  t.wait = json{{"kind", "timer"}, {"path", "s"}};
  t.pause = json();  // cleared
  Result<TransitionPlan> plan = PlanTransition(t, Head(RunStatus::kPaused, 1));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->row.wait_kind, "timer");
  ASSERT_NE(plan->row.pause, nullptr);
  EXPECT_TRUE(plan->row.pause->is_null());
  EXPECT_EQ(plan->row.pause_reason, "");
  // A kind that is not a string is no kind.
  t.wait = json{{"kind", 7}};
  EXPECT_EQ(PlanTransition(t, Head(RunStatus::kPaused, 1))->row.wait_kind, "");
}

TEST(TransitionPlanTest, ARunThatGoesOnKeepsItsTimersUnlessClearedAndThenItsRunTimeout) {
  Result<TransitionPlan> plain =
      PlanTransition(At(1, RunStatus::kWaiting), Head(RunStatus::kRunning, 1));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->drop_timers, TimerDrop::kNone);
  EXPECT_FALSE(plain->close_agent_tasks);
  RunTransition cleared = At(1, RunStatus::kRunning);
  cleared.clear_timers = true;
  Result<TransitionPlan> plan = PlanTransition(cleared, Head(RunStatus::kWaiting, 1));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->drop_timers, TimerDrop::kAllButRunTimeout);
  EXPECT_FALSE(plan->close_agent_tasks);
}

TEST(TransitionPlanTest, ARunThatEndsDropsAllItsTimersAndClosesItsAgentTasks) {
  for (RunStatus end : {RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kCancelled}) {
    Result<TransitionPlan> plan = PlanTransition(At(2, end), Head(RunStatus::kRunning, 2));
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan->drop_timers, TimerDrop::kAll) << ToString(end);
    EXPECT_TRUE(plan->close_agent_tasks) << ToString(end);
    EXPECT_TRUE(plan->add_timers.empty()) << "not a child: no parent to wake";
  }
}

TEST(TransitionPlanTest, AChildThatEndsWakesItsParentBeforeItsOwnTimersAreAdded) {
  RunTransition t = At(2, RunStatus::kFailed);
  t.add_timers.push_back({"run_other", TimerKind::kWake, "x", kNow + 5});
  Result<TransitionPlan> plan =
      PlanTransition(t, Head(RunStatus::kRunning, 2, "run_parent", "call"));
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->add_timers.size(), 2u);
  const TimerRecord& wake = plan->add_timers[0];
  EXPECT_EQ(wake.run_id, "run_parent");
  EXPECT_EQ(wake.kind, TimerKind::kChild);
  EXPECT_EQ(wake.path, "call");
  EXPECT_EQ(wake.due_at, kNow);
  EXPECT_EQ(plan->add_timers[1].run_id, "run_other");
  // A child that goes on wakes nobody.
  Result<TransitionPlan> goes_on = PlanTransition(
      At(2, RunStatus::kWaiting), Head(RunStatus::kRunning, 2, "run_parent", "call"));
  ASSERT_TRUE(goes_on.ok());
  EXPECT_TRUE(goes_on->add_timers.empty());
}

TEST(TransitionPlanTest, ATimerWithoutARunIsTheRunsOwn) {
  RunTransition t = At(1);
  t.add_timers = {{"", TimerKind::kRunTimeout, "", kNow + 500},
                  {"run_1", TimerKind::kWake, "nap", kNow + 100}};
  Result<TransitionPlan> plan = PlanTransition(t, Head(RunStatus::kRunning, 1));
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->add_timers.size(), 2u);
  EXPECT_EQ(plan->add_timers[0].run_id, "run_1");
  EXPECT_EQ(plan->add_timers[0].kind, TimerKind::kRunTimeout);
  EXPECT_EQ(plan->add_timers[1].path, "nap");
}

TEST(TransitionPlanTest, StepsInFlightAreCancelledWithTheMessageAsTheirError) {
  RunRecord run;
  run.status = RunStatus::kRunning;
  run.version = 3;
  RunTransition t = CancelTransition(run, json{{"reason", "r"}}, kNow);
  t.run_id = "run_1";
  Result<TransitionPlan> plan = PlanTransition(t, Head(RunStatus::kRunning, 3));
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(plan->cancel_steps_in_flight.has_value());
  EXPECT_EQ(*plan->cancel_steps_in_flight, (json{{"message", kStoppedByUser}}));
  EXPECT_EQ(plan->drop_timers, TimerDrop::kAll);
  EXPECT_EQ(plan->row.finished_at, kNow);
  ASSERT_NE(plan->row.cancel, nullptr);
  EXPECT_EQ((*plan->row.cancel)["reason"], "r");
  ASSERT_NE(plan->row.output, nullptr);
  EXPECT_TRUE(plan->row.output->is_null());
  EXPECT_FALSE(PlanTransition(At(3), Head(RunStatus::kRunning, 3))->cancel_steps_in_flight);
}

TEST(TransitionPlanTest, RecordsAreCarriedFromTheTransitionInOrder) {
  RunTransition t = At(1, RunStatus::kWaiting);
  StepRecord step;
  step.path = "a";
  t.upsert_steps = {step};
  t.discard_step_result = "b";
  t.update_task = AgentTaskUpdate{"task_1", "claimed", 0, "completed"};
  RunRecord child;
  child.id = "run_child";
  t.create_run = child;
  AgentTaskRecord task;
  task.id = "task_2";
  t.enqueue_task = task;
  t.consume_event_id = 9;
  AuditEntry audit;
  audit.id = "aud_1";
  t.audit = audit;
  Result<TransitionPlan> plan = PlanTransition(t, Head(RunStatus::kRunning, 1));
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->upsert_steps.size(), 1u);
  EXPECT_EQ(plan->upsert_steps[0].path, "a");
  ASSERT_NE(plan->discard_step_result, nullptr);
  EXPECT_EQ(*plan->discard_step_result, "b");
  ASSERT_NE(plan->update_task, nullptr);
  EXPECT_EQ(plan->update_task->status, "completed");
  ASSERT_NE(plan->create_run, nullptr);
  EXPECT_EQ(plan->create_run->id, "run_child");
  ASSERT_NE(plan->enqueue_task, nullptr);
  EXPECT_EQ(plan->enqueue_task->id, "task_2");
  EXPECT_EQ(plan->consume_event_id, 9);
  ASSERT_NE(plan->audit, nullptr);
  EXPECT_EQ(plan->audit->id, "aud_1");
  EXPECT_EQ(plan->changed_runs, (std::vector<std::string>{"run_1", "run_child"}));
  Result<TransitionPlan> bare = PlanTransition(At(1), Head(RunStatus::kRunning, 1));
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->upsert_steps.empty());
  EXPECT_EQ(bare->discard_step_result, nullptr);
  EXPECT_EQ(bare->update_task, nullptr);
  EXPECT_EQ(bare->create_run, nullptr);
  EXPECT_EQ(bare->enqueue_task, nullptr);
  EXPECT_FALSE(bare->consume_event_id.has_value());
  EXPECT_EQ(bare->audit, nullptr);
}

TEST(TransitionPlanTest, HeadOfARunIsWhatThePlanReads) {
  RunRecord run;
  run.id = "run_9";
  run.status = RunStatus::kWaiting;
  run.version = 7;
  run.parent_run_id = "run_p";
  run.parent_path = "sub";
  RunHead head = HeadOf(run);
  EXPECT_EQ(head.id, "run_9");
  EXPECT_EQ(head.status, RunStatus::kWaiting);
  EXPECT_EQ(head.version, 7);
  EXPECT_EQ(head.parent_run_id, "run_p");
  EXPECT_EQ(head.parent_path, "sub");
}

RunHead Owned(RunStatus status, std::string owner) {
  RunHead h = Head(status, 1);
  h.owner = std::move(owner);
  return h;
}

RunTransition ByDriver(std::optional<RunStatus> next = std::nullopt) {
  RunTransition t = At(1, next);
  t.from_driver = true;
  return t;
}

TEST(TransitionPlanTest, ARunThatNeverHadTimersOrTasksEndsWithoutLookingForThem) {
  RunHead bare = Head(RunStatus::kRunning, 1);
  bare.side_rows = false;
  Result<TransitionPlan> plan = PlanTransition(At(1, RunStatus::kCompleted), bare);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->drop_timers, TimerDrop::kNone);
  EXPECT_FALSE(plan->close_agent_tasks);
  EXPECT_FALSE(plan->close_human_tasks);
  EXPECT_FALSE(plan->row.side_rows);

  // One that writes a timer marks the run, and a change that ends it looks again.
  RunTransition parks = At(1, RunStatus::kWaiting);
  parks.add_timers.push_back(TimerRecord{"", TimerKind::kWake, "s", kNow + 10});
  plan = PlanTransition(parks, bare);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->row.side_rows);
  EXPECT_TRUE(PlanTransition(At(1, RunStatus::kCompleted), Head(RunStatus::kRunning, 1))
                  ->close_agent_tasks);

  // A change that writes an approval and ends the run closes it in the same commit.
  RunTransition ends_with_task = At(1, RunStatus::kCancelled);
  ends_with_task.human_task = HumanTaskWrite{};
  plan = PlanTransition(ends_with_task, bare);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->close_human_tasks.has_value());
  EXPECT_EQ(plan->drop_timers, TimerDrop::kAll);
}

TEST(TransitionPlanTest, OwnershipDecidesWhetherADriverMayCommit) {
  struct Case {
    RunStatus status;
    std::string owner;
    bool allowed;
  };
  for (const Case& c : std::vector<Case>{
           {RunStatus::kRunning, "ins_a", true},   // its own
           {RunStatus::kRunning, "ins_b", false},  // another's
           {RunStatus::kRunning, "", false},       // fenced, not taken yet
           {RunStatus::kPending, "ins_b", false},  //
           {RunStatus::kCancelled, "", true},      // a late result's bookkeeping
           {RunStatus::kPaused, "", true},         // a result kept while paused
       }) {
    Result<TransitionPlan> plan = PlanTransition(ByDriver(), Owned(c.status, c.owner), "ins_a");
    EXPECT_EQ(plan.ok(), c.allowed) << ToString(c.status) << " owned by '" << c.owner << "'";
    if (!c.allowed) {
      EXPECT_EQ(plan.status().code(), StatusCode::kAborted);
      EXPECT_EQ(plan.status().reason(), kLeaseLost);
    }
  }
}

TEST(TransitionPlanTest, AControlIsNeverRefusedForOwnership) {
  EXPECT_TRUE(
      PlanTransition(At(1, RunStatus::kCancelled), Owned(RunStatus::kRunning, "ins_b"), "ins_a")
          .ok());
}

TEST(TransitionPlanTest, ParkingOrEndingClearsTheOwnerAndWakingTakesIt) {
  auto owner_after = [](RunTransition t, RunHead before) {
    Result<TransitionPlan> plan = PlanTransition(t, before, "ins_a");
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    return plan.ok() ? plan->row.owner : std::optional<std::string_view>("<refused>");
  };
  EXPECT_EQ(owner_after(ByDriver(RunStatus::kWaiting), Owned(RunStatus::kRunning, "ins_a")), "");
  EXPECT_EQ(owner_after(ByDriver(RunStatus::kCompleted), Owned(RunStatus::kRunning, "ins_a")), "");
  EXPECT_EQ(owner_after(At(1, RunStatus::kPaused), Owned(RunStatus::kRunning, "ins_b")), "");
  // A wake-up or a resume: the instance that commits it drives the run.
  EXPECT_EQ(owner_after(At(1, RunStatus::kRunning), Owned(RunStatus::kWaiting, "")), "ins_a");
  // No change: nothing written.
  EXPECT_EQ(owner_after(ByDriver(), Owned(RunStatus::kRunning, "ins_a")), std::nullopt);
  EXPECT_EQ(owner_after(At(1), Owned(RunStatus::kRunning, "ins_b")), std::nullopt);
  // One process never writes one.
  Result<TransitionPlan> one =
      PlanTransition(ByDriver(RunStatus::kWaiting), Head(RunStatus::kRunning, 1));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->row.owner, std::nullopt);
}

}  // namespace
}  // namespace sw
