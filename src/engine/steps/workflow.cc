// workflow: starts a child run (created in the same commit that parks this run) and
// takes its output when it ends. Cancelling this run or timing out the step cancels the
// child's tree.
#include "core/time_format.h"
#include "engine/steps/step_executor.h"

namespace sw {
namespace {

using nlohmann::json;

// Why the child's workflow cannot start a run; empty when it can.
std::string Refusal(const Result<WorkflowRecord>& wf, const std::string& workflow_id) {
  if (!wf.ok()) {
    return "workflow '" + workflow_id + "' not found";
  }
  if (wf->kind != "workflow") {
    return "workflow '" + workflow_id + "' is a script, not a workflow";
  }
  if (wf->status == "disabled") {
    return "workflow '" + workflow_id + "' is disabled";
  }
  return "";
}

json ChildWait(const std::string& child_id, const std::string& workflow_id) {
  return {{"child_run_id", child_id}, {"workflow_id", workflow_id}};
}

// The child ended other than completed: the attempt failed, or (when our own parent
// ended, which cancels the tree leaves first) this run is cancelled too.
void OnChildNotCompleted(const std::shared_ptr<StepContext>& ctx, const std::string& child_id,
                         const Result<RunRecord>& child) {
  StepServices services = ctx->services();
  const RunRecord& run = ctx->run();
  if (child.ok() && child->status == RunStatus::kCancelled && !run.parent_run_id.empty()) {
    Result<RunRecord> parent = services.store.GetRun(run.parent_run_id, false);
    if (parent.ok() && IsTerminal(parent->status)) {
      json by = parent->cancel.is_object() ? parent->cancel.value("by", json())
                                           : json("run:" + parent->id);
      ctx->EndCancelled(json{{"reason", child->cancel.value("reason", "parent run cancelled")},
                             {"by", by},
                             {"at", FormatTime(services.clock.NowMs())}});
      return;
    }
  }
  std::string message = "child run " + child_id + " was not found";
  std::string code = "child_failed";
  if (child.ok() && child->status == RunStatus::kCancelled) {
    code = "child_cancelled";
    message = "child run " + child_id + " was cancelled";
  } else if (child.ok()) {
    message = "child run " + child_id +
              " failed: " + child->error.value("message", std::string("no message"));
  }
  ctx->FailAttempt(StepError(message, code, ctx->step().id), nullptr, CommitPhase::kBeforeWork);
}

class WorkflowExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const json& with) const override {
    StepServices services = ctx->services();
    const RunRecord& run = ctx->run();
    const std::string workflow_id = with["workflow"].get<std::string>();
    Result<WorkflowRecord> wf = services.store.GetWorkflow(run.workspace_id, workflow_id,
                                                           /*with_definition=*/false);
    if (std::string refused = Refusal(wf, workflow_id); !refused.empty()) {
      ctx->FailRun(StepError(refused, "child_not_startable", ctx->step().id));
      return;
    }
    const int64_t now = services.clock.NowMs();
    RunRecord child;
    child.id = services.ids.Next("run");
    child.workspace_id = run.workspace_id;
    child.workflow_id = workflow_id;
    child.workflow_version = wf->version;
    child.input =
        with.contains("input") && !with["input"].is_null() ? with["input"] : json::object();
    child.trigger = {{"kind", "workflow"}, {"actor", "run:" + run.id}, {"parent_run_id", run.id}};
    child.parent_run_id = run.id;
    child.parent_path = ctx->path();
    child.created_at = child.updated_at = now;
    ctx->detail()["child_run_id"] = child.id;
    ParkRequest park;
    park.kind = WaitKind::kChild;
    park.wait = ChildWait(child.id, workflow_id);
    park.bounded_by_step_timeout = true;
    park.after = [spawner = services.spawner, child] { spawner->DriveNew(child); };
    park.with.create_run = std::move(child);
    ctx->Park(std::move(park));
  }

  bool Resume(const std::shared_ptr<StepContext>& ctx) const override {
    if (!ctx->detail().contains("child_run_id")) {
      return false;
    }
    const std::string child_id = ctx->detail()["child_run_id"].get<std::string>();
    Result<RunRecord> child = ctx->services().store.GetRun(child_id, false);
    if (child.ok() && !IsTerminal(child->status)) {
      ParkRequest park;
      park.kind = WaitKind::kChild;
      park.wait = ChildWait(child_id, child->workflow_id);
      park.bounded_by_step_timeout = true;
      ctx->Park(std::move(park));
    } else if (child.ok() && child->status == RunStatus::kCompleted) {
      ctx->Complete(child->output, CommitPhase::kBeforeWork);
    } else {
      OnChildNotCompleted(ctx, child_id, child);
    }
    return true;
  }

  void StopWork(StepContext& ctx) const override {
    if (!ctx.detail().contains("child_run_id")) {
      return;
    }
    ctx.services().spawner->CancelRunTree(
        ctx.detail()["child_run_id"].get<std::string>(), ctx.run().id,
        "step '" + ctx.step().id + "' of the parent run timed out");
  }
};

}  // namespace

const StepExecutor& WorkflowStepExecutor() {
  static const WorkflowExecutor executor;
  return executor;
}

}  // namespace sw
