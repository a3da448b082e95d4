// AgentQueue through its public interface, over a real SqliteStore in a temporary
// directory, with a ManualClock and a real Engine (it queues the tasks of `agent_task`
// steps and goes on with a run once its task completes). Runs are started through
// ControlService as the API starts them.
//
// The lease sweeper thread is not started (but in the one test about it): a test
// moves the clock and calls SweepLapsedLeases itself, which commits before it returns,
// so what a sweep did can be read at once. Claim, Beat, Complete and Fail commit
// before they return too; only the engine's going on with a run is waited for
// (a condition on the store, bounded).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/service.h"
#include "core/time_format.h"
#include "engine/agent_queue.h"
#include "engine/engine.h"
// The fixture and fakes live beside this test (tests/engine/).
#include "engine_fixture.h"

namespace sw {
namespace {

using nlohmann::json;

constexpr int64_t kSecond = 1000;
constexpr int64_t kLeaseMs = 30 * kSecond;
constexpr char kQueue[] = "reviews";

using test::kStartMs;
using test::WaitUntil;

// An `agent_task` step on kQueue whose input is the run's `doc`, and `extra` fields
// (retry, timeout).
json AgentStep(json extra = json::object()) {
  json step = {{"id", "work"},
               {"type", "agent_task"},
               {"with", {{"queue", kQueue}, {"input", {{"doc", "${{ input.doc }}"}}}}}};
  step.update(extra);
  return step;
}

json FixedRetry(int max_attempts, const std::string& initial) {
  return {{"retry", {{"max_attempts", max_attempts}, {"backoff", "fixed"}, {"initial", initial}}}};
}

class AgentQueueTest : public test::EngineFixture {
 protected:
  // As `serve` wires them: the engine tells the queue about every task it queues.
  void BeforeEngineStart() override {
    agents_ = std::make_unique<AgentQueue>(*store_, *engine_, clock_,
                                           AgentQueueOptions{kLeaseMs, /*sweep_interval_ms=*/5});
    engine_->SetTaskListener([this](const std::string& workspace_id, const std::string& queue) {
      agents_->Notify(workspace_id, queue);
    });
  }

  // As `serve` stops: the queue (its sweeper and waiters), then the engine and the
  // store. The queue goes after the engine, which may still tell it about a task until
  // it stops.
  void TearDown() override {
    if (agents_) {
      agents_->Stop();
    }
    EngineFixture::TearDown();
    agents_.reset();
  }

  // Stores workflow "review" ([the agent step, a noop that outputs its output]) and
  // starts a run of it; answers the run's id once it waits on its task.
  std::string StartWaitingRun(json extra = json::object(), const std::string& doc = "d1") {
    json steps = json::array(
        {AgentStep(std::move(extra)),
         {{"id", "after"}, {"type", "noop"}, {"with", {{"value", "${{ steps.work.output }}"}}}}});
    Apply("review", std::move(steps));
    const std::string id = StartRun("review", json{{"doc", doc}});
    EXPECT_TRUE(WaitStatus(id, RunStatus::kWaiting));
    return id;
  }

  StepRecord WorkStep(const std::string& run_id) {
    for (const StepRecord& step : Run(run_id).steps) {
      if (step.path == "work") {
        return step;
      }
    }
    ADD_FAILURE() << "run " << run_id << " has no step 'work'";
    return StepRecord{};
  }

  // Claims a task of kQueue for `agent_id`; fails the test when there is none.
  AgentTaskRecord ClaimTask(const std::string& agent_id) {
    Result<std::optional<AgentTaskRecord>> claimed = agents_->Claim(ws_, {kQueue}, agent_id);
    EXPECT_TRUE(claimed.ok()) << claimed.status().message();
    EXPECT_TRUE(claimed.ok() && claimed->has_value()) << "nothing to claim";
    return claimed.ok() && claimed->has_value() ? **claimed : AgentTaskRecord{};
  }

  bool NothingToClaim() {
    Result<std::optional<AgentTaskRecord>> claimed = agents_->Claim(ws_, {kQueue}, "agent-z");
    EXPECT_TRUE(claimed.ok()) << claimed.status().message();
    return claimed.ok() && !claimed->has_value();
  }

  // What a heartbeat of `agent_id` answers; fails the test on an error.
  Heartbeat Beat(const AgentTaskRecord& task, const std::string& agent_id) {
    Result<Heartbeat> beat = agents_->Beat(ws_, task.id, agent_id);
    EXPECT_TRUE(beat.ok()) << beat.status().message();
    return beat.ok() ? *beat : Heartbeat{};
  }

  // Whether Complete answered "discarded"; fails the test on an error.
  bool CompleteDiscarded(const AgentTaskRecord& task, const std::string& agent_id, json output) {
    Result<bool> discarded = agents_->Complete(ws_, task.id, agent_id, output);
    EXPECT_TRUE(discarded.ok()) << discarded.status().message();
    return discarded.ok() && *discarded;
  }

  bool FailDiscarded(const AgentTaskRecord& task, const std::string& agent_id, json error) {
    Result<bool> discarded = agents_->Fail(ws_, task.id, agent_id, error);
    EXPECT_TRUE(discarded.ok()) << discarded.status().message();
    return discarded.ok() && *discarded;
  }

  std::unique_ptr<AgentQueue> agents_;
};

// --- claims ---

TEST_F(AgentQueueTest, ClaimHandsOutAQueuedTaskOnceWithALease) {
  const std::string id = StartWaitingRun();
  AgentTaskRecord task = ClaimTask("agent-a");
  EXPECT_EQ(task.id, Run(id).wait["task_id"]);
  EXPECT_EQ(task.workspace_id, ws_);
  EXPECT_EQ(task.run_id, id);
  EXPECT_EQ(task.step_id, "work");
  EXPECT_EQ(task.queue, kQueue);
  EXPECT_EQ(task.input, (json{{"doc", "d1"}}));
  EXPECT_EQ(task.attempt, 1);
  EXPECT_EQ(task.status, "claimed");
  EXPECT_EQ(task.agent_id, "agent-a");
  EXPECT_EQ(task.lease_expires_at, kStartMs + kLeaseMs);
  EXPECT_TRUE(NothingToClaim());
}

TEST_F(AgentQueueTest, ClaimSeesOnlyItsWorkspaceAndItsQueues) {
  const std::string id = StartWaitingRun();
  Result<std::optional<AgentTaskRecord>> other_ws = agents_->Claim("ws_other", {kQueue}, "a");
  ASSERT_TRUE(other_ws.ok());
  EXPECT_FALSE(other_ws->has_value());
  Result<std::optional<AgentTaskRecord>> other_queue = agents_->Claim(ws_, {"triage"}, "a");
  ASSERT_TRUE(other_queue.ok());
  EXPECT_FALSE(other_queue->has_value());
  Result<std::optional<AgentTaskRecord>> any = agents_->Claim(ws_, {"triage", kQueue}, "a");
  ASSERT_TRUE(any.ok());
  ASSERT_TRUE(any->has_value());
  EXPECT_EQ((*any)->run_id, id);
}

TEST_F(AgentQueueTest, QueuedTaskOfACancelledRunIsNotHandedOut) {
  const std::string id = StartWaitingRun();
  ControlRequest cancel;
  cancel.action = RunAction::kCancel;
  ASSERT_TRUE(control_->Control(ctx_, id, cancel).ok());
  EXPECT_TRUE(NothingToClaim());
}

// --- results ---

TEST_F(AgentQueueTest, CompleteGoesOnWithTheOutput) {
  const std::string id = StartWaitingRun();
  AgentTaskRecord task = ClaimTask("agent-a");
  clock_.Advance(5 * kSecond);
  EXPECT_FALSE(CompleteDiscarded(task, "agent-a", json{{"verdict", "ok"}}));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  RunRecord run = Run(id);
  EXPECT_EQ(run.output, (json{{"verdict", "ok"}}));
  StepRecord step = WorkStep(id);
  EXPECT_EQ(step.status, StepStatus::kCompleted);
  EXPECT_EQ(step.output, (json{{"verdict", "ok"}}));
  EXPECT_EQ(step.attempt, 1);
  EXPECT_EQ(step.finished_at, kStartMs + 5 * kSecond);

  // A second report changes nothing.
  Result<bool> again = agents_->Complete(ws_, task.id, "agent-a", json{{"verdict", "other"}});
  if (again.ok()) {
    EXPECT_TRUE(*again);
  }
  EXPECT_EQ(Run(id).output, (json{{"verdict", "ok"}}));
}

TEST_F(AgentQueueTest, ResultOfAnAgentThatDoesNotHoldTheTaskIsDiscarded) {
  const std::string id = StartWaitingRun();
  AgentTaskRecord task = ClaimTask("agent-a");
  EXPECT_TRUE(CompleteDiscarded(task, "agent-b", "not mine"));
  EXPECT_TRUE(FailDiscarded(task, "agent-b", json{{"message", "not mine"}}));
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kWaiting);
  EXPECT_FALSE(WorkStep(id).detail.contains("attempts"));
  EXPECT_FALSE(Beat(task, "agent-a").cancelled);
  // An empty agent id stands for any agent of the workspace.
  EXPECT_FALSE(CompleteDiscarded(task, "", "anyone"));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(Run(id).output, "anyone");
}

TEST_F(AgentQueueTest, RetryableFailureGoesBackToTheQueueAfterTheBackOff) {
  const std::string id = StartWaitingRun(FixedRetry(3, "10s"));
  AgentTaskRecord task = ClaimTask("agent-a");
  clock_.Advance(kSecond);
  EXPECT_FALSE(FailDiscarded(task, "agent-a", json{{"message", "flaky"}}));
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kWaiting);
  EXPECT_EQ(run.wait["attempt"], 2);
  EXPECT_EQ(run.wait["last_error"], (json{{"message", "flaky"}, {"code", "agent_failed"}}));
  EXPECT_EQ(run.wait["next_attempt_at"], FormatTime(kStartMs + kSecond + 10 * kSecond));
  const json attempts = WorkStep(id).detail["attempts"];
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0]["attempt"], 1);
  EXPECT_EQ(attempts[0]["error"]["code"], "agent_failed");
  EXPECT_EQ(attempts[0]["agent_id"], "agent-a");
  EXPECT_EQ(attempts[0]["task_id"], task.id);

  EXPECT_TRUE(NothingToClaim());  // still in its back-off
  clock_.Advance(10 * kSecond);
  AgentTaskRecord again = ClaimTask("agent-b");
  EXPECT_EQ(again.id, task.id);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_EQ(again.agent_id, "agent-b");
}

TEST_F(AgentQueueTest, FailureMarkedNotRetryableFailsTheRunWhateverThePolicy) {
  const std::string id = StartWaitingRun(FixedRetry(5, "1s"));
  AgentTaskRecord task = ClaimTask("agent-a");
  EXPECT_FALSE(FailDiscarded(task, "agent-a", json{{"message", "cannot"}, {"retryable", false}}));
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_EQ(run.error["code"], "agent_failed");
  EXPECT_EQ(run.error["message"], "cannot");
  EXPECT_EQ(run.error["step_id"], "work");
  EXPECT_EQ(WorkStep(id).status, StepStatus::kFailed);
  clock_.Advance(kSecond);
  EXPECT_TRUE(NothingToClaim());
}

TEST_F(AgentQueueTest, FailureOfTheLastAttemptFailsTheRun) {
  const std::string id = StartWaitingRun(FixedRetry(2, "1s"));
  EXPECT_FALSE(FailDiscarded(ClaimTask("agent-a"), "agent-a", json{{"message", "one"}}));
  clock_.Advance(kSecond);
  EXPECT_FALSE(FailDiscarded(ClaimTask("agent-b"), "agent-b", json{{"message", "two"}}));
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_EQ(run.error["message"], "two");
  StepRecord step = WorkStep(id);
  EXPECT_EQ(step.attempt, 2);
  EXPECT_EQ(step.detail["attempts"].size(), 1u);
}

TEST_F(AgentQueueTest, ResultAfterTheRunWasCancelledIsDiscardedAndMarked) {
  const std::string id = StartWaitingRun();
  AgentTaskRecord task = ClaimTask("agent-a");
  ControlRequest cancel;
  cancel.action = RunAction::kCancel;
  ASSERT_TRUE(control_->Control(ctx_, id, cancel).ok());
  EXPECT_TRUE(Beat(task, "agent-a").cancelled);
  EXPECT_TRUE(CompleteDiscarded(task, "agent-a", "late"));
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kCancelled);
  EXPECT_TRUE(run.output.is_null());
  StepRecord step = WorkStep(id);
  EXPECT_EQ(step.status, StepStatus::kCancelled);
  EXPECT_TRUE(step.result_discarded);
  EXPECT_NE(step.output, "late");
}

TEST_F(AgentQueueTest, CallsOnAnUnknownTaskOrAnotherWorkspacesTaskAreNotFound) {
  StartWaitingRun();
  AgentTaskRecord task = ClaimTask("agent-a");
  for (const auto& [ws, task_id] : {std::pair<std::string, std::string>{ws_, "task_nope"},
                                    std::pair<std::string, std::string>{"ws_other", task.id}}) {
    EXPECT_EQ(agents_->Beat(ws, task_id, "agent-a").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(agents_->Complete(ws, task_id, "agent-a", 1).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(agents_->Fail(ws, task_id, "agent-a", json{{"message", "m"}}).status().code(),
              StatusCode::kNotFound);
  }
  EXPECT_FALSE(Beat(task, "agent-a").cancelled);
}

// --- leases ---

TEST_F(AgentQueueTest, HeartbeatExtendsTheLeaseOfItsHolderOnly) {
  StartWaitingRun();
  AgentTaskRecord task = ClaimTask("agent-a");
  clock_.Advance(20 * kSecond);
  Heartbeat beat = Beat(task, "agent-a");
  EXPECT_FALSE(beat.cancelled);
  EXPECT_EQ(beat.lease_expires_at, kStartMs + 20 * kSecond + kLeaseMs);

  clock_.Advance(5 * kSecond);
  Heartbeat other = Beat(task, "agent-b");
  EXPECT_TRUE(other.cancelled);  // not this agent's task: stop working on it
  EXPECT_EQ(other.lease_expires_at, kStartMs + 20 * kSecond + kLeaseMs);
  Heartbeat any = Beat(task, "");
  EXPECT_FALSE(any.cancelled);
  EXPECT_EQ(any.lease_expires_at, kStartMs + 25 * kSecond + kLeaseMs);
}

TEST_F(AgentQueueTest, LeaseRenewedByAHeartbeatDoesNotLapse) {
  const std::string id = StartWaitingRun();
  AgentTaskRecord task = ClaimTask("agent-a");
  clock_.Advance(20 * kSecond);
  Beat(task, "agent-a");
  clock_.Advance(20 * kSecond);  // past the first lease, within the renewed one
  agents_->SweepLapsedLeases();
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kWaiting);
  EXPECT_FALSE(run.wait.contains("attempt"));
  EXPECT_FALSE(WorkStep(id).detail.contains("attempts"));
  EXPECT_FALSE(Beat(task, "agent-a").cancelled);
  EXPECT_FALSE(CompleteDiscarded(task, "agent-a", "done"));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
}

TEST_F(AgentQueueTest, LapsedLeaseGoesBackToTheQueueAfterTheBackOff) {
  const std::string id = StartWaitingRun(FixedRetry(2, "10s"));
  AgentTaskRecord task = ClaimTask("agent-a");
  clock_.Advance(kLeaseMs - 1);
  agents_->SweepLapsedLeases();
  EXPECT_FALSE(Run(id).wait.contains("attempt")) << "lapsed before the end of its lease";

  clock_.Advance(2);
  const int64_t lapsed_at = clock_.NowMs();
  agents_->SweepLapsedLeases();
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kWaiting);
  EXPECT_EQ(run.wait["attempt"], 2);
  EXPECT_EQ(run.wait["last_error"]["code"], "lease_expired");
  EXPECT_EQ(run.wait["next_attempt_at"], FormatTime(lapsed_at + 10 * kSecond));
  const json attempts = WorkStep(id).detail["attempts"];
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0]["attempt"], 1);
  EXPECT_EQ(attempts[0]["error"]["code"], "lease_expired");
  EXPECT_EQ(attempts[0]["agent_id"], "agent-a");
  EXPECT_EQ(attempts[0]["task_id"], task.id);
  EXPECT_TRUE(Beat(task, "agent-a").cancelled);
  EXPECT_TRUE(NothingToClaim());

  clock_.Advance(10 * kSecond);
  AgentTaskRecord again = ClaimTask("agent-b");
  EXPECT_EQ(again.id, task.id);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_EQ(again.input, task.input);
  EXPECT_EQ(again.lease_expires_at, clock_.NowMs() + kLeaseMs);
  // The first agent's late result is not applied; the second agent's is.
  EXPECT_TRUE(CompleteDiscarded(task, "agent-a", "old"));
  EXPECT_EQ(Run(id).status, RunStatus::kWaiting);
  EXPECT_FALSE(CompleteDiscarded(again, "agent-b", "new"));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(Run(id).output, "new");
  EXPECT_EQ(WorkStep(id).attempt, 2);
}

TEST_F(AgentQueueTest, LapsedLeaseWithoutRetryFailsTheRun) {
  const std::string id = StartWaitingRun();
  AgentTaskRecord task = ClaimTask("agent-a");
  clock_.Advance(kLeaseMs + 1);
  agents_->SweepLapsedLeases();
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_EQ(run.error["code"], "lease_expired");
  EXPECT_EQ(run.error["step_id"], "work");
  EXPECT_EQ(WorkStep(id).status, StepStatus::kFailed);
  EXPECT_TRUE(Beat(task, "agent-a").cancelled);
  EXPECT_TRUE(CompleteDiscarded(task, "agent-a", "late"));
  EXPECT_EQ(Run(id).status, RunStatus::kFailed);
}

TEST_F(AgentQueueTest, TheSweeperThreadHandlesLapsedLeasesByItself) {
  const std::string id = StartWaitingRun();
  ClaimTask("agent-a");
  agents_->Start();
  clock_.Advance(kLeaseMs + 1);
  ASSERT_TRUE(WaitStatus(id, RunStatus::kFailed));
  EXPECT_EQ(Run(id).error["code"], "lease_expired");
}

TEST_F(AgentQueueTest, StepTimeoutOnTheClockClosesTheTask) {
  const std::string id = StartWaitingRun(json{{"timeout", "2m"}});
  AgentTaskRecord task = ClaimTask("agent-a");
  clock_.Advance(2 * 60 * kSecond);
  engine_->PokeTimers();
  ASSERT_TRUE(WaitStatus(id, RunStatus::kFailed));
  EXPECT_EQ(Run(id).error["code"], "timeout");
  EXPECT_TRUE(Beat(task, "agent-a").cancelled);
  EXPECT_TRUE(CompleteDiscarded(task, "agent-a", "late"));
  EXPECT_TRUE(Run(id).output.is_null());
}

// --- long-poll waiters ---

TEST_F(AgentQueueTest, NotifyWakesTheWaitersOfThatWorkspaceAndQueueOnce) {
  std::atomic<int> mine{0}, other_queue{0}, other_ws{0}, cancelled{0};
  agents_->Wait(ws_, {"triage", kQueue}, [&] { ++mine; });
  const uint64_t triage = agents_->Wait(ws_, {"triage"}, [&] { ++other_queue; });
  const uint64_t elsewhere = agents_->Wait("ws_other", {kQueue}, [&] { ++other_ws; });
  agents_->CancelWait(agents_->Wait(ws_, {kQueue}, [&] { ++cancelled; }));

  agents_->Notify(ws_, kQueue);  // wakes on this thread, before it returns
  EXPECT_EQ(mine, 1);
  EXPECT_EQ(other_queue, 0);
  EXPECT_EQ(other_ws, 0);
  EXPECT_EQ(cancelled, 0);
  agents_->Notify(ws_, kQueue);
  EXPECT_EQ(mine, 1);  // a waiter is woken once
  // The others would be woken at Stop, after this test's counters are gone.
  agents_->CancelWait(triage);
  agents_->CancelWait(elsewhere);
}

TEST_F(AgentQueueTest, WaitersAreWokenWhenTheEngineQueuesATask) {
  std::atomic<int> woken{0};
  agents_->Wait(ws_, {kQueue}, [&] { ++woken; });
  StartWaitingRun();
  EXPECT_TRUE(WaitUntil([&] { return woken == 1; }));
}

TEST_F(AgentQueueTest, WaitersAreWokenWhenALapsedTaskIsRequeued) {
  StartWaitingRun(FixedRetry(2, "1s"));
  ClaimTask("agent-a");
  std::atomic<int> woken{0};
  agents_->Wait(ws_, {kQueue}, [&] { ++woken; });
  clock_.Advance(kLeaseMs + 1);
  agents_->SweepLapsedLeases();
  EXPECT_EQ(woken, 1);
}

TEST_F(AgentQueueTest, StopWakesEveryWaiter) {
  std::atomic<int> woken{0};
  agents_->Wait(ws_, {kQueue}, [&] { ++woken; });
  agents_->Wait("ws_other", {"triage"}, [&] { ++woken; });
  agents_->Stop();
  EXPECT_EQ(woken, 2);
}

}  // namespace
}  // namespace sw
