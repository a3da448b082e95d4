// ControlService's replays (API.md "Rerun from a step", docs/rerun.md): a finished run
// run again, from the start or from one of its steps, now or queued for a bulk
// operation (PrepareBatchReplay).
#include <spdlog/spdlog.h>

#include "control/rerun.h"
#include "control/service.h"
#include "core/time_format.h"

namespace sw {

using nlohmann::json;

namespace {

// Only a finished run is replayed: kFailedPrecondition (invalid_transition) otherwise.
Status Replayable(const RunRecord& run) {
  if (IsTerminal(run.status)) {
    return Status::Ok();
  }
  return Status(
      StatusCode::kFailedPrecondition,
      "Cannot replay workflow run " + run.id + " with status " + std::string(ToString(run.status)),
      "invalid_transition");
}

}  // namespace

Result<std::pair<int, std::shared_ptr<const Definition>>> ControlService::RerunVersion(
    const RunRecord& run, const ReplayRequest& request) {
  int version = request.workflow_version.value_or(run.workflow_version);
  if (request.latest_version) {
    Result<WorkflowRecord> wf = store_.GetWorkflow(run.workspace_id, run.workflow_id,
                                                   /*with_definition=*/false);
    if (!wf.ok()) {
      return wf.status();
    }
    version = wf->version;
  }
  Result<std::shared_ptr<const Definition>> def =
      engine_.LoadDefinition(run.workspace_id, run.workflow_id, version);
  if (!def.ok()) {
    return def.status().code() == StatusCode::kNotFound
               ? NotFound("No version " + std::to_string(version) + " of workflow " +
                          run.workflow_id)
               : def.status();
  }
  if ((*def)->kind == WorkflowKind::kScript) {
    return InvalidArgument("version " + std::to_string(version) + " of workflow '" +
                               run.workflow_id + "' is kind 'script': it has no runs",
                           {.field = "version"});
  }
  return std::make_pair(version, *def);
}

Result<ReplayOutcome> ControlService::Rerun(const RequestContext& ctx, const std::string& run_id,
                                            const ReplayRequest& request) {
  const bool from_step = request.from_step.has_value();
  Result<RunRecord> original = LoadRun(ctx, run_id, "", /*with_steps=*/from_step);
  if (!original.ok()) {
    return original.status();
  }
  if (Status s = Replayable(*original); !s.ok()) {
    return s;
  }
  Result<std::pair<int, std::shared_ptr<const Definition>>> version =
      RerunVersion(*original, request);
  if (!version.ok()) {
    return version.status();
  }
  std::string from_path;
  if (from_step) {
    Result<std::string> resolved = ResolveFromStep(*version->second, *request.from_step);
    if (!resolved.ok()) {
      return resolved.status();
    }
    from_path = *resolved;
  }
  const int64_t now = clock_.NowMs();
  RunRecord run;
  run.id = ids_.Next("run");
  run.workspace_id = original->workspace_id;
  run.workflow_id = original->workflow_id;
  run.workflow_version = version->first;
  run.input = request.input.value_or(original->input);
  run.trigger = json{{"kind", "replay"}, {"actor", ctx.principal.actor()}};
  run.replay_of = run_id;
  run.replay_from_step = from_path;
  run.created_at = run.updated_at = now;
  // What the run's expressions see as `run`, as the engine builds it (engine.cc).
  const json scope = {{"id", run.id},
                      {"workflow_id", run.workflow_id},
                      {"workflow_version", run.workflow_version},
                      {"created_at", FormatTime(run.created_at)}};
  Result<RerunPlan> plan =
      PlanRerun(version->second, run.input, scope, original->steps, from_path, now);
  if (!plan.ok()) {
    return plan.status();
  }
  ReplayOutcome out{std::nullopt, std::move(plan->kept), std::move(plan->will_run)};
  if (request.preview) {
    return out;
  }
  run.steps = std::move(plan->steps);
  Result<CreateRunResult> created = store_.CreateRun(run, std::nullopt);
  if (!created.ok()) {
    return created.status();
  }
  spdlog::debug("event=run.replay run={} replay_of={} version={} from_step={} kept={} actor={}",
                run.id, run_id, run.workflow_version, from_path, out.kept.size(),
                ctx.principal.actor());
  // The engine replays the copied rows into the run's cursor, as after a restart.
  engine_.DriveNew(created->run);
  out.run = std::move(created->run);  // with its copied steps: the answer shows them
  return out;
}

Result<RunRecord> ControlService::ReplayOf(const RequestContext& ctx, const std::string& run_id) {
  Result<RunRecord> original = LoadRun(ctx, run_id, "", /*with_steps=*/false);
  if (!original.ok()) {
    return original.status();
  }
  if (Status s = Replayable(*original); !s.ok()) {
    return s;
  }
  const int64_t now = clock_.NowMs();
  RunRecord run;
  run.id = ids_.Next("run");
  run.workspace_id = original->workspace_id;
  run.workflow_id = original->workflow_id;
  run.workflow_version = original->workflow_version;
  run.input = original->input;
  run.trigger = json{{"kind", "replay"}, {"actor", ctx.principal.actor()}};
  run.replay_of = run_id;
  run.created_at = run.updated_at = now;
  return run;
}

Result<RunRecord> ControlService::Replay(const RequestContext& ctx, const std::string& run_id) {
  Result<RunRecord> run = ReplayOf(ctx, run_id);
  if (!run.ok()) {
    return run.status();
  }
  Result<CreateRunResult> created = store_.CreateRun(*run, std::nullopt);
  if (!created.ok()) {
    return created.status();
  }
  engine_.DriveNew(created->run);
  return created->run;
}

Result<PreparedChange> ControlService::PrepareBatchReplay(const RequestContext& ctx,
                                                          const std::string& run_id) {
  Result<RunRecord> run = ReplayOf(ctx, run_id);
  if (!run.ok()) {
    return run.status();
  }
  return PreparedChange{nullptr, *run, [this, created = *run] { engine_.DriveNew(created); }};
}

}  // namespace sw
