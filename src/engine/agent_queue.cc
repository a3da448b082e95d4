#include "engine/agent_queue.h"

#include <spdlog/spdlog.h>

#include <atomic>

#include "core/retry.h"
#include "core/thread_name.h"
#include "core/time_format.h"
#include "engine/attempts.h"

namespace sw {

using nlohmann::json;

namespace {

constexpr int kMaxRaces = 8;

const StepRecord* FindRow(const RunRecord& run, const std::string& path) {
  for (const StepRecord& row : run.steps) {
    if (row.path == path) {
      return &row;
    }
  }
  return nullptr;
}

// The step row of `task`'s step with `status`; fields left zero keep what is stored.
StepRecord TaskRow(const AgentTaskRecord& task, StepStatus status, int attempt) {
  StepRecord row;
  row.path = task.path;
  row.step_id = task.step_id;
  row.type = "agent_task";
  row.status = status;
  row.attempt = attempt;
  return row;
}

// True when `agent_id` holds the task's lease (an empty id stands for any agent of
// the workspace).
bool Holds(const AgentTaskRecord& task, const std::string& agent_id) {
  return task.status == "claimed" && (agent_id.empty() || task.agent_id == agent_id);
}

bool WaitsFor(const RunRecord& run, const AgentTaskRecord& task) {
  return run.status == RunStatus::kWaiting && run.wait.is_object() &&
         run.wait.value("task_id", "") == task.id;
}

}  // namespace

AgentQueue::AgentQueue(Store& store, Engine& engine, const Clock& clock, AgentQueueOptions options,
                       Notifier* notifier)
    : store_(store),
      engine_(engine),
      clock_(clock),
      options_(options),
      notifier_(notifier != nullptr ? *notifier : local_notifier_) {}

AgentQueue::~AgentQueue() { Stop(); }

void AgentQueue::Start() {
  sweeper_ = std::thread([this] {
    NameThisThread("sw-agents");
    Loop();
  });
}

void AgentQueue::Stop() {
  std::map<uint64_t, Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    waiters.swap(waiters_);
  }
  cv_.notify_all();
  if (sweeper_.joinable()) {
    sweeper_.join();
  }
  for (auto& [handle, waiter] : waiters) {
    for (uint64_t subscription : waiter.subscriptions) {
      notifier_.Unsubscribe(subscription);
    }
    if (!waiter.woken->exchange(true)) {
      waiter.wake();
    }
  }
}

void AgentQueue::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.sweep_interval_ms));
    if (stopping_) {
      return;
    }
    lock.unlock();
    SweepLapsedLeases();
    lock.lock();
  }
}

Result<AgentTaskRecord> AgentQueue::LoadTask(const std::string& workspace_id,
                                             const std::string& task_id) {
  Result<AgentTaskRecord> task = store_.GetAgentTask(task_id);
  if (!task.ok() || task->workspace_id != workspace_id) {
    return NotFound("agent task " + task_id + " not found");
  }
  return task;
}

Result<std::optional<AgentTaskRecord>> AgentQueue::Claim(const std::string& workspace_id,
                                                         const std::vector<std::string>& queues,
                                                         const std::string& agent_id) {
  return store_.ClaimAgentTask(workspace_id, queues, agent_id, clock_.NowMs(), options_.lease_ms);
}

Result<Heartbeat> AgentQueue::Beat(const std::string& workspace_id, const std::string& task_id,
                                   const std::string& agent_id) {
  Result<AgentTaskRecord> task = LoadTask(workspace_id, task_id);
  if (!task.ok()) {
    return task.status();
  }
  if (Holds(*task, agent_id)) {
    task = store_.HeartbeatAgentTask(task_id, task->agent_id, clock_.NowMs(), options_.lease_ms);
    if (!task.ok()) {
      return task.status();
    }
  }
  // Anything but a lease of this agent's means: stop working on it.
  return Heartbeat{task->lease_expires_at, !Holds(*task, agent_id)};
}

Result<std::optional<AgentTaskRecord>> AgentQueue::HeldTask(const std::string& workspace_id,
                                                            const std::string& task_id,
                                                            const std::string& agent_id) {
  Result<AgentTaskRecord> task = LoadTask(workspace_id, task_id);
  if (!task.ok()) {
    return task.status();
  }
  if (!Holds(*task, agent_id)) {
    DiscardLateResult(*task);
    return std::optional<AgentTaskRecord>();
  }
  return std::optional<AgentTaskRecord>(std::move(task).value());
}

Result<bool> AgentQueue::Complete(const std::string& workspace_id, const std::string& task_id,
                                  const std::string& agent_id, const json& output) {
  for (int race = 0; race < kMaxRaces; ++race) {
    Result<std::optional<AgentTaskRecord>> task = HeldTask(workspace_id, task_id, agent_id);
    if (!task.ok() || !task->has_value()) {
      return task.ok() ? Result<bool>(true) : Result<bool>(task.status());
    }
    const AgentTaskRecord& held = **task;
    Result<RunRecord> run = store_.GetRun(held.run_id, false);
    if (!run.ok()) {
      return run.status();
    }
    if (!WaitsFor(*run, held)) {
      DiscardLateResult(held);
      return true;
    }
    StepRecord row = TaskRow(held, StepStatus::kCompleted, held.attempt);
    row.output = output;
    RunTransition t = WakeWithStepResult(*run, std::move(row), clock_.NowMs());
    t.update_task = AgentTaskUpdate{held.id, "claimed", 0, "completed"};
    Result<int64_t> committed = store_.TransitionRun(std::move(t));
    if (committed.ok()) {
      engine_.Drive(run->id);
      return false;
    }
    if (committed.status().code() != StatusCode::kAborted) {
      return committed.status();
    }
  }
  return Status(StatusCode::kUnavailable, "the run kept changing; try again", "unavailable");
}

Result<bool> AgentQueue::Fail(const std::string& workspace_id, const std::string& task_id,
                              const std::string& agent_id, const json& error) {
  Result<std::optional<AgentTaskRecord>> task = HeldTask(workspace_id, task_id, agent_id);
  if (!task.ok() || !task->has_value()) {
    return task.ok() ? Result<bool>(true) : Result<bool>(task.status());
  }
  const std::string message = error.value("message", std::string("the agent failed"));
  const bool retryable = error.value("retryable", true);
  return FailAttempt(**task, "agent_failed", message, retryable, 0);
}

Result<bool> AgentQueue::FailAttempt(const AgentTaskRecord& task, const std::string& code,
                                     const std::string& message, bool retryable,
                                     int64_t lapsed_before) {
  for (int race = 0; race < kMaxRaces; ++race) {
    Result<RunRecord> run = store_.GetRun(task.run_id, /*with_steps=*/true);
    if (!run.ok()) {
      return run.status();
    }
    if (!WaitsFor(*run, task)) {
      DiscardLateResult(task);
      return true;
    }
    Result<std::shared_ptr<const Definition>> def =
        engine_.LoadDefinition(run->workspace_id, run->workflow_id, run->workflow_version);
    if (!def.ok()) {
      return def.status();
    }
    const StepDef* step = (*def)->FindStep(task.step_id);
    if (step == nullptr) {
      return Internal("step " + task.step_id + " is not in the definition");
    }
    const int64_t now = clock_.NowMs();
    const StepRecord* stored = FindRow(*run, task.path);
    // A retried task's attempt began when it became available again.
    const int64_t started_at =
        task.attempt > 1 || stored == nullptr ? task.available_at : stored->started_at;
    json step_error = {{"message", message}, {"code", code}};
    json detail = stored != nullptr && stored->detail.is_object() ? stored->detail : json::object();
    json record = AttemptRecord(task.attempt, started_at, now, step_error);
    record["task_id"] = task.id;
    record["agent_id"] = task.agent_id;
    detail["attempts"].push_back(std::move(record));
    RunTransition t;
    t.run_id = run->id;
    t.expected_version = run->version;
    t.expected_status = RunStatus::kWaiting;
    t.now = now;
    const bool again =
        retryable && RetriesAfter(step->retry, task.attempt, code, /*http_status=*/0);
    engine_.counters().StepFailed(code, again);
    if (again) {
      // The same task goes back to the queue as the next attempt, after the back-off.
      const int64_t available_at =
          now + RetryDelay(step->retry, task.attempt + 1, UniformRandom01()).count();
      // The step keeps the failed attempt's number until the next one completes.
      StepRecord row = TaskRow(task, StepStatus::kWaiting, task.attempt);
      row.finished_at = now;
      row.error = step_error;
      row.detail = detail;
      t.upsert_steps.push_back(std::move(row));
      json wait = run->wait;
      wait["attempt"] = task.attempt + 1;
      wait["next_attempt_at"] = FormatTime(available_at);
      wait["last_error"] = step_error;
      t.wait = wait;
      t.update_task = AgentTaskUpdate{task.id,  "claimed",        lapsed_before,
                                      "queued", task.attempt + 1, available_at};
    } else {
      StepRecord row = TaskRow(task, StepStatus::kFailed, task.attempt);
      row.finished_at = now;
      row.error = step_error;
      t.upsert_steps.push_back(std::move(row));
      t.next_status = RunStatus::kFailed;
      t.finished_at = now;
      t.wait = json();
      t.error = json{{"message", message}, {"code", code}, {"step_id", task.step_id}};
      t.update_task = AgentTaskUpdate{task.id, "claimed", lapsed_before, "failed"};
    }
    Result<int64_t> committed = store_.TransitionRun(std::move(t));
    if (committed.ok()) {
      if (again) {
        Notify(task.workspace_id, task.queue);
      } else {
        engine_.OnRunEnded(*run, RunStatus::kFailed, now);
      }
      spdlog::info("event=agent_task.{} task={} run={} attempt={} code={}",
                   again ? "requeued" : "failed", task.id, task.run_id, task.attempt, code);
      return false;
    }
    if (committed.status().code() != StatusCode::kAborted) {
      return committed.status();
    }
    // The run or the task moved (a heartbeat renewed a lapsed lease): look again.
    Result<AgentTaskRecord> now_task = store_.GetAgentTask(task.id);
    if (!now_task.ok() || now_task->status != "claimed" || now_task->agent_id != task.agent_id ||
        (lapsed_before > 0 && now_task->lease_expires_at >= lapsed_before)) {
      return true;
    }
  }
  return Status(StatusCode::kUnavailable, "the run kept changing; try again", "unavailable");
}

void AgentQueue::DiscardLateResult(const AgentTaskRecord& task) {
  Result<RunRecord> run = store_.GetRun(task.run_id, false);
  if (!run.ok() || !IsTerminal(run->status) || task.status != "cancelled") {
    return;  // a lease that lapsed to another agent: the step goes on without this result
  }
  RunTransition t;
  t.run_id = run->id;
  t.expected_version = run->version;
  t.expected_status = run->status;
  t.now = clock_.NowMs();
  t.discard_step_result = task.path;
  if (Result<int64_t> r = store_.TransitionRun(std::move(t)); !r.ok()) {
    spdlog::warn("task {}: marking the late result discarded failed: {}", task.id,
                 r.status().message());
  }
}

void AgentQueue::SweepLapsedLeases() {
  const int64_t now = clock_.NowMs();
  Result<std::vector<AgentTaskRecord>> lapsed = store_.LapsedAgentTasks(now, 100);
  if (!lapsed.ok()) {
    return;
  }
  for (const AgentTaskRecord& task : *lapsed) {
    Result<bool> r = FailAttempt(task, "lease_expired",
                                 "the agent's lease lapsed without a heartbeat", true, now);
    if (!r.ok()) {
      spdlog::warn("task {}: handling its lapsed lease failed: {}", task.id, r.status().message());
    }
  }
}

uint64_t AgentQueue::Wait(const std::string& workspace_id, const std::vector<std::string>& queues,
                          std::function<void()> wake) {
  // One wake-up, whichever queue gets a task first (or the queue stops).
  Waiter waiter{{}, std::move(wake), std::make_shared<std::atomic<bool>>(false)};
  for (const std::string& queue : queues) {
    waiter.subscriptions.push_back(notifier_.Subscribe(Notifier::Topic::kTaskQueued,
                                                       TaskQueueKey(workspace_id, queue),
                                                       [woken = waiter.woken, wake = waiter.wake] {
                                                         if (!woken->exchange(true)) {
                                                           wake();
                                                         }
                                                       }));
  }
  std::lock_guard lock(mu_);
  const uint64_t handle = next_handle_++;
  waiters_.emplace(handle, std::move(waiter));
  return handle;
}

void AgentQueue::CancelWait(uint64_t handle) {
  std::vector<uint64_t> subscriptions;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(handle);
    if (it == waiters_.end()) {
      return;
    }
    subscriptions = std::move(it->second.subscriptions);
    waiters_.erase(it);
  }
  for (uint64_t subscription : subscriptions) {
    notifier_.Unsubscribe(subscription);
  }
}

void AgentQueue::Notify(const std::string& workspace_id, const std::string& queue) {
  notifier_.Publish(Notifier::Topic::kTaskQueued, TaskQueueKey(workspace_id, queue));
}

}  // namespace sw
