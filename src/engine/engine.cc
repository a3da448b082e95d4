// The engine's driver: which runs are driven, replaying a run's stored steps into its
// cursor and planning the next step. Its commits (and what a lost compare-and-set does
// next) are in engine_commit.cc; what a step does is its executor's (engine/steps/);
// the outcomes of a step are in run_step_context.cc; a run's start in engine_start.cc;
// timers and the ends of runs in engine_timers.cc.
#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "core/expression.h"
#include "core/time_format.h"
#include "engine/active_run.h"

namespace sw {

using nlohmann::json;

namespace {

json RunScope(const RunRecord& run) {
  return {{"id", run.id},
          {"workflow_id", run.workflow_id},
          {"workflow_version", run.workflow_version},
          {"created_at", FormatTime(run.created_at)}};
}

// The traits of a stored step row's kind; none for a type this build does not know.
StepTraits TraitsOf(const StepRecord& row) {
  const StepKind* kind = FindStepKind(row.type);
  return kind != nullptr ? kind->traits() : StepTraits{};
}

}  // namespace

Engine::Engine(Store& store, const Clock& clock, HttpClient& http, ProcessRunner& processes,
               IdSource& ids, EngineOptions options)
    : store_(store),
      clock_(clock),
      http_(http),
      processes_(processes),
      ids_(ids),
      options_(options),
      pool_(options.workers, "sw-worker"),
      timers_(store, clock,
              [this](const TimerRecord& t) { pool_.Post([this, t] { FireTimer(t); }); }),
      connections_(store, clock, http, ids),
      breakers_(store),
      prices_(store, clock) {}

Engine::~Engine() { Stop(); }

void Engine::AddPendingCallback() {
  std::lock_guard lock(callbacks_mu_);
  ++pending_callbacks_;
}

void Engine::PendingCallbackFinished() {
  std::lock_guard lock(callbacks_mu_);
  if (--pending_callbacks_ == 0) {
    callbacks_done_.notify_all();
  }
}

Status Engine::Start() {
  for (RunStatus status : {RunStatus::kRunning, RunStatus::kPending}) {
    if (!options_.drive_all_on_start) {
      break;
    }
    Result<std::vector<std::string>> ids = store_.ListRunIdsByStatus(status);
    if (!ids.ok()) {
      return ids.status();
    }
    for (const std::string& id : *ids) {
      Drive(id);
    }
    if (!ids->empty()) {
      spdlog::info("recovery: driving {} {} runs", ids->size(), ToString(status));
    }
  }
  timers_.Start();
  // Spend holds a new period (or a cap raised before a stop) ended.
  SettleSpendHolds();
  period_watch_ = std::make_unique<PeriodWatch>(clock_, [this] { SettleSpendHolds(); });
  // A reconnect commits before it releases its waits: what a stop in between left
  // waiting goes on now ("" : every run whose connection is active or gone).
  ReleaseReauthWaits("");
  return Status::Ok();
}

void Engine::Stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  timers_.Stop();
  connections_.Stop();
  if (period_watch_) {
    period_watch_->Stop();
  }
  {
    std::lock_guard lock(mu_);
    for (auto& [id, ar] : active_) {
      if (ar->token) {
        ar->token->Fire(CancelReason::kShutdown);
      }
    }
  }
  pool_.Stop();
  // Commits still queued in the store call back into this engine; wait (bounded) for
  // them. The store's writer keeps running until the store is closed.
  std::unique_lock lock(callbacks_mu_);
  callbacks_done_.wait_for(lock, std::chrono::seconds(10), [&] { return pending_callbacks_ == 0; });
}

std::shared_ptr<Engine::ActiveRun> Engine::Activate(const std::string& run_id) {
  if (stopping_) {
    return nullptr;
  }
  auto ar = std::make_shared<ActiveRun>(run_id);
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = active_.try_emplace(run_id, ar);
    if (!inserted) {
      // Its driver looks again when it lets go of the run (or re-reads it when a commit
      // loses a race).
      it->second->drive_again = true;
      return nullptr;
    }
  }
  // With several instances, another may drive the run: this one's first commit finds
  // out (kLeaseLost) before any work starts.
  return ar;
}

void Engine::Drive(const std::string& run_id) {
  if (std::shared_ptr<ActiveRun> ar = Activate(run_id)) {
    pool_.Post([this, ar] { Load(ar); });
  }
}

void Engine::DriveNew(const RunRecord& run) {
  // Nothing to read: a new run has no steps but those it was created with (a rerun's
  // copied steps, in `run.steps`, replayed as after a restart). Its next step is planned
  // here and its commit queued, so the run starts without a hand-off to a worker.
  if (std::shared_ptr<ActiveRun> ar = Activate(run.id)) {
    Begin(ar, run);
  }
}

void Engine::OnRunEnded(const RunRecord& run, RunStatus status, int64_t ended_at) {
  counters_.RunEnded(run.workflow_id, status);
  if (!run.parent_run_id.empty()) {
    // The store queued the parent's wake-up in the commit that ended the run.
    timers_.Add(TimerRecord{run.parent_run_id, TimerKind::kChild, run.parent_path, ended_at});
  }
}

size_t Engine::ActiveRuns() const {
  std::lock_guard lock(mu_);
  return active_.size();
}

TimerLagStats Engine::GetTimerLag() const {
  std::lock_guard lock(mu_);
  return timer_lag_;
}

Result<std::shared_ptr<const Definition>> Engine::LoadDefinition(const std::string& workspace_id,
                                                                 const std::string& workflow_id,
                                                                 int version) {
  const std::string key = workspace_id + "/" + workflow_id + "/" + std::to_string(version);
  {
    std::lock_guard lock(mu_);
    if (auto it = definitions_.find(key); it != definitions_.end()) {
      return it->second;
    }
  }
  Result<json> doc = store_.GetDefinition(workspace_id, workflow_id, version);
  if (!doc.ok()) {
    return doc.status();
  }
  Result<std::shared_ptr<const Definition>> def = ParseDefinition(*doc, workflow_id);
  if (!def.ok()) {
    return def.status();
  }
  std::lock_guard lock(mu_);
  definitions_.emplace(key, *def);
  return *def;
}

void Engine::Load(const std::shared_ptr<ActiveRun>& ar) {
  Result<RunRecord> run = store_.GetRun(ar->id, /*with_steps=*/true);
  if (!run.ok() || (run->status != RunStatus::kPending && run->status != RunStatus::kRunning)) {
    // Not runnable as read (a Drive meanwhile is looked at when we let go).
    Drop(ar);
    return;
  }
  Begin(ar, std::move(run).value());
}

void Engine::Begin(const std::shared_ptr<ActiveRun>& ar, RunRecord run) {
  Result<std::shared_ptr<const Definition>> def =
      LoadDefinition(run.workspace_id, run.workflow_id, run.workflow_version);
  if (!def.ok()) {
    spdlog::error("run {}: cannot load its definition: {}", ar->id, def.status().message());
    Drop(ar);
    return;
  }
  Result<std::shared_ptr<WorkflowBreaker>> breaker =
      breakers_.For(run.workspace_id, run.workflow_id);
  if (!breaker.ok()) {
    spdlog::error("run {}: cannot read its workflow: {}", ar->id, breaker.status().message());
    Drop(ar);
    return;
  }
  ar->breaker = *breaker;
  ar->definition = *def;
  ar->cursor = std::make_unique<Cursor>(*def, run.input, RunScope(run));
  Status replayed = Replay(*ar, run);
  ar->run = std::move(run);
  ar->run.steps.clear();
  if (!replayed.ok()) {
    json error = {{"message", replayed.message()}, {"code", replayed.reason()}};
    if (!replayed.detail().step_id.empty()) {
      error["step_id"] = replayed.detail().step_id;
    }
    FailRun(ar, nullptr, "", std::move(error), nullptr, CommitPhase::kBeforeWork);
    return;
  }
  // A pending run is started by its first commit (one fsync fewer per run).
  ar->dispatching = ar->run.status == RunStatus::kPending;
  Step(ar);
}

// Feeds the stored outputs of completed leaves back into the cursor. Stops at the
// first leaf that is not completed: that is where the run goes on.
Status Engine::Replay(ActiveRun& ar, const RunRecord& run) {
  for (const StepRecord& row : run.steps) {
    // A pending row's attempt is the next one, not made yet.
    ar.attempts[row.path] = row.status == StepStatus::kPending ? row.attempt - 1 : row.attempt;
    ar.started[row.path] = row.started_at;
    if (row.detail.is_object()) {
      ar.details[row.path] = row.detail;
    }
    if (row.status == StepStatus::kRunning && TraitsOf(row).interrupted_by_restart) {
      ar.interrupted.insert(row.path);
    }
    if (row.status == StepStatus::kWaiting && row.detail.is_object() && row.attempt > 0 &&
        row.detail.value("timed_out_attempt", 0) == row.attempt) {
      ar.timed_out.insert(row.path);
    } else if (row.status == StepStatus::kWaiting && row.detail.is_object()) {
      ar.resumable.insert(row.path);
    }
  }
  for (const StepRecord& row : run.steps) {
    if (TraitsOf(row).control != ControlFlow::kNone) {
      continue;
    }
    if (row.status == StepStatus::kFailed) {
      // It failed while the run was paused; the failure takes effect on resume.
      return Status(
          StatusCode::kFailedPrecondition,
          row.error.value("message", "step '" + row.step_id + "' failed"),
          ErrorDetail{.reason = row.error.value("code", "step_failed"), .step_id = row.step_id});
    }
    if (row.status != StepStatus::kCompleted) {
      break;
    }
    CursorAction action = ar.cursor->Next();
    if (action.kind != CursorAction::Kind::kExecute || action.path != row.path) {
      return Internal("stored step " + row.path + " does not match the definition");
    }
    ar.cursor->Complete(row.output);
  }
  return Status::Ok();
}

void Engine::Step(const std::shared_ptr<ActiveRun>& ar) {
  if (stopping_) {
    return;
  }
  CursorAction action = ar->cursor->Next();
  for (ControlEffect& e : action.effects) {
    ar->pending_effects.push_back(std::move(e));
  }
  switch (action.kind) {
    case CursorAction::Kind::kComplete: {
      RunTransition t;
      t.next_status = RunStatus::kCompleted;
      t.output = action.output;
      t.finished_at = clock_.NowMs();
      Commit(ar, std::move(t), CommitPhase::kBeforeWork, [this, ar] { Drop(ar); });
      return;
    }
    case CursorAction::Kind::kFail:
      FailRun(ar, nullptr, "",
              json{{"message", action.error.message()}, {"code", action.error.reason()}}, nullptr,
              CommitPhase::kBeforeWork);
      return;
    case CursorAction::Kind::kExecute:
      ExecuteLeaf(ar, action);
      return;
  }
}

void Engine::ExecuteLeaf(const std::shared_ptr<ActiveRun>& ar, const CursorAction& action) {
  const StepDef& step = *action.step;
  if (ar->create && !step.traits().pure) {
    // A new run reached a step with effects outside the store: the run is created first
    // (what it carries goes with the step's first commit, as for any run).
    CommitCreate(ar, nullptr, [this, ar, action] { ExecuteLeaf(ar, action); });
    return;
  }
  const std::string& path = action.path;
  const StepExecutor* executor = FindStepExecutor(step.type());
  SW_CHECK(executor != nullptr);  // every leaf kind registers an executor
  if (ar->timed_out.contains(path)) {
    if (Admit(ar, /*fresh=*/false)) {
      TimeOutWork(ar, step, path);
    }
    return;
  }
  auto ctx = std::make_shared<RunStepContext>(*this, ar, step, path);
  if (ar->resumable.contains(path)) {
    if (!Admit(ar, /*fresh=*/false)) {
      return;
    }
    if (executor->Resume(ctx)) {
      return;
    }
  }
  if (!Admit(ar, /*fresh=*/true)) {
    return;
  }
  // A fresh attempt: one more than what the store saw (an attempt in flight when the
  // server stopped counts as made).
  ar->attempts[path] = ar->attempts.contains(path) ? ar->attempts[path] + 1 : 1;
  if (ar->interrupted.erase(path) > 0) {
    // Recorded as a failed attempt. A step with a retry policy may not exceed it; one
    // without runs again once (at least once, as before the stop).
    const int made = ar->attempts[path] - 1;
    ar->attempts[path] = made;
    if (step.retry.max_attempts > 1 && made >= step.retry.max_attempts) {
      FailRun(ar, &step, path, StepError(kInterruptedMessage, "interrupted", step.id), nullptr,
              CommitPhase::kBeforeWork);
      return;
    }
    AppendAttempt(*ar, path, StepError(kInterruptedMessage, "interrupted", ""), clock_.NowMs());
    ar->attempts[path] = made + 1;
  }
  ar->started[path] = clock_.NowMs();
  Result<json> with = RenderTemplate(step.with, ar->cursor->scope());
  if (!with.ok()) {
    FailRun(ar, &step, path, StepError(with.status().message(), "expression_error", step.id),
            nullptr, CommitPhase::kBeforeWork);
    return;
  }
  // Charged with the commit that records the attempt (the run's next).
  if (const int64_t price = prices_.PriceOf(ar->run.workspace_id, step.type()); price > 0) {
    ar->charge += price;
    ++ar->charged_attempts;
  }
  executor->Start(ctx, *with);
}

void Engine::Drop(const std::shared_ptr<ActiveRun>& ar, bool reread) {
  if (ar->create) {
    // A new run let go before its first commit (held, stopping, an unreadable
    // definition) is created first, still active: a Drive that comes meanwhile (a
    // release of its workflow) finds it active and is answered by the Drop after.
    CommitCreate(ar, nullptr, [this, ar] { Drop(ar); });
    return;
  }
  bool drive_again = false;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(ar->id);
    if (it != active_.end() && it->second == ar) {
      active_.erase(it);
    }
    drive_again = ar->drive_again;
  }
  if (stopping_) {
    return;
  }
  // A resume or wake-up that came while we held the run found it active and left it
  // to us: every commit that makes a run runnable is followed by a Drive.
  if (drive_again) {
    Drive(ar->id);
    return;
  }
  if (reread) {
    Result<RunRecord> now = store_.GetRun(ar->id, /*with_steps=*/false);
    if (now.ok() && (now->status == RunStatus::kPending || now->status == RunStatus::kRunning)) {
      Drive(ar->id);
    }
  }
}

void Engine::TaskQueued(const std::string& workspace_id, const std::string& queue) {
  if (task_listener_) {
    task_listener_(workspace_id, queue);
  }
}

}  // namespace sw
