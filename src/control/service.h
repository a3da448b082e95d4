// ControlService is what the API (and the CLI's offline commands) call: workflows,
// runs and their controls, events, tokens, workspaces and the audit log. It checks
// the caller's workspace, decides with core's transition table, commits through the
// Store's compare-and-set and then tells the engine (drive, or stop the work in
// flight). Role checks are the API's; workspace scoping is here: an object of
// another workspace is "not found".
//
// Thread-safe; blocks on commits, except StartRun.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/auth.h"
#include "core/result.h"
#include "core/run_status.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/id_source.h"
#include "store/store.h"

namespace sw {

struct RequestContext {
  Principal principal;
  std::string request_id;
};

struct ControlRequest {
  RunAction action = RunAction::kCancel;
  std::optional<int64_t> expected_version;
  std::optional<RunStatus> expected_status;
  std::string reason;  // cancel only; empty means "Cancelled by user"
  // Not empty: the run must be in one of these (what a bulk operation's filter matched),
  // else kAborted (state_changed) like a stale expected_status.
  std::vector<RunStatus> expected_status_in;
};

// One run's control or replay prepared to be written together with other runs' (a bulk
// operation's batch, OperationStore::ApplyOperationBatchesAsync): a control's `decide`,
// called in the write on the run as it is then, as Control's is, or a replay's new run
// to `create`. `finish`, called once the write committed having changed the run (or
// created the new run), on a thread that may block (not the store's writer), does what
// Control and Replay do after their commit: tell the engine, cancel child runs.
struct PreparedChange {
  Store::DecideTransition decide;
  std::optional<RunRecord> create;
  std::function<void()> finish;
};

struct StartRunRequest {
  std::string workflow_id;
  nlohmann::json input = nlohmann::json::object();
  std::string trigger_kind = "api";  // "api" (POST .../runs) or "http" (POST .../trigger)
  std::optional<std::string> idempotency_key;
  // An earlier (or the current) version of the workflow to run; unset: the current one.
  // A version the workflow never had: kNotFound.
  std::optional<int> workflow_version;
};

// POST /api/v1/runs/{id}/replay's body (API.md "Rerun from a step"). Empty: a new run
// of the same version with the same input, from the start (the replay as it always was).
struct ReplayRequest {
  // A step id or path of the chosen version; unset: from the start.
  std::optional<std::string> from_step;
  std::optional<nlohmann::json> input;  // an object; unset: the earlier run's
  bool latest_version = false;          // the workflow's current version
  std::optional<int> workflow_version;  // this version; unset and not latest: the run's
  bool preview = false;
};

// What a replay would do (preview) or did: the new run (unset for a preview) and which
// of its steps are copied and which run.
struct ReplayOutcome {
  std::optional<RunRecord> run;
  std::vector<std::string> kept;
  std::vector<std::string> will_run;
};

struct CreatedToken {
  TokenRecord record;
  std::string secret;
};

// Bootstrap (no caller): a workspace and its first admin token, named "admin".
// `secret` empty: a random one. Used by `serve` on first start and by
// `stepwell workspaces create`.
Result<CreatedToken> CreateWorkspace(Store& store, IdSource& ids, const Clock& clock,
                                     const std::string& slug, const std::string& secret);

class ControlService {
 public:
  static constexpr char kDefaultCancelReason[] = "Cancelled by user";
  static constexpr int64_t kIdempotencyWindowMs = 24LL * 3600 * 1000;

  ControlService(Store& store, Engine& engine, const Clock& clock, IdSource& ids);

  // Workflows.
  Result<PutWorkflowResult> ApplyWorkflow(const RequestContext& ctx, const std::string& workflow_id,
                                          const nlohmann::json& body);
  Result<WorkflowRecord> GetWorkflow(const RequestContext& ctx, const std::string& workflow_id);
  Result<std::vector<WorkflowRecord>> ListWorkflows(const RequestContext& ctx);
  Result<WorkflowRecord> SetWorkflowStatus(const RequestContext& ctx,
                                           const std::string& workflow_id,
                                           const std::string& status);
  // Clears the workflow's `throughput_cap` hold and drives its held runs again
  // (control/workflow_safety.cc): kFailedPrecondition (invalid_transition) when it is
  // not paused for safety, or paused for another reason (spend_cap).
  Result<WorkflowRecord> ResumeWorkflow(const RequestContext& ctx, const std::string& workflow_id);
  // The workspace's spend and billing settings (control/billing.cc). UpdateBilling
  // applies the body's fields (ParseBillingUpdate), audited; a cap raised above the
  // spend ends the workspace's spend holds and their runs go on.
  Result<BillingRecord> GetBilling(const RequestContext& ctx);
  Result<BillingRecord> UpdateBilling(const RequestContext& ctx, const nlohmann::json& body);
  // The workspace's retention of finished runs (control/retention.cc). UpdateRetention
  // replaces both limits with the body's (ParseRetention), audited, and tells the
  // retention listener.
  Result<RetentionSettings> GetRetention(const RequestContext& ctx);
  Result<RetentionSettings> UpdateRetention(const RequestContext& ctx, const nlohmann::json& body);
  // Called after a retention change (the sweeper looks at once). Set before use.
  void SetRetentionListener(std::function<void()> changed) {
    retention_changed_ = std::move(changed);
  }
  // What a run of the workflow shows of its hold ({reason, message}, or null).
  nlohmann::json WorkflowSafetyOfRuns(const std::string& workspace_id,
                                      const std::string& workflow_id) {
    return engine_.WorkflowSafetyOfRuns(workspace_id, workflow_id);
  }
  // Runs a `kind: script` synchronously: {"output": ...} or {"output": null, "error": ...}.
  Result<nlohmann::json> Invoke(const RequestContext& ctx, const std::string& workflow_id,
                                const nlohmann::json& input);

  // Runs.
  // Answers through `done` once the run is durable: on this thread when the store is
  // idle, else on the store's writer (hand the answer off from there).
  using StartRunDone = std::function<void(Result<CreateRunResult>)>;
  void StartRun(const RequestContext& ctx, const StartRunRequest& request, StartRunDone done);
  // `workflow_id`, when given, must match the run's (workflow-scoped routes).
  Result<RunRecord> GetRun(const RequestContext& ctx, const std::string& run_id,
                           const std::string& workflow_id = "");
  Result<RunPage> ListRuns(const RequestContext& ctx, const RunFilter& filter);
  Result<RunRecord> Control(const RequestContext& ctx, const std::string& run_id,
                            const ControlRequest& request, const std::string& workflow_id = "");
  // Control without holding the caller's thread while the change waits for the store's
  // writer: `done` gets the run once committed, or the error, on the committing thread
  // (the caller's own when the store is idle, else the writer's: hand the answer off
  // from there). `done` follows what follows the commit (as Control's return does).
  using ControlDone = std::function<void(Result<RunRecord>)>;
  void ControlAsync(const RequestContext& ctx, const std::string& run_id,
                    const ControlRequest& request, const std::string& workflow_id,
                    ControlDone done);
  // A change asked for now would wait for others' commits (Store::WriterBusy); when
  // false it commits at once, on the caller's thread.
  bool WriterBusy() { return store_.WriterBusy(); }
  // True when a waiting step took the event, false when it was buffered.
  Result<bool> SendEvent(const RequestContext& ctx, const std::string& run_id,
                         const std::string& event_type, const nlohmann::json& payload);
  // A new run of a finished run's workflow (control/rerun.h): kFailedPrecondition
  // (invalid_transition) for a run that is not finished, kNotFound for an unknown
  // version, kInvalidArgument (field from_step or version) for what the version cannot
  // run. A preview changes nothing and answers no run.
  Result<ReplayOutcome> Rerun(const RequestContext& ctx, const std::string& run_id,
                              const ReplayRequest& request);
  // Rerun with an empty request: the new run.
  Result<RunRecord> Replay(const RequestContext& ctx, const std::string& run_id);
  // Control and Replay prepared for a write of many runs (a bulk operation's batch),
  // which the caller commits. An error is the request's own, found before any write (a
  // replay of a run that is not finished). REQUIRES: this service outlives `decide` and
  // `finish`.
  Result<PreparedChange> PrepareBatchControl(const RequestContext& ctx, const std::string& run_id,
                                             const ControlRequest& request);
  Result<PreparedChange> PrepareBatchReplay(const RequestContext& ctx, const std::string& run_id);

  // Tokens, workspaces, audit.
  Result<CreatedToken> CreateToken(const RequestContext& ctx, Role role, const std::string& name);
  Result<std::vector<TokenRecord>> ListTokens(const RequestContext& ctx);
  Status RevokeToken(const RequestContext& ctx, const std::string& token_id);
  Result<std::vector<AuditEntry>> ListAudit(const RequestContext& ctx, const std::string& target,
                                            const std::string& cursor, int limit);

 private:
  AuditEntry Audit(const RequestContext& ctx, std::string action, std::string target,
                   std::string reason, std::string before, std::string after);
  // Cancels the active runs started by `run_id`'s steps, deepest first, with the reason
  // "parent run cancelled".
  void CancelDescendants(const RequestContext& ctx, const std::string& run_id);
  // False when the run's definition has no `workflow` step (no store read needed).
  bool MayHaveChildRuns(const RunRecord& run);
  // The connection a run is paused for (reauth), or "".
  static std::string ReauthConnectionOf(const RunRecord& run);
  // Before a resume: a run paused for a connection still in `error` may not resume
  // (ConnectionNeedsReauth). Answers the connection it is paused for, or "".
  Result<std::string> CheckReauthHold(const std::string& run_id);
  Result<RunRecord> LoadRun(const RequestContext& ctx, const std::string& run_id,
                            const std::string& workflow_id, bool with_steps);
  // A control's steps: checked before the write, decided in it, finished after it.
  struct ControlState;
  Result<std::shared_ptr<ControlState>> PrepareControl(const RequestContext& ctx,
                                                       const std::string& run_id,
                                                       const ControlRequest& request,
                                                       const std::string& workflow_id);
  Store::DecideTransition DecideControl(std::shared_ptr<ControlState> state);
  Result<RunRecord> FinishControl(ControlState& state, Result<RunRecord> after);
  // What follows a control's commit that changed the run (logs, tells the engine).
  void AfterControl(ControlState& state);
  // The new run that replays `run_id` (not yet created).
  Result<RunRecord> ReplayOf(const RequestContext& ctx, const std::string& run_id);
  // The version a rerun of `run` runs and its definition (kNotFound: no such version).
  Result<std::pair<int, std::shared_ptr<const Definition>>> RerunVersion(
      const RunRecord& run, const ReplayRequest& request);

  Store& store_;
  Engine& engine_;
  const Clock& clock_;
  IdSource& ids_;
  std::function<void()> retention_changed_;
};

}  // namespace sw
