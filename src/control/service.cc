#include "control/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "control/script_runner.h"
#include "core/cursor.h"
#include "core/definition.h"
#include "core/expression.h"
#include "core/ids.h"
#include "core/lifecycle.h"
#include "core/time_format.h"

namespace sw {

using nlohmann::json;

namespace {

// Bound on re-reading a run whose version moved under a control request.
constexpr int kMaxControlRetries = 32;

// `run`'s identity, workflow, status and parent, without its steps and documents.
RunRecord IdentityOf(const RunRecord& run) {
  RunRecord out;
  out.id = run.id;
  out.workspace_id = run.workspace_id;
  out.workflow_id = run.workflow_id;
  out.workflow_version = run.workflow_version;
  out.status = run.status;
  out.version = run.version;
  out.parent_run_id = run.parent_run_id;
  out.parent_path = run.parent_path;
  return out;
}

}  // namespace

ControlService::ControlService(Store& store, Engine& engine, const Clock& clock, IdSource& ids)
    : store_(store), engine_(engine), clock_(clock), ids_(ids) {}

AuditEntry ControlService::Audit(const RequestContext& ctx, std::string action, std::string target,
                                 std::string reason, std::string before, std::string after) {
  AuditEntry a;
  a.id = ids_.Next("aud");
  a.workspace_id = ctx.principal.workspace_id;
  a.at = clock_.NowMs();
  a.actor = ctx.principal.actor();
  a.action = std::move(action);
  a.target = std::move(target);
  a.reason = std::move(reason);
  a.request_id = ctx.request_id;
  a.status_before = std::move(before);
  a.status_after = std::move(after);
  return a;
}

// --- workflows ---

Result<PutWorkflowResult> ControlService::ApplyWorkflow(const RequestContext& ctx,
                                                        const std::string& workflow_id,
                                                        const json& body) {
  if (!IsValidSlug(workflow_id)) {
    return InvalidArgument("workflow id '" + workflow_id + "' must match [a-z0-9][a-z0-9-]{0,62}");
  }
  Result<std::shared_ptr<const Definition>> def = ParseDefinition(body, workflow_id);
  if (!def.ok()) {
    return def.status();
  }
  if (const StepDef* shell = (*def)->FindStepWith(&StepTraits::needs_shell);
      shell != nullptr && !engine_.AllowsShell()) {
    return Status(
        StatusCode::kInvalidArgument,
        "step '" + shell->id + "': shell steps need a server started with --allow-shell",
        ErrorDetail{.reason = "invalid_definition", .step_id = shell->id, .field = "type"});
  }
  json stored = body;
  stored["id"] = workflow_id;
  WorkflowRecord wf;
  wf.workspace_id = ctx.principal.workspace_id;
  wf.id = workflow_id;
  wf.kind = std::string(ToString((*def)->kind));
  wf.mode = std::string(ToString((*def)->mode));
  wf.definition = stored;
  wf.created_at = wf.updated_at = clock_.NowMs();
  Result<WorkflowRecord> before = store_.GetWorkflow(wf.workspace_id, workflow_id);
  return store_.PutWorkflow(
      wf, Audit(ctx, "workflow.apply", workflow_id, "",
                before.ok() ? "v" + std::to_string(before->version) : "", "applied"));
}

Result<WorkflowRecord> ControlService::GetWorkflow(const RequestContext& ctx,
                                                   const std::string& workflow_id) {
  return store_.GetWorkflow(ctx.principal.workspace_id, workflow_id);
}

Result<std::vector<WorkflowRecord>> ControlService::ListWorkflows(const RequestContext& ctx) {
  return store_.ListWorkflows(ctx.principal.workspace_id);
}

Result<WorkflowRecord> ControlService::SetWorkflowStatus(const RequestContext& ctx,
                                                         const std::string& workflow_id,
                                                         const std::string& status) {
  if (status != "active" && status != "disabled") {
    return InvalidArgument("'status' must be 'active' or 'disabled'");
  }
  Result<WorkflowRecord> before = store_.GetWorkflow(ctx.principal.workspace_id, workflow_id);
  if (!before.ok()) {
    return before.status();
  }
  return store_.SetWorkflowStatus(
      ctx.principal.workspace_id, workflow_id, status, clock_.NowMs(),
      Audit(ctx, "workflow.status", workflow_id, "", before->status, status));
}

Result<json> ControlService::Invoke(const RequestContext& ctx, const std::string& workflow_id,
                                    const json& input) {
  Result<WorkflowRecord> wf = store_.GetWorkflow(ctx.principal.workspace_id, workflow_id);
  if (!wf.ok()) {
    return wf.status();
  }
  if (wf->kind != "script") {
    return InvalidArgument("workflow '" + workflow_id +
                           "' is kind 'workflow': start a run with POST "
                           "/api/v1/workflows/" +
                           workflow_id + "/runs");
  }
  if (wf->status == "disabled") {
    return Status(StatusCode::kFailedPrecondition, "workflow '" + workflow_id + "' is disabled",
                  "workflow_disabled");
  }
  Result<std::shared_ptr<const Definition>> def =
      engine_.LoadDefinition(wf->workspace_id, wf->id, wf->version);
  if (!def.ok()) {
    return def.status();
  }
  return RunScript(**def, input, wf->workspace_id, engine_.Services(nullptr));
}

// --- runs ---

void ControlService::StartRun(const RequestContext& ctx, const StartRunRequest& request,
                              StartRunDone done) {
  Result<WorkflowRecord> wf = store_.GetWorkflow(ctx.principal.workspace_id, request.workflow_id,
                                                 /*with_definition=*/false);
  if (!wf.ok()) {
    return done(wf.status());
  }
  if (wf->kind == "script") {
    return done(InvalidArgument("workflow '" + wf->id +
                                "' is kind 'script': it has no runs; call POST /api/v1/workflows/" +
                                wf->id + "/invoke"));
  }
  if (wf->status == "disabled") {
    return done(Status(StatusCode::kFailedPrecondition,
                       "workflow '" + wf->id + "' is disabled and accepts no new runs",
                       "workflow_disabled"));
  }
  if (request.workflow_version && *request.workflow_version != wf->version) {
    Result<json> def = store_.GetDefinition(wf->workspace_id, wf->id, *request.workflow_version);
    if (!def.ok()) {
      return done(def.status().code() == StatusCode::kNotFound
                      ? NotFound("No version " + std::to_string(*request.workflow_version) +
                                 " of workflow " + wf->id)
                      : def.status());
    }
    if (def->value("kind", "workflow") == "script") {
      return done(InvalidArgument("version " + std::to_string(*request.workflow_version) +
                                      " of workflow '" + wf->id +
                                      "' is kind 'script': it has "
                                      "no runs",
                                  {.field = "workflow_version"}));
    }
  }
  const int64_t now = clock_.NowMs();
  RunRecord run;
  run.id = ids_.Next("run");
  run.workspace_id = ctx.principal.workspace_id;
  run.workflow_id = wf->id;
  run.workflow_version = request.workflow_version.value_or(wf->version);
  run.status = RunStatus::kPending;
  run.version = 1;
  run.input = request.input;
  run.trigger = json{{"kind", request.trigger_kind}, {"actor", ctx.principal.actor()}};
  run.created_at = run.updated_at = now;
  std::optional<IdempotencyKey> key;
  if (request.idempotency_key) {
    json fingerprint = {
        {"workflow_id", wf->id}, {"kind", request.trigger_kind}, {"input", request.input}};
    if (request.workflow_version) {
      fingerprint["workflow_version"] = *request.workflow_version;
    }
    key = IdempotencyKey{*request.idempotency_key, HashToken(fingerprint.dump()),
                         now - kIdempotencyWindowMs};
  }
  // The engine creates it: a run whose first steps are pure is planned before the
  // create, and they ride in its commit (the answer may show the run further along).
  engine_.StartNew(
      std::move(run), std::move(key),
      [done = std::move(done), actor = ctx.principal.actor(),
       request_id = ctx.request_id](Result<CreateRunResult> created) {
        if (created.ok() && !created->replayed) {
          spdlog::debug(
              "event=run.start run={} workflow={} version={} status={} actor={} "
              "request_id={}",
              created->run.id, created->run.workflow_id, created->run.workflow_version,
              ToString(created->run.status), actor, request_id);
        }
        done(std::move(created));  // may let the caller go: nothing of `this` from here
      });
}

Result<RunRecord> ControlService::LoadRun(const RequestContext& ctx, const std::string& run_id,
                                          const std::string& workflow_id, bool with_steps) {
  Result<RunRecord> run = store_.GetRun(run_id, with_steps);
  if (!run.ok() && run.status().code() == StatusCode::kUnavailable) {
    return run.status();  // the store could not look (the database out of reach): 503
  }
  if (!run.ok() || run->workspace_id != ctx.principal.workspace_id ||
      (!workflow_id.empty() && run->workflow_id != workflow_id)) {
    return NotFound("workflow run " + run_id + " not found");
  }
  return run;
}

Result<RunRecord> ControlService::GetRun(const RequestContext& ctx, const std::string& run_id,
                                         const std::string& workflow_id) {
  return LoadRun(ctx, run_id, workflow_id, /*with_steps=*/true);
}

Result<RunPage> ControlService::ListRuns(const RequestContext& ctx, const RunFilter& filter) {
  return store_.ListRuns(ctx.principal.workspace_id, filter);
}

// One control between its decision, made inside the store's write, and what follows
// its commit. Shared by the decision and the completion (either may outlive the other).
struct ControlService::ControlState {
  RequestContext ctx;
  std::string run_id;
  ControlRequest request;
  std::string workflow_id;
  int64_t now = 0;
  std::string connection_checked;
  // Set by the decision when it changes the run: the run as decided on, without its
  // steps and documents (what follows the commit reads only its identity, workflow,
  // status and parent).
  std::optional<RunRecord> before;
  RunStatus next = RunStatus::kPending;
  std::string reason;
};

Result<std::shared_ptr<ControlService::ControlState>> ControlService::PrepareControl(
    const RequestContext& ctx, const std::string& run_id, const ControlRequest& request,
    const std::string& workflow_id) {
  auto state = std::make_shared<ControlState>();
  state->ctx = ctx;
  state->run_id = run_id;
  state->request = request;
  state->workflow_id = workflow_id;
  state->now = clock_.NowMs();
  if (request.action == RunAction::kResume) {
    Result<std::string> checked = CheckReauthHold(run_id);
    if (!checked.ok()) {
      return checked.status();
    }
    state->connection_checked = *checked;
  }
  return state;
}

Store::DecideTransition ControlService::DecideControl(std::shared_ptr<ControlState> state) {
  // Decided on the run as the store has it at the write, so the answer is never a lost
  // race: a precondition that does not hold is the caller's stale view.
  return [this, state](const RunRecord& run) -> Result<std::optional<RunTransition>> {
    const ControlRequest& request = state->request;
    const std::string& run_id = state->run_id;
    if (run.workspace_id != state->ctx.principal.workspace_id ||
        (!state->workflow_id.empty() && run.workflow_id != state->workflow_id)) {
      return NotFound("workflow run " + run_id + " not found");
    }
    if (request.action == RunAction::kResume &&
        ReauthConnectionOf(run) != state->connection_checked) {
      return StateChanged(run.status, run.version);  // held again since it was checked
    }
    if ((request.expected_version && *request.expected_version != run.version) ||
        (request.expected_status && *request.expected_status != run.status) ||
        (!request.expected_status_in.empty() &&
         std::find(request.expected_status_in.begin(), request.expected_status_in.end(),
                   run.status) == request.expected_status_in.end())) {
      return StateChanged(run.status, run.version);
    }
    Result<ActionOutcome> outcome =
        DecideAction(run_id, run.status, request.action, run.paused_from, InRetryBackoff(run));
    if (!outcome.ok()) {
      return outcome.status();
    }
    if (outcome->noop) {
      return std::optional<RunTransition>();
    }
    const int64_t now = state->now;
    RunTransition t;
    t.next_status = outcome->next;
    t.now = now;
    const json by = state->ctx.principal.actor();
    std::string reason;
    switch (request.action) {
      case RunAction::kPause:
        t.paused_from = run.status;
        t.pause =
            json{{"reason", ToString(PauseReason::kOperator)}, {"by", by}, {"at", FormatTime(now)}};
        break;
      case RunAction::kResume:
        t.pause = json();
        break;
      case RunAction::kCancel:
        reason = request.reason.empty() ? kDefaultCancelReason : request.reason;
        t = CancelTransition(run, json{{"reason", reason}, {"by", by}, {"at", FormatTime(now)}},
                             now);
        break;
    }
    t.audit = Audit(state->ctx, "run." + std::string(ToString(request.action)), run_id, reason,
                    std::string(ToString(run.status)), std::string(ToString(outcome->next)));
    state->before = IdentityOf(run);
    state->next = outcome->next;
    state->reason = std::move(reason);
    return std::optional<RunTransition>(std::move(t));
  };
}

Result<RunRecord> ControlService::FinishControl(ControlState& state, Result<RunRecord> after) {
  const std::string& run_id = state.run_id;
  if (!after.ok()) {
    return after.status().code() == StatusCode::kNotFound
               ? NotFound("workflow run " + run_id + " not found")
               : after.status();
  }
  if (!state.before) {
    return after;  // nothing to do (e.g. pausing a paused run)
  }
  AfterControl(state);
  return after;
}

void ControlService::AfterControl(ControlState& state) {
  const std::string& run_id = state.run_id;
  const RequestContext& ctx = state.ctx;
  const RunAction action = state.request.action;
  spdlog::info("event=run.{} run={} workflow={} from={} to={} actor={} request_id={}{}{}",
               ToString(action), run_id, state.before->workflow_id, ToString(state.before->status),
               ToString(state.next), ctx.principal.actor(), ctx.request_id,
               state.reason.empty() ? "" : " reason=", state.reason);
  if (action == RunAction::kCancel) {
    engine_.OnCancelled(run_id);
    if (MayHaveChildRuns(*state.before)) {
      CancelDescendants(ctx, run_id);
    }
    engine_.OnRunEnded(*state.before, RunStatus::kCancelled, state.now);
  } else if (action == RunAction::kResume) {
    engine_.Drive(run_id);
    if (state.next == RunStatus::kWaiting) {
      // Back to a retry's back-off: its timer may have come due while paused.
      engine_.PokeTimers();
    }
  }
}

Result<RunRecord> ControlService::Control(const RequestContext& ctx, const std::string& run_id,
                                          const ControlRequest& request,
                                          const std::string& workflow_id) {
  Result<std::shared_ptr<ControlState>> state = PrepareControl(ctx, run_id, request, workflow_id);
  if (!state.ok()) {
    return state.status();
  }
  Result<RunRecord> after = store_.UpdateRun(run_id, DecideControl(*state),
                                             {.steps_to_decide = false, .steps_in_answer = true});
  return FinishControl(**state, std::move(after));
}

void ControlService::ControlAsync(const RequestContext& ctx, const std::string& run_id,
                                  const ControlRequest& request, const std::string& workflow_id,
                                  ControlDone done) {
  Result<std::shared_ptr<ControlState>> prepared =
      PrepareControl(ctx, run_id, request, workflow_id);
  if (!prepared.ok()) {
    done(prepared.status());
    return;
  }
  std::shared_ptr<ControlState> state = std::move(prepared).value();
  store_.UpdateRunAsync(
      run_id, DecideControl(state), {.steps_to_decide = false, .steps_in_answer = true},
      Store::Waiter::kControl, [this, state, done = std::move(done)](Result<RunRecord> after) {
        done(FinishControl(*state, std::move(after)));
      });
}

Result<PreparedChange> ControlService::PrepareBatchControl(const RequestContext& ctx,
                                                           const std::string& run_id,
                                                           const ControlRequest& request) {
  Result<std::shared_ptr<ControlState>> prepared = PrepareControl(ctx, run_id, request, "");
  if (!prepared.ok()) {
    return prepared.status();
  }
  std::shared_ptr<ControlState> state = std::move(prepared).value();
  // The write decides once more if it is applied again: `before` is then the run it
  // last decided on, which is the one committed.
  return PreparedChange{DecideControl(state), std::nullopt, [this, state] {
                          if (state->before) {
                            AfterControl(*state);
                          }
                        }};
}

std::string ControlService::ReauthConnectionOf(const RunRecord& run) {
  if (run.status != RunStatus::kPaused || !run.pause.is_object() ||
      ParsePauseReason(run.pause.value("reason", "")) != PauseReason::kReauth) {
    return "";
  }
  return run.pause.value("connection_id", "");
}

Result<std::string> ControlService::CheckReauthHold(const std::string& run_id) {
  Result<RunRecord> run = store_.GetRun(run_id, /*with_steps=*/false);
  if (!run.ok()) {
    return std::string();  // the write answers for a run that is not there
  }
  const std::string connection_id = ReauthConnectionOf(*run);
  if (connection_id.empty()) {
    return connection_id;
  }
  Result<ConnectionRecord> connection = store_.GetConnection(connection_id);
  if (connection.ok() && connection->status == ConnectionStatus::kError) {
    return ConnectionNeedsReauth(connection_id);
  }
  return connection_id;  // active again, or deleted (the step then fails with the reason)
}

bool ControlService::MayHaveChildRuns(const RunRecord& run) {
  Result<std::shared_ptr<const Definition>> def =
      engine_.LoadDefinition(run.workspace_id, run.workflow_id, run.workflow_version);
  return !def.ok() || (*def)->FindStepWith(&StepTraits::starts_child_runs) != nullptr;
}

void ControlService::CancelDescendants(const RequestContext& ctx, const std::string& run_id) {
  Result<std::vector<std::string>> children = store_.ActiveChildRuns(run_id);
  if (!children.ok()) {
    spdlog::error("run {}: cannot list its child runs: {}", run_id, children.status().message());
    return;
  }
  for (const std::string& child : *children) {
    CancelDescendants(ctx, child);  // leaves first
    ControlRequest cancel;
    cancel.action = RunAction::kCancel;
    cancel.reason = "parent run cancelled";
    if (Result<RunRecord> r = Control(ctx, child, cancel, ""); !r.ok()) {
      spdlog::warn("run {}: cancelling child run {} failed: {}", run_id, child,
                   r.status().message());
    }
  }
}

Result<bool> ControlService::SendEvent(const RequestContext& ctx, const std::string& run_id,
                                       const std::string& event_type, const json& payload) {
  for (int attempt = 0; attempt < kMaxControlRetries; ++attempt) {
    Result<RunRecord> run = LoadRun(ctx, run_id, "", false);
    if (!run.ok()) {
      return run.status();
    }
    if (IsTerminal(run->status)) {
      return Status(StatusCode::kFailedPrecondition,
                    "Cannot send an event to workflow run " + run_id + " with status " +
                        std::string(ToString(run->status)),
                    "invalid_transition");
    }
    const int64_t now = clock_.NowMs();
    const json& wait = run->wait;
    if (WaitTakesEvent(run->status, WaitKindOf(*run),
                       wait.is_object() ? wait.value("event_type", "") : "", event_type)) {
      StepRecord row;
      row.path = wait.value("path", "");
      row.step_id = wait.value("step_id", "");
      row.type = "wait_for_event";
      row.status = StepStatus::kCompleted;
      row.output = json{{"payload", payload}};
      Result<int64_t> committed =
          store_.TransitionRun(WakeWithStepResult(*run, std::move(row), now));
      if (committed.ok()) {
        engine_.Drive(run_id);
        return true;
      }
      if (committed.status().code() != StatusCode::kAborted) {
        return committed.status();
      }
      continue;
    }
    EventRecord event;
    event.run_id = run_id;
    event.event_type = event_type;
    event.payload = payload;
    event.created_at = now;
    Status buffered = store_.BufferEvent(run_id, run->version, event);
    if (buffered.ok()) {
      return false;
    }
    if (buffered.code() != StatusCode::kAborted) {
      return buffered;
    }
  }
  return Status(StatusCode::kUnavailable, "the run kept changing; try again", "unavailable");
}

// --- tokens, workspaces, audit ---

Result<CreatedToken> ControlService::CreateToken(const RequestContext& ctx, Role role,
                                                 const std::string& name) {
  CreatedToken out;
  out.secret = NewTokenSecret();
  out.record.id = ids_.Next("tok");
  out.record.workspace_id = ctx.principal.workspace_id;
  out.record.name = name;
  out.record.role = role;
  out.record.hash = HashToken(out.secret);
  out.record.created_at = clock_.NowMs();
  Status s = store_.CreateToken(
      out.record, Audit(ctx, "token.create", out.record.id, name, "", std::string(ToString(role))));
  if (!s.ok()) {
    return s;
  }
  return out;
}

Result<std::vector<TokenRecord>> ControlService::ListTokens(const RequestContext& ctx) {
  return store_.ListTokens(ctx.principal.workspace_id);
}

Status ControlService::RevokeToken(const RequestContext& ctx, const std::string& token_id) {
  return store_.RevokeToken(ctx.principal.workspace_id, token_id, clock_.NowMs(),
                            Audit(ctx, "token.revoke", token_id, "", "active", "revoked"));
}

Result<std::vector<AuditEntry>> ControlService::ListAudit(const RequestContext& ctx,
                                                          const std::string& target,
                                                          const std::string& cursor, int limit) {
  return store_.ListAudit(ctx.principal.workspace_id, target, cursor, limit);
}

Result<CreatedToken> CreateWorkspace(Store& store, IdSource& ids, const Clock& clock,
                                     const std::string& slug, const std::string& secret) {
  if (!IsValidSlug(slug)) {
    return InvalidArgument("workspace slug '" + slug + "' must match [a-z0-9][a-z0-9-]{0,62}");
  }
  WorkspaceRecord ws{ids.Next("ws"), slug, clock.NowMs()};
  Result<WorkspaceRecord> created = store.CreateWorkspace(ws);
  if (!created.ok()) {
    return created.status();
  }
  CreatedToken out;
  out.secret = secret.empty() ? NewTokenSecret() : secret;
  out.record.id = ids.Next("tok");
  out.record.workspace_id = ws.id;
  out.record.name = "admin";
  out.record.role = Role::kAdmin;
  out.record.hash = HashToken(out.secret);
  out.record.created_at = ws.created_at;
  Status s = store.CreateToken(out.record, std::nullopt);
  if (!s.ok()) {
    return s;
  }
  return out;
}

}  // namespace sw
