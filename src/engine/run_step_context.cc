// The outcomes of a driven run's step, as its executor reports them through the
// RunStepContext: each becomes one commit (or a result carried to the next one).
#include <spdlog/spdlog.h>

#include "core/duration.h"
#include "core/time_format.h"
#include "engine/active_run.h"
#include "engine/attempts.h"
#include "engine/steps/step_executor.h"

namespace sw {

using nlohmann::json;

namespace {

// Most rows (pure steps' results and control rows) carried to a run's next commit.
constexpr size_t kMaxCarriedRows = 64;

}  // namespace

int Engine::RunStepContext::attempt() const {
  auto it = ar_->attempts.find(path_);
  return it == ar_->attempts.end() ? 1 : it->second;
}

int64_t Engine::RunStepContext::attempt_started_at() const {
  auto it = ar_->started.find(path_);
  return it == ar_->started.end() ? 0 : it->second;
}

json& Engine::RunStepContext::detail() {
  json& detail = ar_->details[path_];
  if (!detail.is_object()) {
    detail = json::object();
  }
  return detail;
}

void Engine::RunStepContext::Complete(json output, CommitPhase phase,
                                      std::optional<int64_t> consume_event) {
  engine_.CompleteLeaf(ar_, step_, path_, std::move(output), phase, consume_event);
}

void Engine::RunStepContext::FailAttempt(json error, json output, CommitPhase phase,
                                         int http_status) {
  engine_.FailStep(ar_, step_, path_, std::move(error), std::move(output), phase, http_status);
}

void Engine::RunStepContext::FailRun(json error) {
  engine_.FailRun(ar_, &step_, path_, std::move(error), nullptr, CommitPhase::kBeforeWork);
}

void Engine::RunStepContext::Park(ParkRequest park) {
  engine_.Park(ar_, step_, path_, std::move(park));
}

void Engine::RunStepContext::StartWork(
    std::function<void(std::shared_ptr<CancellationToken>)> work) {
  engine_.StartWork(ar_, step_, path_, std::move(work));
}

void Engine::RunStepContext::Finish(std::function<void()> then) {
  // Off the I/O thread that answered; the attempt's token is let go first.
  engine_.pool_.Post([&engine = engine_, ar = ar_, then = std::move(then)] {
    {
      std::lock_guard lock(engine.mu_);
      ar->token.reset();
    }
    then();
  });
}

void Engine::RunStepContext::WorkStopped() {
  // Cancelled (or shutting down): the cancel already marked the step; a restart runs it
  // again.
  engine_.Drop(ar_);
}

void Engine::RunStepContext::EndCancelled(json cancel) {
  const int64_t now = engine_.clock_.NowMs();
  engine_.Commit(ar_, CancelTransition(ar_->run, std::move(cancel), now), CommitPhase::kBeforeWork,
                 [&engine = engine_, ar = ar_] { engine.Drop(ar); });
}

StepRecord Engine::StepRow(const ActiveRun& ar, const StepDef& step, const std::string& path,
                           StepStatus status) const {
  StepRecord row;
  row.path = path;
  row.step_id = step.id;
  row.type = std::string(step.type());
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

void Engine::CompleteLeaf(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                          const std::string& path, json output, CommitPhase phase,
                          std::optional<int64_t> consume_event) {
  // `replace`: a text body need not be valid UTF-8, and dump() must not throw here.
  const size_t size = output.dump(-1, ' ', false, json::error_handler_t::replace).size();
  if (size > options_.max_step_output_bytes) {
    // A refusal of the platform: the run fails, nothing retries or holds it.
    FailRun(
        ar, &step, path,
        StepError("the step's output is " + std::to_string(size) + " bytes, over the limit of " +
                      std::to_string(options_.max_step_output_bytes),
                  "output_too_large", step.id),
        nullptr, phase);
    return;
  }
  RunTransition t;
  StepRecord row = StepRow(*ar, step, path, StepStatus::kCompleted);
  row.finished_at = clock_.NowMs();
  row.output = output;
  t.consume_event_id = consume_event;
  if (phase == CommitPhase::kBeforeWork && step.traits().pure && !consume_event &&
      !ar->cursor->AtLastTopLevelLeaf() && ar->pending_effects.size() < kMaxCarriedRows &&
      (ar->charge == 0 || !prices_.Tight(ar->run.workspace_id))) {
    // A noop's result is a function of what is stored: it needs no commit of its own and
    // goes with the run's next change. If that change is lost, so is this result, and
    // the step runs again; nothing outside the store saw it. Near the spend cap, a priced
    // one is committed alone (PriceBook::Tight).
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
    Commit(ar, std::move(t), phase, [this, ar] { Drop(ar); });
    return;
  }
  auto shared_output = std::make_shared<json>(std::move(output));
  Commit(ar, std::move(t), phase, [this, ar, shared_output] {
    ar->cursor->Complete(std::move(*shared_output));
    Step(ar);
  });
}

void Engine::FailRun(const std::shared_ptr<ActiveRun>& ar, const StepDef* step,
                     const std::string& path, json error, json step_output, CommitPhase phase) {
  RunTransition t;
  t.next_status = RunStatus::kFailed;
  t.finished_at = clock_.NowMs();
  if (step != nullptr) {
    counters_.StepFailed(error.value("code", ""), /*retried=*/false);
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
  Commit(ar, std::move(t), phase, [this, ar] { Drop(ar); });
}

void Engine::StartWork(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                       const std::string& path,
                       std::function<void(std::shared_ptr<CancellationToken>)> work) {
  // The attempt starts durably before the work does, so a restart knows it was in
  // flight and a pause keeps its result.
  RunTransition start;
  start.upsert_steps.push_back(StepRow(*ar, step, path, StepStatus::kRunning));
  Commit(ar, std::move(start), CommitPhase::kBeforeWork, [this, ar, work = std::move(work)] {
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

void Engine::FailStep(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                      const std::string& path, json error, json output, CommitPhase phase,
                      int http_status) {
  const int attempt = ar->attempts[path];
  const std::string code = error.value("code", "");
  if (!RetriesAfter(step.retry, attempt, code, http_status)) {
    FailRun(ar, &step, path, std::move(error), std::move(output), phase);
    return;
  }
  // Another attempt after the back-off; the run waits (durably) meanwhile.
  counters_.StepFailed(code, /*retried=*/true);
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
  t.wait = json{{"kind", ToString(WaitKind::kRetry)},
                {"step_id", step.id},
                {"path", path},
                {"attempt", attempt + 1},
                {"max_attempts", step.retry.max_attempts},
                {"next_attempt_at", FormatTime(due)},
                {"until", FormatTime(due)},
                {"last_error", step_error}};
  TimerRecord timer{ar->id, TimerKind::kRetry, path, due};
  t.add_timers.push_back(timer);
  Commit(ar, std::move(t), phase, [this, ar, timer] {
    timers_.Add(timer);
    Drop(ar);
  });
}

void Engine::Park(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                  const std::string& path, ParkRequest park) {
  RunTransition t = std::move(park.with);
  json wait = std::move(park.wait);
  wait["kind"] = ToString(park.kind);
  wait["step_id"] = step.id;
  wait["path"] = path;
  std::optional<int64_t> until = park.until;
  std::optional<TimerRecord> timer;
  if (park.timer) {
    timer = TimerRecord{ar->id, park.timer->first, path, park.timer->second};
  }
  if (park.bounded_by_step_timeout && step.timeout) {
    until = ar->started[path] + step.timeout->count();
    timer = TimerRecord{ar->id, TimerKind::kStepTimeout, path, *until};
  }
  wait["until"] = until ? json(FormatTime(*until)) : json();
  if (timer) {
    t.add_timers.push_back(*timer);
  }
  t.upsert_steps.push_back(StepRow(*ar, step, path, StepStatus::kWaiting));
  t.next_status = RunStatus::kWaiting;
  t.wait = std::move(wait);
  Commit(ar, std::move(t), CommitPhase::kBeforeWork,
         [this, ar, timer, after = std::move(park.after)] {
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
  ar->details[path].erase("timed_out_attempt");
  RunStepContext ctx(*this, ar, step, path);
  FindStepExecutor(step.type())->StopWork(ctx);
  const std::string limit = step.timeout ? FormatDuration(*step.timeout) : "its timeout";
  FailStep(ar, step, path, StepError("the step did not finish within " + limit, "timeout", step.id),
           nullptr, CommitPhase::kBeforeWork, 0);
}

}  // namespace sw
