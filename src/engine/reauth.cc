// Runs held for a connection's reauthorization: the hold before a step's call (paused
// for reauth, or waiting for it in agent mode) and the release of the agent-mode
// waits once their connection is active again. What decides that a connection needs
// reauthorization is in engine/connection_tokens.h.
#include <spdlog/spdlog.h>

#include "core/time_format.h"
#include "engine/active_run.h"
#include "engine/system_audit.h"

namespace sw {

using nlohmann::json;

void Engine::RunStepContext::HoldForReauth(const std::string& connection_id, json attempt_error,
                                           CommitPhase phase) {
  engine_.HoldForReauth(ar_, step_, path_, connection_id, std::move(attempt_error), phase);
}

void Engine::HoldForReauth(const std::shared_ptr<ActiveRun>& ar, const StepDef& step,
                           const std::string& path, const std::string& connection_id,
                           json attempt_error, CommitPhase phase) {
  const int64_t now = clock_.NowMs();
  // The step goes back to pending: "pending, attempt N" is attempt N waiting to be made.
  // An attempt whose call met a refused token counts; one that sent nothing does not.
  RunTransition t;
  if (!attempt_error.is_null()) {
    AppendAttempt(*ar, path, attempt_error, now);
    ar->attempts[path] += 1;
  }
  StepRecord row = StepRow(*ar, step, path, StepStatus::kPending);
  row.finished_at = 0;
  t.upsert_steps.push_back(std::move(row));
  const bool agent_mode = ar->definition && ar->definition->mode == WorkflowMode::kAgent;
  if (agent_mode) {
    t.next_status = RunStatus::kWaiting;
    t.wait = json{{"kind", ToString(WaitKind::kReauth)},
                  {"connection_id", connection_id},
                  {"step_id", step.id},
                  {"path", path},
                  {"until", nullptr}};
  } else {
    t.next_status = RunStatus::kPaused;
    t.paused_from = RunStatus::kRunning;
    t.pause = json{{"reason", ToString(PauseReason::kReauth)},
                   {"connection_id", connection_id},
                   {"by", "system"},
                   {"at", FormatTime(now)}};
  }
  t.audit = SystemAudit(
      ids_, ar->run.workspace_id, now, agent_mode ? "run.wait_reauth" : "run.pause", ar->id,
      "connection " + connection_id + " needs reauthorization",
      std::string(ToString(RunStatus::kRunning)), std::string(ToString(*t.next_status)));
  Commit(ar, std::move(t), phase, [this, ar] { Drop(ar); });
}

void Engine::ReleaseReauthWaits(const std::string& connection_id) {
  // One commit wakes them all (10,000 runs held on one connection go on together);
  // each is then driven from what is stored.
  Result<std::vector<std::string>> woken = store_.WakeReauthWaits(connection_id, clock_.NowMs());
  if (!woken.ok()) {
    spdlog::error("connection {}: cannot release the runs waiting for it: {}", connection_id,
                  woken.status().message());
    return;
  }
  for (const std::string& id : *woken) {
    Drive(id);
  }
}

}  // namespace sw
