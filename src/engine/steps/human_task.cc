#include "engine/steps/human_task.h"

#include "core/time_format.h"

namespace sw {

using nlohmann::json;

void HumanTaskExecutor::Start(const std::shared_ptr<StepContext>& ctx, const json& with) const {
  StepServices services = ctx->services();
  const int64_t now = services.clock.NowMs();
  Result<HumanTaskRecord> opened = Open(with, now);
  if (!opened.ok()) {
    ctx->FailRun(StepError(opened.status().message(), "invalid_input", ctx->step().id));
    return;
  }
  HumanTaskRecord task = std::move(opened).value();
  const RunRecord& run = ctx->run();
  task.id = services.ids.Next(id_prefix());
  task.kind = kind();
  task.workspace_id = run.workspace_id;
  task.workflow_id = run.workflow_id;
  task.run_id = run.id;
  task.path = ctx->path();
  task.step_id = ctx->step().id;
  task.created_at = task.updated_at = now;
  ctx->detail()[wait_field()] = task.id;
  ParkOn(*ctx, task, /*create=*/true);
}

bool HumanTaskExecutor::Resume(const std::shared_ptr<StepContext>& ctx) const {
  if (!ctx->detail().contains(wait_field())) {
    return false;
  }
  Result<HumanTaskRecord> task =
      ctx->services().store.GetHumanTask(ctx->detail()[wait_field()].get<std::string>());
  if (!task.ok()) {
    return false;
  }
  Result<std::optional<HumanTaskResult>> result = ResultOf(*task);
  if (!result.ok()) {
    ctx->FailRun(StepError(result.status().message(), "internal", ctx->step().id));
  } else if (!result->has_value()) {
    ParkOn(*ctx, *task, /*create=*/false);
  } else if ((*result)->completes) {
    ctx->Complete((*result)->output, CommitPhase::kBeforeWork);
  } else {
    ctx->FailRun(StepError((*result)->error.value("message", ""),
                           (*result)->error.value("code", ""), ctx->step().id));
  }
  return true;
}

void HumanTaskExecutor::ParkOn(StepContext& ctx, const HumanTaskRecord& task, bool create) const {
  ParkRequest park;
  park.kind = wait_kind();
  park.wait[wait_field()] = task.id;
  if (task.expires_at > 0) {
    park.until = task.expires_at;
    park.timer = {TimerKind::kExpiry, task.expires_at};
  }
  if (create) {
    StepServices services = ctx.services();
    Result<WorkspaceRecord> ws = services.store.FindWorkspace(task.workspace_id);
    park.with.notify.push_back(
        TaskNotification(task, task.kind == kApprovalKind ? "approval_requested" : "form_requested",
                         ws.ok() ? ws->slug : "", services.ids.Next("ntf"), task.created_at));
    park.with.human_task = HumanTaskWrite{task, 0};
  }
  ctx.Park(std::move(park));
}

}  // namespace sw
