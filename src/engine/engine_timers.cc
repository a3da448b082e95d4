// Timers and the ends of runs: a fired timer decided and applied inside one write
// (core/lifecycle.h says what it does), a run's own timeout, and cancels walking down
// a run's tree of child runs.
#include <spdlog/spdlog.h>

#include "core/duration.h"
#include "core/time_format.h"
#include "engine/active_run.h"

namespace sw {

using nlohmann::json;

namespace {

// Bound on compare-and-set retries of a cancel walking down the tree.
constexpr int kMaxCancelRetries = 16;

// The change a fired timer makes to `run`, or none (the run no longer waits for it).
std::optional<RunTransition> TimerTransition(TimerKind kind, const TimerRecord& timer,
                                             const RunRecord& run, int64_t now) {
  const bool same_step = run.wait.is_object() && run.wait.value("path", "") == timer.path;
  const TimerEffect effect = DecideTimer(kind, run.status, WaitKindOf(run), same_step);
  if (effect == TimerEffect::kNone) {
    return std::nullopt;
  }
  RunTransition t;
  t.wait = json();
  t.clear_timers = true;
  t.now = now;
  t.next_status = RunStatus::kRunning;
  StepRecord row;
  row.path = timer.path;
  row.step_id = run.wait.value("step_id", "");
  row.finished_at = now;
  switch (effect) {
    case TimerEffect::kCompleteStep:
      row.status = StepStatus::kCompleted;
      row.output = nullptr;
      t.upsert_steps.push_back(std::move(row));
      break;
    case TimerEffect::kFailRun: {
      const std::string message =
          "timed out waiting for event '" + run.wait.value("event_type", "") + "'";
      row.type = "wait_for_event";
      row.status = StepStatus::kFailed;
      row.error = json{{"message", message}, {"code", "wait_timeout"}};
      t.upsert_steps.push_back(std::move(row));
      t.next_status = RunStatus::kFailed;
      t.finished_at = now;
      t.error = StepError(message, "wait_timeout", run.wait.value("step_id", ""));
      break;
    }
    case TimerEffect::kTimeOutWork:
      // Marked here, then stopped and counted as a failed attempt when the engine
      // drives the run again.
      for (const StepRecord& stored : run.steps) {
        if (stored.path == timer.path) {
          StepRecord marked = stored;
          marked.detail = stored.detail.is_object() ? stored.detail : json::object();
          marked.detail["timed_out_attempt"] = stored.attempt;
          t.upsert_steps.push_back(std::move(marked));
        }
      }
      break;
    case TimerEffect::kWake:    // the engine runs the step again or reads the child's end
    case TimerEffect::kExpire:  // not decided here (FireTimer hands it to ExpireHumanTask)
    case TimerEffect::kNone:
      break;
  }
  return t;
}

// When the run's own timeout comes due (its start plus the definition's `timeout`), or
// none: read before a timer's write, which must not read the store itself.
std::optional<int64_t> RunDeadline(Store& store, Engine& engine, const std::string& run_id) {
  Result<RunRecord> run = store.GetRun(run_id, /*with_steps=*/false);
  if (!run.ok() || run->started_at == 0) {
    return std::nullopt;
  }
  Result<std::shared_ptr<const Definition>> def =
      engine.LoadDefinition(run->workspace_id, run->workflow_id, run->workflow_version);
  if (!def.ok() || !(*def)->timeout) {
    return std::nullopt;
  }
  return run->started_at + (*def)->timeout->count();
}

}  // namespace

void Engine::FireTimer(const TimerRecord& timer) {
  if (stopping_) {
    return;
  }
  const TimerKind kind = timer.kind;
  if (kind == TimerKind::kRunTimeout) {
    Result<RunRecord> run = store_.GetRun(timer.run_id, /*with_steps=*/false);
    if (run.ok() && !IsTerminal(run->status)) {
      TimeOutRun(*run);
    }
    return;
  }
  if (kind == TimerKind::kExpiry) {
    // Its task's own policy decides, on the task as stored: off the timer thread.
    pool_.Post([this, timer] { ExpireHumanTask(timer); });
    return;
  }
  // Decided on the run as the store has it at the write; the woken run comes back with
  // its steps, so the engine goes on with it without reading it again.
  const int64_t now = clock_.NowMs();
  // A run timeout that came due no later than this timer ends the run first, whichever
  // of the two fires reaches a worker first (after a stop, or a jump of the clock, both
  // are due at once): this timer then leaves the run as it is.
  const std::optional<int64_t> deadline = RunDeadline(store_, *this, timer.run_id);
  auto fired = std::make_shared<std::optional<RunRecord>>();  // the run before, when it woke
  auto decide = [this, kind, timer, now, deadline,
                 fired](const RunRecord& run) -> Result<std::optional<RunTransition>> {
    if (deadline && *deadline <= timer.due_at) {
      return std::optional<RunTransition>();
    }
    if (std::shared_ptr<WorkflowBreaker> breaker =
            breakers_.Find(run.workspace_id, run.workflow_id);
        breaker != nullptr && breaker->Held()) {
      // Its workflow is held for safety: the run stays parked and the timer stays stored,
      // to fire once the workflow is released.
      return std::optional<RunTransition>();
    }
    std::optional<RunTransition> t = TimerTransition(kind, timer, run, now);
    if (t) {
      *fired = run;
      (*fired)->steps.clear();
    }
    return t;
  };
  AddPendingCallback();
  // Steps: a step timeout marks the stored step; the woken run is replayed from them.
  store_.UpdateRunAsync(
      timer.run_id, std::move(decide),
      {.steps_to_decide = kind == TimerKind::kStepTimeout, .steps_in_answer = true},
      Store::Waiter::kEngine, [this, timer, now, fired](Result<RunRecord> after) {
        PendingCallbackDone done_guard(*this);
        if (!after.ok() || !fired->has_value() || stopping_) {
          return;
        }
        {
          std::lock_guard lock(mu_);
          const int64_t lag = std::max<int64_t>(0, now - timer.due_at);
          timer_lag_.count++;
          timer_lag_.sum_ms += lag;
          timer_lag_.max_ms = std::max(timer_lag_.max_ms, lag);
        }
        if (IsTerminal(after->status)) {
          OnRunEnded(**fired, after->status, now);
          return;
        }
        if (std::shared_ptr<ActiveRun> ar = Activate(after->id)) {
          Begin(ar, std::move(after).value());
        }
      });
}

void Engine::TimeOutRun(const RunRecord& run) {
  Result<std::shared_ptr<const Definition>> def =
      LoadDefinition(run.workspace_id, run.workflow_id, run.workflow_version);
  const std::string limit =
      def.ok() && (*def)->timeout ? FormatDuration((*def)->timeout.value()) : "its timeout";
  const std::string message = "the run did not finish within " + limit;
  RunTransition t;
  t.run_id = run.id;
  t.expected_version = run.version;
  t.expected_status = run.status;
  t.next_status = RunStatus::kFailed;
  t.now = clock_.NowMs();
  t.finished_at = t.now;
  t.wait = json();
  t.pause = json();
  t.error = StepError(message, "run_timeout", "");
  t.cancel_steps_in_flight = message;
  const std::string run_id = run.id;
  const int64_t ended_at = t.now;
  AddPendingCallback();
  store_.TransitionRunAsync(std::move(t), [this, run, run_id, ended_at](Result<int64_t> r) {
    PendingCallbackDone done_guard(*this);
    if (r.ok()) {
      OnRunEnded(run, RunStatus::kFailed, ended_at);
      OnCancelled(run_id);  // stops the work in flight; its late result is discarded
      pool_.Post([this, run_id] { CancelDescendants(run_id, "parent run timed out"); });
    } else if (r.status().code() == StatusCode::kAborted) {
      // The run moved meanwhile: look again (the timer is still due).
      pool_.Post([this, run_id] {
        Result<RunRecord> now = store_.GetRun(run_id, false);
        if (now.ok() && !IsTerminal(now->status)) {
          TimeOutRun(*now);
        }
      });
    }
  });
}

void Engine::CancelDescendants(const std::string& run_id, const std::string& reason) {
  Result<std::vector<std::string>> children = store_.ActiveChildRuns(run_id);
  if (!children.ok()) {
    return;
  }
  for (const std::string& child : *children) {
    CancelDescendants(child, reason);  // leaves first
    CancelChildRun(child, run_id, reason);
  }
}

void Engine::CancelChildRun(const std::string& child_id, const std::string& parent_id,
                            const std::string& reason) {
  for (int race = 0; race < kMaxCancelRetries; ++race) {
    Result<RunRecord> child = store_.GetRun(child_id, false);
    if (!child.ok() || IsTerminal(child->status)) {
      return;
    }
    const int64_t now = clock_.NowMs();
    RunTransition t = CancelTransition(
        *child, json{{"reason", reason}, {"by", "run:" + parent_id}, {"at", FormatTime(now)}}, now);
    if (store_.TransitionRun(std::move(t)).ok()) {
      OnCancelled(child_id);
      return;
    }
  }
}

void Engine::CancelRunTree(const std::string& run_id, const std::string& by_run,
                           const std::string& reason) {
  CancelDescendants(run_id, reason);
  CancelChildRun(run_id, by_run, reason);
}

}  // namespace sw
