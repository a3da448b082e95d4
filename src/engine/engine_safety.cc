// The throughput breaker in the engine: each step attempt is admitted (counted in its
// workflow's window, in memory) before it is dispatched; the one that would exceed a
// limit trips the breaker, which is recorded in the store (the workflow's hold, its
// audit entry and notification in one commit) before the run lets go. While held, runs
// leave memory where they stand and are driven again on release.
#include <spdlog/spdlog.h>

#include "core/time_format.h"
#include "engine/active_run.h"
#include "engine/system_audit.h"

namespace sw {

ThroughputLimits Engine::LimitsOf(const Definition& def) const {
  return ThroughputLimits{def.max_runs_per_minute.value_or(options_.max_runs_per_minute),
                          def.max_steps_per_minute.value_or(options_.max_steps_per_minute)};
}

bool Engine::Admit(const std::shared_ptr<ActiveRun>& ar, bool fresh) {
  if (!fresh) {
    if (ar->breaker->MayProceed(ar->id)) {
      return true;
    }
    HoldRun(ar);
    return false;
  }
  const bool starts_run = ar->run.status == RunStatus::kPending && !ar->start_counted;
  const int64_t now = clock_.NowMs();
  switch (ar->breaker->Admit(ar->id, starts_run, now, LimitsOf(*ar->definition))) {
    case WorkflowBreaker::Verdict::kDispatch:
      ar->start_counted = ar->start_counted || starts_run;
      return true;
    case WorkflowBreaker::Verdict::kTrip:
      RecordTrip(ar->run, now);
      HoldRun(ar);
      return false;
    case WorkflowBreaker::Verdict::kHeld:
      HoldRun(ar);
      return false;
  }
  return false;
}

void Engine::HoldRun(const std::shared_ptr<ActiveRun>& ar) {
  if (ar->pending_effects.empty()) {
    Drop(ar);
    return;
  }
  // The results it carries (pure steps, control rows) are kept. A pending run that
  // dispatched steps is started by this commit, as by any first commit; one whose first
  // dispatch was refused stays pending.
  RunTransition keep;
  if (ar->dispatching && !ar->start_counted) {
    keep.expected_status = RunStatus::kPending;
  }
  Commit(ar, std::move(keep), CommitPhase::kBeforeWork, [this, ar] { Drop(ar); });
}

void Engine::RecordTrip(const RunRecord& run, int64_t now) {
  WorkflowSafetyTrip trip;
  trip.workspace_id = run.workspace_id;
  trip.workflow_id = run.workflow_id;
  trip.now = now;
  trip.safety = SafetyObject(kThroughputCapReason, FormatTime(now));
  trip.audit = SystemAudit(ids_, run.workspace_id, now, "workflow.paused_safety", run.workflow_id,
                           kThroughputCapMessage, "", "paused_safety");
  Result<WorkspaceRecord> ws = store_.FindWorkspace(run.workspace_id);
  NotificationRecord& n = trip.notify;
  n.id = ids_.Next("ntf");
  n.workspace_id = run.workspace_id;
  n.kind = std::string(kThroughputCapReason);
  n.title = "Workflow " + run.workflow_id + " paused for safety";
  n.body = "Workflow " + run.workflow_id + " " + kThroughputCapMessage +
           ". No step of its runs is dispatched until it is resumed.";
  n.link = "/" + (ws.ok() ? ws->slug : std::string()) + "/workflows/" + run.workflow_id;
  n.subject = {{"workflow_id", run.workflow_id}};
  n.created_at = now;
  Result<bool> tripped = store_.TripWorkflowSafety(trip);
  if (!tripped.ok()) {
    spdlog::error("workflow {}: cannot record its throughput trip: {}", run.workflow_id,
                  tripped.status().message());
    return;
  }
  spdlog::warn("workflow {}: {} (run {})", run.workflow_id, kThroughputCapMessage, run.id);
}

nlohmann::json Engine::WorkflowSafetyOfRuns(const std::string& workspace_id,
                                            const std::string& workflow_id) {
  Result<std::shared_ptr<WorkflowBreaker>> breaker = breakers_.For(workspace_id, workflow_id);
  return breaker.ok() ? RunWorkflowSafety((*breaker)->HeldFor()) : nlohmann::json();
}

void Engine::ReleaseWorkflow(const std::string& workspace_id, const std::string& workflow_id) {
  if (std::shared_ptr<WorkflowBreaker> breaker = breakers_.Find(workspace_id, workflow_id)) {
    for (const std::string& run_id : breaker->Release()) {
      Drive(run_id);
    }
  }
  timers_.Poke();  // the timers it held fire now
}

}  // namespace sw
