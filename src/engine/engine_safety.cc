// The workflow-level holds in the engine. The throughput breaker: each step attempt is
// admitted (counted in its workflow's window, in memory) before it is dispatched; the
// one that would exceed a limit trips the breaker, which is recorded in the store (the
// workflow's hold, its audit entry and notification in one commit) before the run lets
// go. The spend cap: the store refuses a commit whose charge would pass the cap; the
// workflow is then held the same way. While held, runs leave memory where they stand
// and are driven again on release.
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

WorkflowSafetyTrip Engine::SafetyTrip(const RunRecord& run, std::string_view reason, int64_t now) {
  const bool spend = reason == kSpendCapReason;
  const std::string message = spend ? kSpendCapMessage : kThroughputCapMessage;
  WorkflowSafetyTrip trip;
  trip.workspace_id = run.workspace_id;
  trip.workflow_id = run.workflow_id;
  trip.now = now;
  trip.safety = SafetyObject(reason, FormatTime(now));
  trip.audit = SystemAudit(ids_, run.workspace_id, now, "workflow.paused_safety", run.workflow_id,
                           message, "", "paused_safety");
  Result<WorkspaceRecord> ws = store_.FindWorkspace(run.workspace_id);
  NotificationRecord& n = trip.notify;
  n.id = ids_.Next("ntf");
  n.workspace_id = run.workspace_id;
  n.kind = std::string(reason);
  n.title = "Workflow " + run.workflow_id + " paused for safety" +
            (spend ? ": the spend cap is reached" : "");
  n.body = spend ? message
                 : "Workflow " + run.workflow_id + " " + message +
                       ". No step of its runs is dispatched until it is resumed.";
  n.link = "/" + (ws.ok() ? ws->slug : std::string()) + "/workflows/" + run.workflow_id;
  n.subject = {{"workflow_id", run.workflow_id}};
  n.created_at = now;
  return trip;
}

void Engine::RecordTrip(const RunRecord& run, int64_t now) {
  Result<bool> tripped = store_.TripWorkflowSafety(SafetyTrip(run, kThroughputCapReason, now));
  if (!tripped.ok()) {
    spdlog::error("workflow {}: cannot record its throughput trip: {}", run.workflow_id,
                  tripped.status().message());
    return;
  }
  spdlog::warn("workflow {}: {} (run {})", run.workflow_id, kThroughputCapMessage, run.id);
  if (*tripped) {
    TellPeersHoldChanged(run.workspace_id, run.workflow_id);
  }
}

void Engine::TellPeersHoldChanged(const std::string& workspace_id, const std::string& workflow_id) {
  if (peers_ != nullptr) {
    peers_->Publish(Notifier::Topic::kWorkflowHold, workspace_id + "/" + workflow_id);
  }
}

void Engine::OnSpendRefused(const std::shared_ptr<ActiveRun>& ar, const SpendCharge& charge) {
  // Nothing of the refused commit was written: the run leaves memory and goes on from
  // what the store has.
  if (charge.attempts > 1) {
    prices_.SetTight(ar->run.workspace_id);
    Drop(ar, /*reread=*/true);
    return;
  }
  // Held in memory first, so a release that follows the store's trip finds the run noted.
  const bool held_here = ar->breaker->Hold(kSpendCapReason, ar->id);
  const int64_t now = clock_.NowMs();
  Result<bool> holds =
      store_.TripSpendCap(SafetyTrip(ar->run, kSpendCapReason, now), charge.amount);
  if (holds.ok() && *holds) {
    spdlog::warn("workflow {}: paused at the spend cap (run {})", ar->run.workflow_id, ar->id);
    TellPeersHoldChanged(ar->run.workspace_id, ar->run.workflow_id);
    Drop(ar);
    return;
  }
  if (!holds.ok()) {
    spdlog::error("workflow {}: cannot record its spend trip: {}", ar->run.workflow_id,
                  holds.status().message());
  }
  // The cap moved meanwhile: the dispatch is tried again.
  if (held_here) {
    for (const std::string& run_id : ar->breaker->Release()) {
      if (run_id != ar->id) {
        Drive(run_id);
      }
    }
  }
  Drop(ar, /*reread=*/true);
}

void Engine::BillingChanged(const std::string& workspace_id) {
  prices_.Forget(workspace_id);
  if (peers_ != nullptr) {
    peers_->Publish(Notifier::Topic::kBillingChanged, workspace_id);
  }
  SettleSpendHolds();
}

void Engine::SettleSpendHolds() {
  Result<std::vector<WorkflowRef>> released = store_.SettleSpendHolds(clock_.NowMs());
  if (!released.ok()) {
    spdlog::error("cannot settle the spend holds: {}", released.status().message());
    return;
  }
  for (const WorkflowRef& wf : *released) {
    spdlog::info("workflow {}: the spend cap no longer holds it", wf.workflow_id);
    ReleaseWorkflow(wf.workspace_id, wf.workflow_id);
  }
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
  TellPeersHoldChanged(workspace_id, workflow_id);
  timers_.Poke();  // the timers it held fire now
}

}  // namespace sw
