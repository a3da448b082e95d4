// Runs held for a connection's reauthorization: the hold before a step's call (paused
// for reauth, or waiting for it in agent mode) and the release of the agent-mode
// waits once their connection is active again. What decides that a connection needs
// reauthorization is in engine/connection_tokens.h.
#include <spdlog/spdlog.h>

#include "core/time_format.h"
#include "engine/active_run.h"

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
    t.pause = json{{"reason", "reauth"},
                   {"connection_id", connection_id},
                   {"by", "system"},
                   {"at", FormatTime(now)}};
  }
  AuditEntry audit;
  audit.id = ids_.Next("aud");
  audit.workspace_id = ar->run.workspace_id;
  audit.at = now;
  audit.actor = "system";
  audit.action = agent_mode ? "run.wait_reauth" : "run.pause";
  audit.target = ar->id;
  audit.reason = "connection " + connection_id + " needs reauthorization";
  audit.status_before = ToString(RunStatus::kRunning);
  audit.status_after = ToString(*t.next_status);
  t.audit = std::move(audit);
  Commit(ar, std::move(t), phase, [this, ar] { Drop(ar); });
}

void Engine::ReleaseReauthWaits(const std::string& connection_id) {
  Result<std::vector<std::string>> ids = store_.ListReauthWaits(connection_id);
  if (!ids.ok()) {
    spdlog::error("connection {}: cannot list the runs waiting for it: {}", connection_id,
                  ids.status().message());
    return;
  }
  for (const std::string& id : *ids) {
    const int64_t now = clock_.NowMs();
    auto decide = [connection_id,
                   now](const RunRecord& run) -> Result<std::optional<RunTransition>> {
      if (run.status != RunStatus::kWaiting || WaitKindOf(run) != WaitKind::kReauth ||
          (!connection_id.empty() && run.wait.value("connection_id", "") != connection_id)) {
        return std::optional<RunTransition>();  // released, cancelled or moved on meanwhile
      }
      RunTransition t;
      t.run_id = run.id;
      t.expected_version = run.version;
      t.expected_status = RunStatus::kWaiting;
      t.next_status = RunStatus::kRunning;
      t.wait = json();
      t.now = now;
      return std::optional(std::move(t));
    };
    AddPendingCallback();
    store_.UpdateRunAsync(id, std::move(decide),
                          {.steps_to_decide = false, .steps_in_answer = true},
                          [this](Result<RunRecord> after) {
                            PendingCallbackDone done_guard(*this);
                            if (!after.ok() || stopping_ || after->status != RunStatus::kRunning) {
                              return;
                            }
                            if (std::shared_ptr<ActiveRun> ar = Activate(after->id)) {
                              Begin(ar, std::move(after).value());
                            }
                          });
  }
}

}  // namespace sw
