#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "core/cursor.h"
#include "core/duration.h"
#include "core/expression.h"
#include "core/time_format.h"
#include "engine/attempts.h"
#include "engine/http_step.h"

namespace sw {

using nlohmann::json;

namespace {

// Bound on compare-and-set retries when the run changed under a commit.
constexpr int kMaxCommitRetries = 16;
// Most rows (pure steps' results and control rows) carried to a run's next commit.
constexpr size_t kMaxCarriedRows = 64;

constexpr char kInterrupted[] = "the server stopped during this attempt";

json ErrorOf(const std::string& message, const std::string& code, const std::string& step_id) {
  json error = {{"message", message}, {"code", code}};
  if (!step_id.empty()) {
    error["step_id"] = step_id;
  }
  return error;
}

json RunScope(const RunRecord& run) {
  return {{"id", run.id},
          {"workflow_id", run.workflow_id},
          {"workflow_version", run.workflow_version},
          {"created_at", FormatTime(run.created_at)}};
}

}  // namespace

// The in-memory state of a run being driven. Only the chain of tasks driving it
// touches these fields (one at a time), except `token` and `cancelled`, which
// OnCancelled reads under Engine::mu_.
struct Engine::ActiveRun {
  explicit ActiveRun(std::string run_id) : id(std::move(run_id)) {}
  std::string id;
  RunRecord run;  // without steps; `version` is the last committed version
  std::shared_ptr<const Definition> definition;
  std::unique_ptr<Cursor> cursor;
  std::vector<ControlEffect> pending_effects;   // control rows not committed yet
  std::map<std::string, int> attempts;          // path -> last attempt in the store
  std::map<std::string, int64_t> started;       // path -> started_at in the store
  std::map<std::string, json> details;          // path -> the step row's detail
  std::set<std::string> interrupted;            // paths in flight when the server stopped
  std::map<std::string, std::string> child_of;  // path -> the child run a step waits for
  std::set<std::string> timed_out;              // paths whose child/agent attempt timed out
  bool dispatching = false;  // still pending: the first commit also starts the run
  int retries = 0;
  std::shared_ptr<CancellationToken> token;  // guarded by Engine::mu_
  bool cancelled = false;                    // guarded by Engine::mu_
  bool drive_again = false;  // guarded by Engine::mu_: a Drive came while this one held it
};

Engine::Engine(Store& store, const Clock& clock, HttpClient& http, ProcessRunner& processes,
               IdSource& ids, EngineOptions options)
    : store_(store),
      clock_(clock),
      http_(http),
      processes_(processes),
      ids_(ids),
      options_(options),
      pool_(options.workers),
      timers_(store, clock,
              [this](const TimerRecord& t) { pool_.Post([this, t] { FireTimer(t); }); }) {}

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
  return Status::Ok();
}

void Engine::Stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  timers_.Stop();
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
  std::lock_guard lock(mu_);
  auto [it, inserted] = active_.try_emplace(run_id);
  if (!inserted) {
    // Its driver looks again when it lets go of the run (or re-reads it when a commit
    // loses a race).
    it->second->drive_again = true;
    return nullptr;
  }
  it->second = std::make_shared<ActiveRun>(run_id);
  return it->second;
}

void Engine::Drive(const std::string& run_id) {
  if (std::shared_ptr<ActiveRun> ar = Activate(run_id)) {
    pool_.Post([this, ar] { Load(ar); });
  }
}

void Engine::DriveNew(const RunRecord& run) {
  // Nothing to read: a new run has no steps. Its first step is planned here and its
  // commit queued, so the run starts without a hand-off to a worker.
  if (std::shared_ptr<ActiveRun> ar = Activate(run.id)) {
    Begin(ar, run);
  }
}

void Engine::OnCancelled(const std::string& run_id) {
  std::shared_ptr<CancellationToken> token;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(run_id);
    if (it == active_.end()) {
      return;
    }
    it->second->cancelled = true;
    token = it->second->token;
  }
  if (token) {
    token->Fire(CancelReason::kUser);
  }
}

void Engine::OnRunEnded(const RunRecord& run, int64_t ended_at) {
  if (!run.parent_run_id.empty()) {
    // The store queued the parent's wake-up in the commit that ended the run.
    timers_.Add(TimerRecord{run.parent_run_id, "child", run.parent_path, ended_at});
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
  ar->definition = *def;
  ar->cursor = std::make_unique<Cursor>(*def, run.input, RunScope(run));
  Status replayed = Replay(*ar, run);
  ar->run = std::move(run);
  ar->run.steps.clear();
  if (!replayed.ok()) {
    json error = {{"message", replayed.message()}, {"code", replayed.api_code()}};
    if (replayed.extra().is_object() && replayed.extra().contains("step_id")) {
      error["step_id"] = replayed.extra()["step_id"];
    }
    FailRun(ar, nullptr, "", std::move(error), nullptr, CommitKind::kBeforeWork);
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
    ar.attempts[row.path] = row.attempt;
    ar.started[row.path] = row.started_at;
    if (row.detail.is_object()) {
      ar.details[row.path] = row.detail;
    }
    if (row.status == StepStatus::kRunning &&
        (row.type == ToString(StepType::kHttp) || row.type == ToString(StepType::kShell))) {
      ar.interrupted.insert(row.path);
    }
    if (row.status == StepStatus::kWaiting && row.detail.is_object() && row.attempt > 0 &&
        row.detail.value("timed_out_attempt", 0) == row.attempt) {
      ar.timed_out.insert(row.path);
    } else if (row.status == StepStatus::kWaiting && row.detail.is_object() &&
               row.detail.contains("child_run_id")) {
      ar.child_of[row.path] = row.detail["child_run_id"].get<std::string>();
    }
  }
  for (const StepRecord& row : run.steps) {
    if (row.type == ToString(StepType::kLoop) || row.type == ToString(StepType::kSwitch)) {
      continue;
    }
    if (row.status == StepStatus::kFailed) {
      // It failed while the run was paused; the failure takes effect on resume.
      return Status(StatusCode::kFailedPrecondition,
                    row.error.value("message", "step '" + row.step_id + "' failed"),
                    row.error.value("code", "step_failed"), json{{"step_id", row.step_id}});
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

StepRecord Engine::StepRow(const ActiveRun& ar, const StepDef& step, const std::string& path,
                           StepStatus status) const {
  StepRecord row;
  row.path = path;
  row.step_id = step.id;
  row.type = std::string(ToString(step.type));
  row.status = status;
  auto it = ar.attempts.find(path);
  row.attempt = it == ar.attempts.end() ? 1 : it->second;
  auto started = ar.started.find(path);
  row.started_at = started == ar.started.end() ? 0 : started->second;
  if (auto detail = ar.details.find(path); detail != ar.details.end()) {
    row.detail = detail->second;
  }
  return row;
}

void Engine::AppendAttempt(ActiveRun& ar, const std::string& path, const json& error,
                           int64_t finished_at) {
  json& detail = ar.details[path];
  if (!detail.is_object()) {
    detail = json::object();
  }
  const int64_t started_at = ar.started.contains(path) ? ar.started[path] : finished_at;
  json record = AttemptRecord(ar.attempts[path], started_at, finished_at, error);
  // The attempt's child run or agent task moves into its record: the next attempt
  // has its own.
  for (const char* key : {"child_run_id", "task_id"}) {
    if (detail.contains(key)) {
      record[key] = detail[key];
      detail.erase(key);
    }
  }
  detail["attempts"].push_back(std::move(record));
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
      Commit(ar, std::move(t), CommitKind::kBeforeWork, [this, ar] { Drop(ar); });
      return;
    }
    case CursorAction::Kind::kFail:
      FailRun(ar, nullptr, "",
              json{{"message", action.error.message()}, {"code", action.error.api_code()}}, nullptr,
              CommitKind::kBeforeWork);
      return;
    case CursorAction::Kind::kExecute:
      ExecuteLeaf(ar, action);
      return;
  }
}

void Engine::ExecuteLeaf(const std::shared_ptr<ActiveRun>& ar, const CursorAction& action) {
  const StepDef& step = *action.step;
  const std::string& path = action.path;
  // Both stay noted until the run leaves memory: if the commit that follows loses a
  // race and the step is planned again, it must not start a second child.
  if (ar->timed_out.contains(path)) {
    TimeOutWork(ar, step, path);
    return;
  }
  if (auto child = ar->child_of.find(path); child != ar->child_of.end()) {
    // The step's child run was started before: wait for it or take its result.
    const std::string child_id = child->second;
    AwaitChild(ar, step, path, child_id);
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
      FailRun(ar, &step, path, ErrorOf(kInterrupted, "interrupted", step.id), nullptr,
              CommitKind::kBeforeWork);
      return;
    }
    AppendAttempt(*ar, path, ErrorOf(kInterrupted, "interrupted", ""), clock_.NowMs());
    ar->attempts[path] = made + 1;
  }
  ar->started[path] = clock_.NowMs();
  Result<json> with = RenderTemplate(step.with, ar->cursor->scope());
  if (!with.ok()) {
    FailRun(ar, &step, path,
            json{{"message", with.status().message()},
                 {"code", "expression_error"},
                 {"step_id", step.id}},
            nullptr, CommitKind::kBeforeWork);
    return;
  }
  switch (step.type) {
    case StepType::kNoop:
      CompleteLeaf(ar, step, path, with->value("value", json()), CommitKind::kBeforeWork,
                   std::nullopt);
      return;
    case StepType::kFail: {
      json error = {{"message", with->value("message", "step '" + step.id + "' failed")},
                    {"step_id", step.id}};
      if (with->contains("code")) {
        error["code"] = (*with)["code"];
      }
      FailRun(ar, &step, path, std::move(error), nullptr, CommitKind::kBeforeWork);
      return;
    }
    case StepType::kHttp:
      ExecuteHttp(ar, step, path, *with);
      return;
    case StepType::kShell:
      ExecuteShell(ar, step, path, *with);
      return;
    case StepType::kWorkflow:
      StartChild(ar, step, path, *with);
      return;
    case StepType::kAgentTask:
      EnqueueAgentTask(ar, step, path, *with);
      return;
    case StepType::kSleep:
    case StepType::kSleepUntil:
    case StepType::kWaitForEvent:
      ExecuteWait(ar, step, path, *with);
      return;
    case StepType::kLoop:
    case StepType::kSwitch:
      break;  // the cursor walks into control steps; they never come here
  }
  SW_CHECK(false);
}

void Engine::CompleteLeaf(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                          const std::string& path, json output, CommitKind kind,
                          std::optional<int64_t> consume_event) {
  RunTransition t;
  StepRecord row = StepRow(*ar, step, path, StepStatus::kCompleted);
  row.finished_at = clock_.NowMs();
  row.output = output;
  t.consume_event_id = consume_event;
  if (kind == CommitKind::kBeforeWork && step.type == StepType::kNoop && !consume_event &&
      !ar->cursor->AtLastTopLevelLeaf() && ar->pending_effects.size() < kMaxCarriedRows) {
    // A noop's result is a function of what is stored: it needs no commit of its own and
    // goes with the run's next change. If that change is lost, so is this result, and
    // the step runs again; nothing outside the store saw it.
    ar->pending_effects.push_back(
        ControlEffect{&step, path, StepStatus::kCompleted, output, row.finished_at});
    ar->cursor->Complete(std::move(output));
    Step(ar);
    return;
  }
  t.upsert_steps.push_back(std::move(row));
  if (ar->cursor->AtLastTopLevelLeaf()) {
    // The last step: its result and the run's completion go in one commit.
    t.next_status = RunStatus::kCompleted;
    t.output = output;
    t.finished_at = clock_.NowMs();
    Commit(ar, std::move(t), kind, [this, ar] { Drop(ar); });
    return;
  }
  auto shared_output = std::make_shared<json>(std::move(output));
  Commit(ar, std::move(t), kind, [this, ar, shared_output] {
    ar->cursor->Complete(std::move(*shared_output));
    Step(ar);
  });
}

void Engine::FailRun(const std::shared_ptr<ActiveRun>& ar, const StepDef* step,
                     const std::string& path, json error, json step_output, CommitKind kind) {
  RunTransition t;
  t.next_status = RunStatus::kFailed;
  t.finished_at = clock_.NowMs();
  if (step != nullptr) {
    json step_error = {{"message", error["message"]}};
    if (error.contains("code")) {
      step_error["code"] = error["code"];
    }
    StepRecord row = StepRow(*ar, *step, path, StepStatus::kFailed);
    row.finished_at = *t.finished_at;
    row.output = std::move(step_output);
    row.error = std::move(step_error);
    t.upsert_steps.push_back(std::move(row));
  }
  t.error = std::move(error);
  Commit(ar, std::move(t), kind, [this, ar] { Drop(ar); });
}

void Engine::Commit(const std::shared_ptr<ActiveRun>& ar, RunTransition t, CommitKind kind,
                    std::function<void()> on_ok) {
  t.run_id = ar->id;
  t.expected_version = ar->run.version;
  t.now = clock_.NowMs();
  if (!t.expected_status) {
    t.expected_status = ar->dispatching ? RunStatus::kPending : RunStatus::kRunning;
    if (ar->dispatching) {
      t.started_at = t.now;
      if (!t.next_status) {
        t.next_status = RunStatus::kRunning;
      }
      if (ar->definition && ar->definition->timeout && !IsTerminal(*t.next_status)) {
        t.add_timers.push_back(
            TimerRecord{ar->id, "run_timeout", "", t.now + ar->definition->timeout->count()});
      }
    }
  }
  // Control rows reached on the way are committed with the first change after them.
  std::vector<StepRecord> effects;
  for (const ControlEffect& e : ar->pending_effects) {
    StepRecord row = StepRow(*ar, *e.step, e.path, e.status);
    row.attempt = 1;
    auto started = ar->started.find(e.path);
    if (started == ar->started.end()) {
      ar->started[e.path] = t.now;
    }
    row.started_at = ar->started[e.path];
    if (e.status == StepStatus::kCompleted) {
      row.finished_at = e.finished_at != 0 ? e.finished_at : t.now;
      row.output = e.output;
    }
    effects.push_back(std::move(row));
  }
  t.upsert_steps.insert(t.upsert_steps.begin(), effects.begin(), effects.end());
  const size_t effect_count = effects.size();
  auto shared = std::make_shared<RunTransition>(std::move(t));
  AddPendingCallback();
  // The run goes on in the commit's callback, on the store's writer: a chain of steps
  // costs no thread hand-off per step, and the next commit joins the writer's next batch.
  store_.TransitionRunAsync(shared, [this, ar, shared, kind, effect_count,
                                     on_ok = std::move(on_ok)](Result<int64_t> r) mutable {
    PendingCallbackDone done_guard(*this);
    if (stopping_) {
      return;  // the run goes on after a restart
    }
    if (r.ok()) {
      ar->run.version = *r;
      ar->retries = 0;
      if (shared->expected_status == RunStatus::kPending) {
        ar->dispatching = false;
        for (const TimerRecord& timer : shared->add_timers) {
          if (timer.kind == "run_timeout") {
            timers_.Add(timer);
          }
        }
      }
      if (shared->next_status) {
        ar->run.status = *shared->next_status;
        if (IsTerminal(ar->run.status)) {
          OnRunEnded(ar->run, shared->now);
        }
      }
      ar->pending_effects.erase(ar->pending_effects.begin(),
                                ar->pending_effects.begin() + effect_count);
      on_ok();
      return;
    }
    if (r.status().code() == StatusCode::kAborted) {
      // Drop the effects we prepended; they are re-added from pending_effects.
      shared->upsert_steps.erase(shared->upsert_steps.begin(),
                                 shared->upsert_steps.begin() + effect_count);
      OnLostRace(ar, std::move(*shared), kind, std::move(on_ok));
      return;
    }
    spdlog::error("run {}: commit failed: {}", ar->id, r.status().message());
    Drop(ar);
  });
}

void Engine::OnLostRace(const std::shared_ptr<ActiveRun>& ar, RunTransition t, CommitKind kind,
                        std::function<void()> on_ok) {
  Result<RunRecord> now = store_.GetRun(ar->id, /*with_steps=*/false);
  if (!now.ok() || ++ar->retries > kMaxCommitRetries) {
    Drop(ar, /*reread=*/true);
    return;
  }
  ar->run.version = now->version;
  const RunStatus status = now->status;
  const RunStatus expected = t.expected_status.value_or(RunStatus::kRunning);
  if (status == expected) {
    // Something else changed the run (an event was buffered, it was paused and
    // resumed): plan again, or commit the result again.
    if (kind == CommitKind::kBeforeWork && expected != RunStatus::kPaused &&
        expected != RunStatus::kCancelled) {
      if (expected == RunStatus::kPending) {
        // The first commit carried the dispatch; plan it again from scratch.
        ar->dispatching = true;
      }
      Step(ar);
    } else {
      Commit(ar, std::move(t), kind, std::move(on_ok));
    }
    return;
  }
  if (kind == CommitKind::kResult && status == RunStatus::kPaused) {
    // Paused while the step was in flight: keep its result; the run stays paused.
    RunTransition keep;
    keep.expected_status = RunStatus::kPaused;
    keep.upsert_steps = std::move(t.upsert_steps);
    ar->pending_effects.clear();
    Commit(ar, std::move(keep), CommitKind::kBeforeWork, [this, ar] { Drop(ar); });
    return;
  }
  if (kind == CommitKind::kResult &&
      (status == RunStatus::kCancelled || status == RunStatus::kFailed) &&
      !t.upsert_steps.empty()) {
    // Cancelled while the step was in flight: the late result is not applied.
    RunTransition discard;
    discard.expected_status = status;
    discard.discard_step_result = t.upsert_steps.back().path;
    ar->pending_effects.clear();
    Commit(ar, std::move(discard), CommitKind::kBeforeWork, [this, ar] { Drop(ar); });
    return;
  }
  Drop(ar);
}

void Engine::Drop(const std::shared_ptr<ActiveRun>& ar, bool reread) {
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

void Engine::StartWork(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                       const std::string& path,
                       std::function<void(std::shared_ptr<CancellationToken>)> work) {
  // The attempt starts durably before the work does, so a restart knows it was in
  // flight and a pause keeps its result.
  RunTransition start;
  start.upsert_steps.push_back(StepRow(*ar, step, path, StepStatus::kRunning));
  Commit(ar, std::move(start), CommitKind::kBeforeWork, [this, ar, work = std::move(work)] {
    auto token = std::make_shared<CancellationToken>();
    bool cancelled = false;
    {
      std::lock_guard lock(mu_);
      ar->token = token;
      cancelled = ar->cancelled;
    }
    if (cancelled) {
      token->Fire(CancelReason::kUser);
    }
    work(token);
  });
}

void Engine::ExecuteHttp(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                         const std::string& path, const json& with) {
  Result<HttpRequest> built = BuildHttpRequest(
      with, step.timeout ? step.timeout->count() : options_.default_http_timeout_ms);
  if (!built.ok()) {
    FailRun(ar, &step, path, ErrorOf(built.status().message(), "invalid_request", step.id), nullptr,
            CommitKind::kBeforeWork);
    return;
  }
  auto request = std::make_shared<HttpRequest>(std::move(built).value());
  const StepDef* step_ptr = &step;
  StartWork(ar, step, path, [this, ar, step_ptr, path, request](auto token) {
    http_.Send(std::move(*request), token, [this, ar, step_ptr, path](Result<HttpResponse> r) {
      pool_.Post([this, ar, step_ptr, path, r = std::move(r)] {
        {
          std::lock_guard lock(mu_);
          ar->token.reset();
        }
        if (!r.ok()) {
          if (r.status().api_code() == "cancelled") {
            // Cancelled (or shutting down): the cancel already marked the step; a
            // restart runs it again.
            Drop(ar);
            return;
          }
          FailStep(ar, *step_ptr, path,
                   ErrorOf(r.status().message(), r.status().api_code(), step_ptr->id), nullptr,
                   CommitKind::kResult, 0);
          return;
        }
        json output = HttpStepOutput(*r);
        if (r->status >= 400) {
          FailStep(ar, *step_ptr, path,
                   ErrorOf("HTTP " + std::to_string(r->status), "http_error", step_ptr->id),
                   std::move(output), CommitKind::kResult, r->status);
          return;
        }
        CompleteLeaf(ar, *step_ptr, path, std::move(output), CommitKind::kResult, std::nullopt);
      });
    });
  });
}

void Engine::ExecuteShell(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                          const std::string& path, const json& with) {
  if (!options_.allow_shell) {
    FailRun(ar, &step, path,
            ErrorOf("shell steps run only on a server started with --allow-shell",
                    "shell_not_allowed", step.id),
            nullptr, CommitKind::kBeforeWork);
    return;
  }
  auto spec = std::make_shared<ProcessSpec>();
  for (const json& arg : with["argv"]) {
    spec->argv.push_back(arg.is_string() ? arg.get<std::string>() : arg.dump());
  }
  // The environment is an allowlist: PATH, then what the step names.
  const char* path_env = std::getenv("PATH");
  spec->env["PATH"] = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  if (with.contains("env") && with["env"].is_object()) {
    for (const auto& [name, value] : with["env"].items()) {
      spec->env[name] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  spec->cwd = with.value("cwd", "");
  spec->timeout_ms = step.timeout ? step.timeout->count() : options_.default_shell_timeout_ms;
  spec->max_output_bytes = options_.shell_output_bytes;
  spec->kill_grace_ms = options_.shell_kill_grace_ms;
  const StepDef* step_ptr = &step;
  StartWork(ar, step, path, [this, ar, step_ptr, path, spec](auto token) {
    processes_.Run(std::move(*spec), token, [this, ar, step_ptr, path](Result<ProcessResult> r) {
      pool_.Post([this, ar, step_ptr, path, r = std::move(r)] {
        {
          std::lock_guard lock(mu_);
          ar->token.reset();
        }
        const std::string code = r.ok() ? "" : r.status().api_code();
        if (code == "cancelled" || code == "shutting_down") {
          Drop(ar);
          return;
        }
        if (!r.ok()) {
          FailStep(ar, *step_ptr, path, ErrorOf(r.status().message(), code, step_ptr->id), nullptr,
                   CommitKind::kResult, 0);
          return;
        }
        json output = {{"exit_code", r->exit_code},
                       {"stdout", r->stdout_text},
                       {"stderr", r->stderr_text},
                       {"stdout_truncated", r->stdout_truncated},
                       {"stderr_truncated", r->stderr_truncated}};
        if (r->exit_code != 0) {
          const std::string message = r->signal != 0
                                          ? "killed by signal " + std::to_string(r->signal)
                                          : "exited with code " + std::to_string(r->exit_code);
          FailStep(ar, *step_ptr, path, ErrorOf(message, "exit_code", step_ptr->id),
                   std::move(output), CommitKind::kResult, 0);
          return;
        }
        CompleteLeaf(ar, *step_ptr, path, std::move(output), CommitKind::kResult, std::nullopt);
      });
    });
  });
}

void Engine::FailStep(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                      const std::string& path, json error, json output, CommitKind kind,
                      int http_status) {
  const int attempt = ar->attempts[path];
  const std::string code = error.value("code", "");
  if (attempt >= step.retry.max_attempts || !IsRetryable(step.retry, code, http_status)) {
    FailRun(ar, &step, path, std::move(error), std::move(output), kind);
    return;
  }
  // Another attempt after the back-off; the run waits (durably) meanwhile.
  const int64_t now = clock_.NowMs();
  json step_error = {{"message", error["message"]}, {"code", code}};
  AppendAttempt(*ar, path, step_error, now);
  const int64_t due = now + RetryDelay(step.retry, attempt + 1, UniformRandom01()).count();
  RunTransition t;
  StepRecord row = StepRow(*ar, step, path, StepStatus::kWaiting);
  row.finished_at = now;
  row.output = std::move(output);
  row.error = step_error;
  t.upsert_steps.push_back(std::move(row));
  t.next_status = RunStatus::kWaiting;
  t.wait = json{{"kind", "retry"},
                {"step_id", step.id},
                {"path", path},
                {"attempt", attempt + 1},
                {"max_attempts", step.retry.max_attempts},
                {"next_attempt_at", FormatTime(due)},
                {"until", FormatTime(due)},
                {"last_error", step_error}};
  TimerRecord timer{ar->id, "retry", path, due};
  t.add_timers.push_back(timer);
  Commit(ar, std::move(t), kind, [this, ar, timer] {
    timers_.Add(timer);
    Drop(ar);
  });
}

void Engine::StartChild(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                        const std::string& path, const json& with) {
  const std::string workflow_id = with["workflow"].get<std::string>();
  Result<WorkflowRecord> wf = store_.GetWorkflow(ar->run.workspace_id, workflow_id);
  std::string refused;
  if (!wf.ok()) {
    refused = "workflow '" + workflow_id + "' not found";
  } else if (wf->kind != "workflow") {
    refused = "workflow '" + workflow_id + "' is a script, not a workflow";
  } else if (wf->status == "disabled") {
    refused = "workflow '" + workflow_id + "' is disabled";
  }
  if (!refused.empty()) {
    FailRun(ar, &step, path, ErrorOf(refused, "child_not_startable", step.id), nullptr,
            CommitKind::kBeforeWork);
    return;
  }
  const int64_t now = clock_.NowMs();
  RunRecord child;
  child.id = ids_.Next("run");
  child.workspace_id = ar->run.workspace_id;
  child.workflow_id = workflow_id;
  child.workflow_version = wf->version;
  child.input = with.contains("input") && !with["input"].is_null() ? with["input"] : json::object();
  child.trigger = {{"kind", "workflow"}, {"actor", "run:" + ar->id}, {"parent_run_id", ar->id}};
  child.parent_run_id = ar->id;
  child.parent_path = path;
  child.created_at = child.updated_at = now;

  json& detail = ar->details[path];
  if (!detail.is_object()) {
    detail = json::object();
  }
  detail["child_run_id"] = child.id;
  json wait = {{"kind", "child"},
               {"step_id", step.id},
               {"path", path},
               {"child_run_id", child.id},
               {"workflow_id", workflow_id}};
  RunTransition t;
  t.create_run = child;
  ParkOnWork(ar, step, path, std::move(t), std::move(wait),
             [this, child = std::move(child)] { DriveNew(child); });
}

void Engine::ParkOnWork(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                        const std::string& path, RunTransition t, json wait,
                        std::function<void()> after) {
  std::optional<TimerRecord> timer;
  wait["until"] = nullptr;
  if (step.timeout) {
    const int64_t due = ar->started[path] + step.timeout->count();
    wait["until"] = FormatTime(due);
    timer = TimerRecord{ar->id, "step_timeout", path, due};
    t.add_timers.push_back(*timer);
  }
  t.upsert_steps.push_back(StepRow(*ar, step, path, StepStatus::kWaiting));
  t.next_status = RunStatus::kWaiting;
  t.wait = std::move(wait);
  Commit(ar, std::move(t), CommitKind::kBeforeWork, [this, ar, timer, after = std::move(after)] {
    if (timer) {
      timers_.Add(*timer);
    }
    if (after) {
      after();
    }
    Drop(ar);
  });
}

void Engine::TimeOutWork(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                         const std::string& path) {
  json& detail = ar->details[path];
  detail.erase("timed_out_attempt");
  if (detail.contains("child_run_id")) {
    const std::string child_id = detail["child_run_id"].get<std::string>();
    const std::string reason = "step '" + step.id + "' of the parent run timed out";
    CancelDescendants(child_id, reason);
    CancelChildRun(child_id, ar->id, reason);
  }
  if (detail.contains("task_id")) {
    if (Status s = store_.CancelAgentTask(detail["task_id"].get<std::string>(), clock_.NowMs());
        !s.ok()) {
      spdlog::warn("run {}: closing the timed-out agent task failed: {}", ar->id, s.message());
    }
  }
  const std::string limit = step.timeout ? FormatDuration(*step.timeout) : "its timeout";
  FailStep(ar, step, path, ErrorOf("the step did not finish within " + limit, "timeout", step.id),
           nullptr, CommitKind::kBeforeWork, 0);
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
  for (int race = 0; race < kMaxCommitRetries; ++race) {
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

void Engine::AwaitChild(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                        const std::string& path, const std::string& child_id) {
  Result<RunRecord> child = store_.GetRun(child_id, false);
  if (child.ok() && !IsTerminal(child->status)) {
    ParkOnWork(ar, step, path, RunTransition{},
               json{{"kind", "child"},
                    {"step_id", step.id},
                    {"path", path},
                    {"child_run_id", child_id},
                    {"workflow_id", child->workflow_id}},
               nullptr);
    return;
  }
  if (child.ok() && child->status == RunStatus::kCompleted) {
    CompleteLeaf(ar, step, path, child->output, CommitKind::kBeforeWork, std::nullopt);
    return;
  }
  if (child.ok() && child->status == RunStatus::kCancelled && !ar->run.parent_run_id.empty()) {
    // A cancel walking down the tree cancels the deepest runs first, so a child can end
    // before this run's own cancel arrives: if our parent ended (cancelled, or timed
    // out), we are cancelled too, for the same reason as the child.
    Result<RunRecord> parent = store_.GetRun(ar->run.parent_run_id, false);
    if (parent.ok() && IsTerminal(parent->status)) {
      const int64_t now = clock_.NowMs();
      json by = parent->cancel.is_object() ? parent->cancel.value("by", json())
                                           : json("run:" + parent->id);
      RunTransition t =
          CancelTransition(ar->run,
                           json{{"reason", child->cancel.value("reason", "parent run cancelled")},
                                {"by", by},
                                {"at", FormatTime(now)}},
                           now);
      Commit(ar, std::move(t), CommitKind::kBeforeWork, [this, ar] { Drop(ar); });
      return;
    }
  }
  std::string message = "child run " + child_id + " was not found";
  std::string code = "child_failed";
  if (child.ok() && child->status == RunStatus::kCancelled) {
    code = "child_cancelled";
    message = "child run " + child_id + " was cancelled";
  } else if (child.ok()) {
    message = "child run " + child_id +
              " failed: " + child->error.value("message", std::string("no message"));
  }
  // The child's own end does not count as this attempt's duration twice: its details
  // keep the child id for the next attempt's record.
  FailStep(ar, step, path, ErrorOf(message, code, step.id), nullptr, CommitKind::kBeforeWork, 0);
}

void Engine::EnqueueAgentTask(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                              const std::string& path, const json& with) {
  const int64_t now = clock_.NowMs();
  AgentTaskRecord task;
  task.id = ids_.Next("task");
  task.workspace_id = ar->run.workspace_id;
  task.run_id = ar->id;
  task.path = path;
  task.step_id = step.id;
  task.queue = with["queue"].get<std::string>();
  task.input = with.contains("input") ? with["input"] : json();
  task.attempt = ar->attempts[path];
  task.available_at = now;
  task.created_at = task.updated_at = now;
  json& detail = ar->details[path];
  if (!detail.is_object()) {
    detail = json::object();
  }
  detail["task_id"] = task.id;
  json wait = {{"kind", "agent"},
               {"step_id", step.id},
               {"path", path},
               {"queue", task.queue},
               {"task_id", task.id}};
  const std::string workspace = task.workspace_id;
  const std::string queue = task.queue;
  RunTransition t;
  t.enqueue_task = std::move(task);
  ParkOnWork(ar, step, path, std::move(t), std::move(wait), [this, workspace, queue] {
    if (task_listener_) {
      task_listener_(workspace, queue);
    }
  });
}

void Engine::ExecuteWait(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                         const std::string& path, const json& with) {
  const int64_t now = clock_.NowMs();
  if (step.type == StepType::kSleep || step.type == StepType::kSleepUntil) {
    Result<int64_t> due = InvalidArgument("bad time");
    if (step.type == StepType::kSleep) {
      Result<std::chrono::milliseconds> d =
          with["duration"].is_string()
              ? ParseDuration(with["duration"].get<std::string>())
              : Result<std::chrono::milliseconds>(InvalidArgument("not a duration string"));
      due = d.ok() ? Result<int64_t>(now + d->count()) : Result<int64_t>(d.status());
    } else {
      due = with["at"].is_string() ? ParseTime(with["at"].get<std::string>())
                                   : Result<int64_t>(InvalidArgument("not a time string"));
    }
    if (!due.ok()) {
      FailRun(ar, &step, path,
              json{{"message", due.status().message()},
                   {"code", "invalid_request"},
                   {"step_id", step.id}},
              nullptr, CommitKind::kBeforeWork);
      return;
    }
    if (*due <= now) {
      CompleteLeaf(ar, step, path, nullptr, CommitKind::kBeforeWork, std::nullopt);
      return;
    }
    ParkOnTimer(ar, step, path, *due);
    return;
  }
  // wait_for_event: take an event that came early, else park.
  const std::string event_type =
      with["event_type"].is_string() ? with["event_type"].get<std::string>() : "";
  Result<std::optional<EventRecord>> early = store_.FindBufferedEvent(ar->id, event_type);
  if (early.ok() && early->has_value()) {
    CompleteLeaf(ar, step, path, json{{"payload", (*early)->payload}}, CommitKind::kBeforeWork,
                 (*early)->id);
    return;
  }
  std::optional<int64_t> until;
  if (with.contains("timeout") && with["timeout"].is_string()) {
    Result<std::chrono::milliseconds> d = ParseDuration(with["timeout"].get<std::string>());
    if (d.ok()) {
      until = now + d->count();
    }
  }
  RunTransition t;
  t.next_status = RunStatus::kWaiting;
  t.wait = json{{"kind", "event"},
                {"step_id", step.id},
                {"path", path},
                {"event_type", event_type},
                {"until", until ? json(FormatTime(*until)) : json()}};
  t.upsert_steps.push_back(StepRow(*ar, step, path, StepStatus::kWaiting));
  if (until) {
    t.add_timers.push_back(TimerRecord{ar->id, "timeout", path, *until});
  }
  Commit(ar, std::move(t), CommitKind::kBeforeWork, [this, ar, until, path] {
    if (until) {
      timers_.Add(TimerRecord{ar->id, "timeout", path, *until});
    }
    Drop(ar);
  });
}

void Engine::ParkOnTimer(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                         const std::string& path, int64_t due_at) {
  RunTransition t;
  t.next_status = RunStatus::kWaiting;
  t.wait =
      json{{"kind", "timer"}, {"step_id", step.id}, {"path", path}, {"until", FormatTime(due_at)}};
  t.upsert_steps.push_back(StepRow(*ar, step, path, StepStatus::kWaiting));
  TimerRecord timer{ar->id, "wake", path, due_at};
  t.add_timers.push_back(timer);
  Commit(ar, std::move(t), CommitKind::kBeforeWork, [this, ar, timer] {
    timers_.Add(timer);
    Drop(ar);
  });
}

void Engine::FireTimer(const TimerRecord& timer) {
  if (stopping_) {
    return;
  }
  if (timer.kind == "run_timeout") {
    Result<RunRecord> run = store_.GetRun(timer.run_id, /*with_steps=*/false);
    if (run.ok() && !IsTerminal(run->status)) {
      TimeOutRun(*run);
    }
    return;
  }
  // Decided on the run as the store has it at the write; the woken run comes back with
  // its steps, so the engine goes on with it without reading it again.
  const int64_t now = clock_.NowMs();
  auto fired = std::make_shared<std::optional<RunRecord>>();  // the run before, when it woke
  auto decide = [timer, now, fired](const RunRecord& run) -> Result<std::optional<RunTransition>> {
    // Each kind of timer ends one kind of wait.
    static const std::map<std::string, std::set<std::string>> kEnds = {
        {"wake", {"timer"}},
        {"timeout", {"event"}},
        {"retry", {"retry"}},
        {"child", {"child"}},
        {"step_timeout", {"child", "agent"}}};
    auto ends = kEnds.find(timer.kind);
    if (run.status != RunStatus::kWaiting || !run.wait.is_object() ||
        run.wait.value("path", "") != timer.path || ends == kEnds.end() ||
        !ends->second.contains(run.wait.value("kind", ""))) {
      return std::optional<RunTransition>();
    }
    RunTransition t;
    t.wait = json();
    t.clear_timers = true;
    t.now = now;
    t.next_status = RunStatus::kRunning;
    if (timer.kind == "timeout" || timer.kind == "wake") {
      StepRecord row;
      row.path = timer.path;
      row.step_id = run.wait.value("step_id", "");
      row.finished_at = now;
      if (timer.kind == "timeout") {
        const std::string message =
            "timed out waiting for event '" + run.wait.value("event_type", "") + "'";
        row.type = std::string(ToString(StepType::kWaitForEvent));
        row.status = StepStatus::kFailed;
        row.error = json{{"message", message}, {"code", "wait_timeout"}};
        t.next_status = RunStatus::kFailed;
        t.finished_at = now;
        t.error = ErrorOf(message, "wait_timeout", row.step_id);
      } else {
        row.status = StepStatus::kCompleted;
        row.output = nullptr;
      }
      t.upsert_steps.push_back(std::move(row));
    }
    if (timer.kind == "step_timeout") {
      // The attempt's child run or agent task took too long: marked here, then stopped
      // and counted as a failed attempt when the engine drives the run again.
      for (const StepRecord& stored : run.steps) {
        if (stored.path == timer.path) {
          StepRecord row = stored;
          row.detail = stored.detail.is_object() ? stored.detail : json::object();
          row.detail["timed_out_attempt"] = stored.attempt;
          t.upsert_steps.push_back(std::move(row));
        }
      }
    }
    // "retry" (a back-off ended), "child" (the child run ended), "step_timeout": the
    // engine runs the step again, reads the child's result or fails the attempt.
    *fired = run;
    (*fired)->steps.clear();
    return std::optional<RunTransition>(std::move(t));
  };
  AddPendingCallback();
  // Steps: a step timeout marks the stored step; the woken run is replayed from them.
  store_.UpdateRunAsync(timer.run_id, std::move(decide),
                        {.steps_to_decide = timer.kind == "step_timeout", .steps_in_answer = true},
                        [this, timer, now, fired](Result<RunRecord> after) {
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
                            OnRunEnded(**fired, now);
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
  t.error = ErrorOf(message, "run_timeout", "");
  t.cancel_steps_in_flight = message;
  const std::string run_id = run.id;
  const int64_t ended_at = t.now;
  AddPendingCallback();
  store_.TransitionRunAsync(std::move(t), [this, run, run_id, ended_at](Result<int64_t> r) {
    PendingCallbackDone done_guard(*this);
    if (r.ok()) {
      OnRunEnded(run, ended_at);
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

}  // namespace sw
