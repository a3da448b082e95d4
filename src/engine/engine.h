// Engine executes runs: it takes a runnable run (created, resumed, woken), walks its
// definition with a Cursor and hands each leaf step to its kind's StepExecutor
// (engine/steps/), committing every outcome (a compare-and-set on the run's version)
// before the run moves on. Runs that park (sleep, events, child runs, agent tasks)
// leave memory; their timers live in the store. docs/steps.md shows the pieces.
//
// When a commit loses its compare-and-set, the engine re-reads the run and does what
// DecideLostRace (core/lifecycle.h) says: a paused run keeps the result of a step whose
// start was committed; a cancelled run marks such a result discarded; a plan is made
// again.
//
// Thread-safe. Owns a worker pool and the timer service; Drive/OnCancelled may be
// called from any thread, after the commit that made them necessary.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "core/definition.h"
#include "engine/clock.h"
#include "engine/connection_tokens.h"
#include "engine/engine_counters.h"
#include "engine/engine_options.h"
#include "engine/http_client.h"
#include "engine/human_tasks.h"
#include "engine/id_source.h"
#include "engine/process_runner.h"
#include "engine/spend.h"
#include "engine/steps/step_executor.h"
#include "engine/throughput_breaker.h"
#include "engine/timer_service.h"
#include "engine/worker_pool.h"
#include "store/notifier.h"
#include "store/store.h"

namespace sw {

// Timer lateness, for /metrics.
struct TimerLagStats {
  uint64_t count = 0;
  int64_t sum_ms = 0;
  int64_t max_ms = 0;
};

class Engine final : public RunSpawner {
 public:
  Engine(Store& store, const Clock& clock, HttpClient& http, ProcessRunner& processes,
         IdSource& ids, EngineOptions options);
  ~Engine() override;

  // Picks up where the last process stopped: drives every pending and running run
  // (an attempt that was in flight runs again) and starts the timer service.
  Status Start();
  // Stops driving runs; work in flight is abandoned (it runs again after restart).
  void Stop();

  // The run may be runnable now (created, resumed, woken): drive it unless already.
  void Drive(const std::string& run_id);
  // `run` was just created (committed, pending, no steps): drive it without reading it
  // back. Plans its first step on the calling thread.
  void DriveNew(const RunRecord& run) override;
  // Creates `run` (pending, version 1, no steps) and drives it. When the store's writer
  // is idle, its first steps, while they are pure (noop), are planned on the calling
  // thread before the create, and their
  // results ride in the create's own commit with what follows them when that is the
  // run's completion or failure: a run of pure steps only is one commit. `done` runs
  // after that commit, before the run goes on, with the run as created (pending,
  // version 1, whatever the commit carried); with `key`, a repeat answers the earlier
  // run (replayed).
  using StartDone = std::function<void(Result<CreateRunResult>)>;
  void StartNew(RunRecord run, std::optional<IdempotencyKey> key, StartDone done);
  // Runs this instance may drive, found by a look at the store (several instances: it
  // owns them, or nobody does): drives those it does not drive already.
  void Adopt(const std::vector<std::string>& run_ids);
  // A cancel of the run was committed: stop the work in flight, here or, when another
  // instance drives the run, there (through the peers).
  void OnCancelled(const std::string& run_id);

  // Several instances (engine/engine_signals.cc). `peers` carries what the others must
  // hear from this engine: a cancel (kRunCancelled, to the instance that drives the
  // run), a workflow's safety hold recorded or ended (kWorkflowHold), a workspace's
  // billing changed (kBillingChanged). Set before Start; it outlives the engine.
  void SetPeers(Notifier* peers) { peers_ = peers; }
  // The run's work in flight stops if this instance drives it (a cancel committed
  // here or elsewhere); false when it does not drive it. Only fires a token: safe on
  // any thread.
  bool StopWorkHere(const std::string& run_id);
  // Another instance committed changes of these runs: a cancel of a run this one drives
  // stops its work in flight here. Only hands off.
  void OnChangedElsewhere(const std::vector<std::string>& run_ids);
  // Brings every breaker made here in line with the holds the store has: a workflow held
  // elsewhere is held here too, one released elsewhere is released here (its runs are
  // driven again). Reads the store; called after each beat, and (handed off) when
  // another instance says a hold changed.
  void SyncWorkflowHolds();
  void OnHoldsChangedElsewhere();
  // Another instance changed the workspace's billing: its prices are read again.
  void OnBillingChangedElsewhere(const std::string& workspace_id);
  // The connection was reconnected or deleted here: its access token is read again, here
  // and (kConnectionChanged) on the other instances.
  void ConnectionChanged(const std::string& connection_id);
  void OnConnectionChangedElsewhere(const std::string& connection_id);
  // `run` ended as `status` (a commit made it terminal at `ended_at`): a child's parent
  // wakes now, and the run is counted.
  void OnRunEnded(const RunRecord& run, RunStatus status, int64_t ended_at);
  // The clock moved (fake clock): look for due timers and back-offs now.
  void PokeTimers() {
    timers_.Poke();
    connections_.Poke();
    if (period_watch_) {
      period_watch_->Poke();
    }
  }
  // The access tokens of connections (http steps, the connections API).
  ConnectionTokens& connections() { return connections_; }
  // `connection_id` is active again (reconnected): the agent-mode runs waiting for it go
  // on. Ordinary runs held for it stay paused until resumed.
  void ReleaseReauthWaits(const std::string& connection_id);
  // Told after an agent task was queued (or requeued) in (workspace, queue). Set before
  // Start.
  using TaskListener =
      std::function<void(const std::string& workspace_id, const std::string& queue)>;
  void SetTaskListener(TaskListener listener) { task_listener_ = std::move(listener); }

  // Parsed definitions by (workspace, workflow, version), cached.
  Result<std::shared_ptr<const Definition>> LoadDefinition(const std::string& workspace_id,
                                                           const std::string& workflow_id,
                                                           int version);

  // The workflow's safety hold was cleared in the store (engine/engine_safety.cc): the
  // runs that waited for it are driven again, its timers fire, and its dispatch windows
  // start afresh.
  void ReleaseWorkflow(const std::string& workspace_id, const std::string& workflow_id);
  // The workspace's billing settings changed (engine/engine_safety.cc): its prices are
  // read again, and the spend holds the cap no longer justifies end.
  void BillingChanged(const std::string& workspace_id);
  // Ends the spend holds the cap no longer justifies (a raised cap, a new period) and
  // drives their runs again.
  void SettleSpendHolds();
  // What a run of the workflow shows of its hold: {reason, message}, or null. From
  // memory once the workflow's breaker was made (the store is read the first time).
  nlohmann::json WorkflowSafetyOfRuns(const std::string& workspace_id,
                                      const std::string& workflow_id);
  // The workflow's breaker, or null when no run of it was driven yet (tests, /metrics).
  std::shared_ptr<WorkflowBreaker> FindBreaker(const std::string& workspace_id,
                                               const std::string& workflow_id) const {
    return breakers_.Find(workspace_id, workflow_id);
  }

  bool AllowsShell() const { return options_.allow_shell; }
  const EngineOptions& options() const { return options_; }
  // What step executors reach (scripts share the engine's clients and settings).
  StepServices Services(RunSpawner* spawner) {
    return StepServices{store_, clock_, http_, processes_, ids_, options_, connections_, spawner};
  }

  // RunSpawner: for the `workflow` and `agent_task` executors.
  void CancelRunTree(const std::string& run_id, const std::string& by_run,
                     const std::string& reason) override;
  void TaskQueued(const std::string& workspace_id, const std::string& queue) override;
  TimerLagStats GetTimerLag() const;
  size_t ActiveRuns() const;
  // What /metrics shows of the engine beyond the store's figures.
  EngineCounters& counters() { return counters_; }
  size_t QueuedWork() const { return pool_.Depth(); }
  size_t PendingTimers() const { return timers_.Pending(); }

  // Approvals and forms (engine/human_tasks.cc): applies `c` to its task and, in the
  // same compare-and-set, to its run. A resolved task wakes the run waiting at its step
  // with the step's result (the run goes on, or fails); a moved expiry moves the run's
  // expiry timer; any other change still bumps the run's version, so a driver that read
  // the task before sees it changed. Retried when the task or the run changed
  // meanwhile; `c.change` then decides again. Answers the task as committed.
  Result<HumanTaskRecord> ChangeHumanTask(const HumanTaskChange& c);

 private:
  struct ActiveRun;
  class RunStepContext;
  friend class RunStepContext;

  // Registers the run as driven; null when it is already (it is looked at again when
  // its driver lets go).
  std::shared_ptr<ActiveRun> Activate(const std::string& run_id);
  void Load(const std::shared_ptr<ActiveRun>& ar);
  // Goes on with `run` as read (or just created): replays its steps, then steps.
  void Begin(const std::shared_ptr<ActiveRun>& ar, RunRecord run);
  Status Replay(ActiveRun& ar, const RunRecord& run);
  void Step(const std::shared_ptr<ActiveRun>& ar);
  void ExecuteLeaf(const std::shared_ptr<ActiveRun>& ar, const struct CursorAction& action);

  // The outcomes of a step (engine/run_step_context.cc).
  void CompleteLeaf(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                    const std::string& path, nlohmann::json output, CommitPhase phase,
                    std::optional<int64_t> consume_event);
  // A failed attempt: another after the back-off when the policy allows, else the run
  // fails.
  void FailStep(const std::shared_ptr<ActiveRun>& ar, const StepDef& step, const std::string& path,
                nlohmann::json error, nlohmann::json output, CommitPhase phase, int http_status);
  void FailRun(const std::shared_ptr<ActiveRun>& ar, const StepDef* step, const std::string& path,
               nlohmann::json error, nlohmann::json step_output, CommitPhase phase);
  void Park(const std::shared_ptr<ActiveRun>& ar, const StepDef& step, const std::string& path,
            ParkRequest park);
  // The step's connection needs reauthorization (engine/reauth.cc).
  void HoldForReauth(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                     const std::string& path, const std::string& connection_id,
                     nlohmann::json attempt_error, CommitPhase phase);
  // The throughput breaker (engine/engine_safety.cc). Admit: whether the run's next
  // step attempt may be dispatched now (`fresh`: a new attempt, counted; else the run
  // only goes on with a step it made before). When not, the run is held: what it carries
  // is committed and it leaves memory until the workflow is released.
  bool Admit(const std::shared_ptr<ActiveRun>& ar, bool fresh);
  void HoldRun(const std::shared_ptr<ActiveRun>& ar);
  // Records the throughput trip of the run's workflow: its hold, audit entry and
  // notification.
  void RecordTrip(const RunRecord& run, int64_t now);
  // Several instances: the workflow's hold was recorded or ended here (kWorkflowHold).
  void TellPeersHoldChanged(const std::string& workspace_id, const std::string& workflow_id);
  // The trip of the run's workflow for `reason` (core/workflow_safety.h), as written.
  WorkflowSafetyTrip SafetyTrip(const RunRecord& run, std::string_view reason, int64_t now);
  // The store refused the run's commit for its `charge` (the spend cap). A charge of
  // one attempt holds the workflow for spend and the run leaves memory (or, when the
  // cap moved meanwhile, goes on); a charge of several is made again one attempt per
  // commit, so the attempts that fit are made.
  void OnSpendRefused(const std::shared_ptr<ActiveRun>& ar, const SpendCharge& charge);
  ThroughputLimits LimitsOf(const Definition& def) const;

  // Commits that the step's attempt started, then runs `work` with a fresh token.
  void StartWork(const std::shared_ptr<ActiveRun>& ar, const StepDef& step, const std::string& path,
                 std::function<void(std::shared_ptr<CancellationToken>)> work);
  // The attempt's outside work outlived the step's timeout: stop it and count the
  // attempt as failed.
  void TimeOutWork(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                   const std::string& path);
  // Adds the current attempt of `path`, which failed, to its step's `attempts`.
  void AppendAttempt(ActiveRun& ar, const std::string& path, const nlohmann::json& error,
                     int64_t finished_at);
  StepRecord StepRow(const ActiveRun& ar, const StepDef& step, const std::string& path,
                     StepStatus status) const;

  // Commits `t` (expected: the run's known version, status running) plus the control
  // effects not yet committed; `on_ok` runs in the commit's callback (on the store's
  // writer) with the new version.
  void Commit(const std::shared_ptr<ActiveRun>& ar, RunTransition t, CommitPhase phase,
              std::function<void()> on_ok);
  void OnLostRace(const std::shared_ptr<ActiveRun>& ar, RunTransition t, CommitPhase phase,
                  std::function<void()> on_ok);
  // Commit's second half: sends the prepared `t` (its first `effect_count` rows are
  // control effects) and handles the outcome.
  void CommitPrepared(const std::shared_ptr<ActiveRun>& ar, std::shared_ptr<RunTransition> t,
                      CommitPhase phase, size_t effect_count, std::function<void()> on_ok);
  // `t` committed as the run's `version`: the driver's state follows it.
  void OnCommitted(ActiveRun& ar, const RunTransition& t, int64_t version, size_t effect_count);
  // The create commit of a run StartNew holds (ActiveRun::create), carrying `first` when
  // given; answers the start, then runs `then` unless the run was not created (or was
  // a repeat).
  void CommitCreate(const std::shared_ptr<ActiveRun>& ar, std::shared_ptr<RunTransition> first,
                    std::function<void()> then);
  // Drives again the runs whose commit failed for a full disk (a commit succeeded since).
  void DriveStalled();
  // Forgets the run, and drives it again when a Drive came meanwhile; when `reread`,
  // also when the store says it is runnable. A new run not created yet (StartNew) is
  // created first.
  void Drop(const std::shared_ptr<ActiveRun>& ar, bool reread = false);

  // Timers and ends of runs (engine/engine_timers.cc).
  void FireTimer(const TimerRecord& timer);
  void TimeOutRun(const RunRecord& run);
  // An approval's or form's expiry timer fired: its policy applies (human_tasks.cc).
  void ExpireHumanTask(const TimerRecord& timer);
  void CancelChildRun(const std::string& child_id, const std::string& parent_id,
                      const std::string& reason);
  // Cancels the active runs below `run_id`, deepest first.
  void CancelDescendants(const std::string& run_id, const std::string& reason);

  void AddPendingCallback();
  void PendingCallbackFinished();
  // Marks a store callback finished when it leaves scope.
  struct PendingCallbackDone {
    explicit PendingCallbackDone(Engine& e) : engine(e) {}
    ~PendingCallbackDone() { engine.PendingCallbackFinished(); }
    Engine& engine;
  };

  Store& store_;
  const Clock& clock_;
  HttpClient& http_;
  ProcessRunner& processes_;
  IdSource& ids_;
  TaskListener task_listener_;
  Notifier* peers_ = nullptr;  // set before Start; null with one instance
  EngineOptions options_;
  EngineCounters counters_;
  WorkerPool pool_;
  TimerService timers_;
  ConnectionTokens connections_;
  ThroughputBreakers breakers_;
  PriceBook prices_;
  std::unique_ptr<PeriodWatch> period_watch_;  // made by Start

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<ActiveRun>> active_;    // guarded by mu_
  std::map<std::string, std::shared_ptr<const Definition>> definitions_;  // guarded by mu_
  TimerLagStats timer_lag_;                                               // guarded by mu_
  std::set<std::string> stalled_;  // guarded by mu_: runs whose commit failed
  std::atomic<bool> any_stalled_{false};
  std::atomic<bool> stopping_{false};
  // Store callbacks not yet run; Stop waits for them, so none runs on a freed engine.
  std::mutex callbacks_mu_;
  std::condition_variable callbacks_done_;
  int pending_callbacks_ = 0;  // guarded by callbacks_mu_
};

}  // namespace sw
