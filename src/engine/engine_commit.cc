// A driver's commits: every change the engine makes to a run is a compare-and-set on
// the run's (status, version), committed with its effects; on success the driver's
// state follows the commit and the run goes on in its completion, on the committing
// thread; on a lost race DecideLostRace (core/lifecycle.h) says what comes next.
#include <spdlog/spdlog.h>

#include "engine/active_run.h"
#include "engine/engine.h"

namespace sw {

namespace {

// Bound on compare-and-set retries when the run changed under a commit.
constexpr int kMaxCommitRetries = 16;

// Most step rows a new run's create carries while the store's writer is busy. Under
// load a start is answered after its create: carrying a long run's steps would hold the
// answer until the whole run is written, and keep the batches as small as the starts
// in flight (W2: batches of 13-15 changes instead of 53-65). A short run's step rides
// along, so its result is committed with the create instead of waiting in the queue a
// second time (W12).
constexpr size_t kMaxCarriedWhenBusy = 2;

}  // namespace

void Engine::Commit(const std::shared_ptr<ActiveRun>& ar, RunTransition t, CommitPhase phase,
                    std::function<void()> on_ok) {
  t.run_id = ar->id;
  t.expected_version = ar->run.version;
  t.now = clock_.NowMs();
  t.from_driver = true;
  if (!t.expected_status) {
    t.expected_status = ar->dispatching ? RunStatus::kPending : RunStatus::kRunning;
    if (ar->dispatching) {
      t.started_at = t.now;
      if (!t.next_status) {
        t.next_status = RunStatus::kRunning;
      }
      if (ar->definition && ar->definition->timeout && !IsTerminal(*t.next_status)) {
        t.add_timers.push_back(TimerRecord{ar->id, TimerKind::kRunTimeout, "",
                                           t.now + ar->definition->timeout->count()});
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
  if (ar->charge > 0) {
    if (!t.charge) {
      t.charge = SpendCharge{ar->run.workspace_id, 0, 0};
    }
    t.charge->amount += std::exchange(ar->charge, 0);
    t.charge->attempts += std::exchange(ar->charged_attempts, 0);
  }
  auto shared = std::make_shared<RunTransition>(std::move(t));
  if (ar->create && !shared->charge &&
      (shared->upsert_steps.size() <= kMaxCarriedWhenBusy || !store_.WriterBusy())) {
    // A new run's first commit is its create: one commit for the run so far.
    CommitCreate(ar, shared, [this, ar, shared, effect_count, on_ok = std::move(on_ok)] {
      OnCommitted(*ar, *shared, ar->run.version, effect_count);
      on_ok();
    });
    return;
  }
  if (ar->create) {
    // A priced attempt: the run is created alone first, so that a charge the cap refuses
    // holds the run rather than refusing its start. So is a long run under load.
    CommitCreate(ar, nullptr,
                 [this, ar, shared, phase, effect_count, on_ok = std::move(on_ok)]() mutable {
                   CommitPrepared(ar, std::move(shared), phase, effect_count, std::move(on_ok));
                 });
    return;
  }
  CommitPrepared(ar, std::move(shared), phase, effect_count, std::move(on_ok));
}

void Engine::OnCommitted(ActiveRun& ar, const RunTransition& t, int64_t version,
                         size_t effect_count) {
  ar.run.version = version;
  ar.retries = 0;
  if (t.expected_status == RunStatus::kPending) {
    ar.dispatching = false;
    for (const TimerRecord& timer : t.add_timers) {
      if (timer.kind == TimerKind::kRunTimeout) {
        timers_.Add(timer);
      }
    }
  }
  if (t.next_status) {
    ar.run.status = *t.next_status;
    if (IsTerminal(ar.run.status)) {
      OnRunEnded(ar.run, ar.run.status, t.now);
    }
  }
  ar.pending_effects.erase(ar.pending_effects.begin(),
                           ar.pending_effects.begin() + static_cast<ptrdiff_t>(effect_count));
}

void Engine::CommitPrepared(const std::shared_ptr<ActiveRun>& ar,
                            std::shared_ptr<RunTransition> shared, CommitPhase phase,
                            size_t effect_count, std::function<void()> on_ok) {
  AddPendingCallback();
  // The run goes on in the commit's callback, on the store's writer: a chain of steps
  // costs no thread hand-off per step, and the next commit joins the writer's next batch.
  store_.TransitionRunAsync(shared, [this, ar, shared, phase, effect_count,
                                     on_ok = std::move(on_ok)](Result<int64_t> r) mutable {
    PendingCallbackDone done_guard(*this);
    if (stopping_) {
      return;  // the run goes on after a restart
    }
    if (r.ok()) {
      if (any_stalled_.load(std::memory_order_relaxed)) {
        DriveStalled();
      }
      OnCommitted(*ar, *shared, *r, effect_count);
      on_ok();
      return;
    }
    if (r.status().code() == StatusCode::kResourceExhausted &&
        r.status().reason() == kSpendCapRefused) {
      OnSpendRefused(ar, *shared->charge);
      return;
    }
    if (r.status().reason() == kLeaseLost) {
      spdlog::info("event=run.let_go run={} reason={}", ar->id, r.status().message());
      Drop(ar);  // another instance drives it
      return;
    }
    if (r.status().code() == StatusCode::kAborted) {
      // Drop the effects we prepended; they are re-added from pending_effects.
      shared->upsert_steps.erase(shared->upsert_steps.begin(),
                                 shared->upsert_steps.begin() + effect_count);
      OnLostRace(ar, std::move(*shared), phase, std::move(on_ok));
      return;
    }
    spdlog::error("run {}: commit failed: {}", ar->id, r.status().message());
    {
      // A failure that passes (a full disk, a database restarting) ends with a commit
      // that succeeds: the run goes on from what it has then. After a sticky failure
      // none does.
      std::lock_guard lock(mu_);
      stalled_.insert(ar->id);
      any_stalled_ = true;
    }
    Drop(ar);
  });
}

void Engine::DriveStalled() {
  std::set<std::string> runs;
  {
    std::lock_guard lock(mu_);
    runs.swap(stalled_);
    any_stalled_ = false;
  }
  for (const std::string& run_id : runs) {
    spdlog::info("run {}: the store writes again; the run goes on", run_id);
    Drive(run_id);
  }
}

void Engine::OnLostRace(const std::shared_ptr<ActiveRun>& ar, RunTransition t, CommitPhase phase,
                        std::function<void()> on_ok) {
  Result<RunRecord> now = store_.GetRun(ar->id, /*with_steps=*/false);
  if (!now.ok() || ++ar->retries > kMaxCommitRetries) {
    Drop(ar, /*reread=*/true);
    return;
  }
  ar->run.version = now->version;
  const RunStatus expected = t.expected_status.value_or(RunStatus::kRunning);
  switch (DecideLostRace(phase, expected, now->status, !t.upsert_steps.empty())) {
    case LostRace::kReplan:
      // The first commit carried the dispatch; plan it again from scratch.
      ar->dispatching = expected == RunStatus::kPending;
      Step(ar);
      return;
    case LostRace::kRecommit:
      // At the status it has now: a kept result that a resume overtook goes to the running
      // run (whose resume's Drive found it held, so Drop drives it again).
      t.expected_status = now->status;
      Commit(ar, std::move(t), phase, std::move(on_ok));
      return;
    case LostRace::kKeepResult: {
      // Still a result: should a cancel or a resume overtake the keep, it is discarded or
      // recommitted like the first commit of it.
      RunTransition keep;
      keep.expected_status = RunStatus::kPaused;
      keep.upsert_steps = std::move(t.upsert_steps);
      keep.charge = std::move(t.charge);
      ar->pending_effects.clear();
      Commit(ar, std::move(keep), CommitPhase::kResult, [this, ar] { Drop(ar); });
      return;
    }
    case LostRace::kDiscardResult: {
      RunTransition discard;
      discard.expected_status = now->status;
      discard.discard_step_result = t.upsert_steps.back().path;
      ar->pending_effects.clear();
      Commit(ar, std::move(discard), CommitPhase::kBeforeWork, [this, ar] { Drop(ar); });
      return;
    }
    case LostRace::kLetGo:
      break;
  }
  Drop(ar);
}

}  // namespace sw
