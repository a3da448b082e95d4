// Store conformance: what a parked run waits on: timers, buffered events and agent
// tasks. See store_conformance.h.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

TEST_P(StoreConformanceTest, TimersAreAddedClearedAndReturnedInDueOrder) {
  for (const char* id : {"run_1", "run_2", "run_3"}) {
    CreateRunning(id);
  }
  auto add = [&](const std::string& run_id, TimerRecord timer, bool clear) {
    Result<RunRecord> run = store_->GetRun(run_id, false);
    RunTransition t;
    t.run_id = run_id;
    t.expected_version = run->version;
    t.now = kT0;
    t.clear_timers = clear;
    t.add_timers.push_back(std::move(timer));
    return store_->TransitionRun(std::move(t)).ok();
  };
  ASSERT_TRUE(add("run_1", {"run_1", TimerKind::kWake, "s", kT0 + 300}, false));
  ASSERT_TRUE(add("run_2", {"run_2", TimerKind::kEventTimeout, "w", kT0 + 100}, false));
  ASSERT_TRUE(add("run_3", {"run_3", TimerKind::kWake, "s", kT0 + 200}, false));

  Result<std::vector<TimerRecord>> due = store_->DueTimers(kT0 + 1000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].run_id, "run_2");
  EXPECT_EQ((*due)[0].kind, TimerKind::kEventTimeout);
  EXPECT_EQ((*due)[0].path, "w");
  EXPECT_EQ((*due)[0].due_at, kT0 + 100);
  EXPECT_EQ((*due)[1].run_id, "run_3");
  EXPECT_EQ((*due)[2].run_id, "run_1");

  // Strictly before `due_before`, and at most `limit`.
  due = store_->DueTimers(kT0 + 200, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].run_id, "run_2");
  due = store_->DueTimers(kT0 + 1000, 2);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[1].run_id, "run_3");

  // The same kind again replaces the run's timer; clear_timers drops them before the
  // new ones are added.
  ASSERT_TRUE(add("run_1", {"run_1", TimerKind::kWake, "s2", kT0 + 50}, false));
  ASSERT_TRUE(add("run_3", {"run_3", TimerKind::kEventTimeout, "w", kT0 + 400}, true));
  due = store_->DueTimers(kT0 + 1000, 10);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].run_id, "run_1");
  EXPECT_EQ((*due)[0].path, "s2");
  EXPECT_EQ((*due)[0].due_at, kT0 + 50);
  EXPECT_EQ((*due)[1].run_id, "run_2");
  EXPECT_EQ((*due)[2].run_id, "run_3");
  EXPECT_EQ((*due)[2].kind, TimerKind::kEventTimeout);

  Result<RunRecord> r2 = store_->GetRun("run_2", false);
  RunTransition clear;
  clear.run_id = "run_2";
  clear.expected_version = r2->version;
  clear.clear_timers = true;
  clear.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(clear)).ok());
  due = store_->DueTimers(kT0 + 1000, 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].run_id, "run_1");
  EXPECT_EQ((*due)[1].run_id, "run_3");
}

TEST_P(StoreConformanceTest, ClearTimersKeepsTheRunTimeoutAndAnEndingRunDropsAll) {
  CreateRunning("run_1");
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;
  t.now = kT0;
  t.add_timers = {{"", TimerKind::kRunTimeout, "", kT0 + 500},
                  {"", TimerKind::kWake, "nap", kT0 + 100}};
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  ASSERT_EQ(store_->DueTimers(kT0 + 1000, 10)->size(), 2u);
  RunTransition clear;
  clear.run_id = "run_1";
  clear.expected_version = 3;
  clear.now = kT0;
  clear.clear_timers = true;
  ASSERT_TRUE(store_->TransitionRun(std::move(clear)).ok());
  Result<std::vector<TimerRecord>> due = store_->DueTimers(kT0 + 1000, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].kind, TimerKind::kRunTimeout);
  RunTransition end;
  end.run_id = "run_1";
  end.expected_version = 4;
  end.now = kT0;
  end.next_status = RunStatus::kFailed;
  ASSERT_TRUE(store_->TransitionRun(std::move(end)).ok());
  EXPECT_TRUE(store_->DueTimers(kT0 + 1000, 10)->empty());
}

TEST_P(StoreConformanceTest, BufferEventIsACompareAndSetAndConsumeRemovesIt) {
  CreateRunning("run_1");
  EXPECT_EQ(store_->BufferEvent("run_1", 1, {0, "run_1", "go", json{{"n", 0}}, kT0}).code(),
            StatusCode::kAborted);
  EXPECT_FALSE(store_->FindBufferedEvent("run_1", "go")->has_value());
  EXPECT_EQ(store_->GetRun("run_1", false)->version, 2);

  ASSERT_TRUE(store_->BufferEvent("run_1", 2, {0, "run_1", "go", json{{"n", 1}}, kT0 + 1}).ok());
  ASSERT_TRUE(store_->BufferEvent("run_1", 3, {0, "run_1", "other", json{{"n", 2}}, kT0 + 2}).ok());
  ASSERT_TRUE(store_->BufferEvent("run_1", 4, {0, "run_1", "go", json{{"n", 3}}, kT0 + 3}).ok());
  Result<RunRecord> run = store_->GetRun("run_1", false);
  EXPECT_EQ(run->version, 5);
  EXPECT_EQ(run->updated_at, kT0 + 3);
  EXPECT_TRUE(Changed().contains("run_1"));

  Result<std::optional<EventRecord>> first = store_->FindBufferedEvent("run_1", "go");
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->payload, (json{{"n", 1}}));
  EXPECT_EQ((*first)->event_type, "go");
  EXPECT_EQ((*first)->run_id, "run_1");
  EXPECT_EQ((*first)->created_at, kT0 + 1);
  EXPECT_FALSE(store_->FindBufferedEvent("run_2", "go")->has_value());

  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 5;
  t.consume_event_id = (*first)->id;
  t.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  Result<std::optional<EventRecord>> second = store_->FindBufferedEvent("run_1", "go");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->payload, (json{{"n", 3}}));
  EXPECT_EQ((*store_->FindBufferedEvent("run_1", "other"))->payload, (json{{"n", 2}}));
}

TEST_P(StoreConformanceTest, ClaimTakesTheOldestAvailableTaskOfTheQueuesOnce) {
  CreateRunning("run_1");
  CreateRunning("run_2");
  CreateRunning("run_3");
  EnqueueTask(MakeTask("task_b", "run_1", "gpu", kT0 + 10));
  EnqueueTask(MakeTask("task_a", "run_2", "gpu", kT0 + 5));
  EnqueueTask(MakeTask("task_later", "run_3", "gpu", kT0 + 1000));
  auto claim = [&](std::vector<std::string> queues, const std::string& agent) {
    return store_->ClaimAgentTask("ws_1", queues, agent, kT0 + 100, 30000);
  };
  EXPECT_FALSE(claim({"cpu"}, "a1")->has_value());
  EXPECT_FALSE(store_->ClaimAgentTask("ws_2", {"gpu"}, "a1", kT0 + 100, 30000)->has_value());
  Result<std::optional<AgentTaskRecord>> first = claim({"cpu", "gpu"}, "a1");
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->id, "task_a");
  EXPECT_EQ((*first)->status, "claimed");
  EXPECT_EQ((*first)->agent_id, "a1");
  EXPECT_EQ((*first)->lease_expires_at, kT0 + 100 + 30000);
  EXPECT_EQ((*first)->input, json({{"n", 1}}));
  EXPECT_EQ((*claim({"gpu"}, "a2"))->id, "task_b");
  // The third is not available before its back-off ends.
  EXPECT_FALSE(claim({"gpu"}, "a3")->has_value());
}

TEST_P(StoreConformanceTest, HeartbeatExtendsOnlyTheClaimingAgentsLease) {
  CreateRunning("run_1");
  EnqueueTask(MakeTask("task_1", "run_1", "q"));
  ASSERT_TRUE(store_->ClaimAgentTask("ws_1", {"q"}, "a1", kT0, 1000)->has_value());
  Result<AgentTaskRecord> other = store_->HeartbeatAgentTask("task_1", "a2", kT0 + 500, 1000);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->lease_expires_at, kT0 + 1000);
  Result<AgentTaskRecord> mine = store_->HeartbeatAgentTask("task_1", "a1", kT0 + 500, 1000);
  EXPECT_EQ(mine->lease_expires_at, kT0 + 1500);
  EXPECT_TRUE(store_->LapsedAgentTasks(kT0 + 1400, 10)->empty());
  Result<std::vector<AgentTaskRecord>> lapsed = store_->LapsedAgentTasks(kT0 + 1600, 10);
  ASSERT_EQ(lapsed->size(), 1u);
  EXPECT_EQ((*lapsed)[0].id, "task_1");
  EXPECT_EQ(store_->HeartbeatAgentTask("task_404", "a1", kT0, 1).status().code(),
            StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, ATaskUpdateIsACompareAndSetThatRollsBackTheRunChange) {
  CreateRunning("run_1");
  EnqueueTask(MakeTask("task_1", "run_1", "q"));
  ASSERT_TRUE(store_->ClaimAgentTask("ws_1", {"q"}, "a1", kT0, 1000)->has_value());
  auto requeue = [&](int64_t lapsed_before) {
    RunTransition t;
    t.run_id = "run_1";
    t.expected_version = store_->GetRun("run_1", false)->version;
    t.now = kT0 + 2000;
    t.upsert_steps.push_back(MakeStep("work", StepStatus::kWaiting, 2));
    t.update_task = AgentTaskUpdate{"task_1", "claimed", lapsed_before, "queued", 2, kT0 + 3000};
    return store_->TransitionRun(std::move(t));
  };
  // The lease did not lapse before kT0 + 500: nothing changes, not even the run.
  const int64_t version = store_->GetRun("run_1", false)->version;
  EXPECT_EQ(requeue(kT0 + 500).status().code(), StatusCode::kAborted);
  EXPECT_EQ(store_->GetRun("run_1", false)->version, version);
  EXPECT_TRUE(FindStep(*store_->GetRun("run_1", true), "work") == nullptr);
  ASSERT_TRUE(requeue(kT0 + 2000).ok());
  Result<AgentTaskRecord> task = store_->GetAgentTask("task_1");
  EXPECT_EQ(task->status, "queued");
  EXPECT_EQ(task->attempt, 2);
  EXPECT_EQ(task->agent_id, "");
  EXPECT_EQ(task->available_at, kT0 + 3000);
  // Claimed again by another agent once available.
  EXPECT_FALSE(store_->ClaimAgentTask("ws_1", {"q"}, "a2", kT0 + 2500, 1000)->has_value());
  EXPECT_EQ((*store_->ClaimAgentTask("ws_1", {"q"}, "a2", kT0 + 3000, 1000))->agent_id, "a2");
}

TEST_P(StoreConformanceTest, ARunThatEndsCancelsItsOpenTasks) {
  CreateRunning("run_1");
  EnqueueTask(MakeTask("task_1", "run_1", "q"));
  ASSERT_TRUE(store_->ClaimAgentTask("ws_1", {"q"}, "a1", kT0, 1000)->has_value());
  RunTransition cancel;
  cancel.run_id = "run_1";
  cancel.expected_version = store_->GetRun("run_1", false)->version;
  cancel.next_status = RunStatus::kCancelled;
  cancel.now = kT0 + 10;
  ASSERT_TRUE(store_->TransitionRun(std::move(cancel)).ok());
  EXPECT_EQ(store_->GetAgentTask("task_1")->status, "cancelled");
  // A heartbeat now tells the agent.
  EXPECT_EQ(store_->HeartbeatAgentTask("task_1", "a1", kT0 + 20, 1000)->status, "cancelled");
}

TEST_P(StoreConformanceTest, CancelAgentTaskClosesOnlyAnOpenTask) {
  CreateRunning("run_1");
  CreateRunning("run_2");
  CreateRunning("run_3");
  EnqueueTask(MakeTask("task_claimed", "run_1", "q"));
  EnqueueTask(MakeTask("task_queued", "run_2", "q", kT0 + 1));
  EnqueueTask(MakeTask("task_done", "run_3", "other"));
  ASSERT_EQ((*store_->ClaimAgentTask("ws_1", {"q"}, "a1", kT0 + 1, 1000))->id, "task_claimed");
  ASSERT_EQ((*store_->ClaimAgentTask("ws_1", {"other"}, "a1", kT0 + 1, 1000))->id, "task_done");
  RunTransition complete;
  complete.run_id = "run_3";
  complete.expected_version = store_->GetRun("run_3", false)->version;
  complete.now = kT0 + 2;
  complete.update_task = AgentTaskUpdate{"task_done", "claimed", 0, "completed"};
  ASSERT_TRUE(store_->TransitionRun(std::move(complete)).ok());

  for (const char* id : {"task_claimed", "task_queued", "task_done"}) {
    ASSERT_TRUE(store_->CancelAgentTask(id, kT0 + 50).ok()) << id;
  }
  for (const char* id : {"task_claimed", "task_queued"}) {
    Result<AgentTaskRecord> task = store_->GetAgentTask(id);
    ASSERT_TRUE(task.ok());
    EXPECT_EQ(task->status, "cancelled") << id;
    EXPECT_EQ(task->updated_at, kT0 + 50) << id;
  }
  EXPECT_EQ(store_->GetAgentTask("task_done")->status, "completed");
  EXPECT_FALSE(store_->ClaimAgentTask("ws_1", {"q"}, "a2", kT0 + 100, 1000)->has_value());
  EXPECT_EQ(store_->HeartbeatAgentTask("task_claimed", "a1", kT0 + 60, 1000)->status, "cancelled");
}

}  // namespace
}  // namespace sw::store_test
