#include "control/workflow_safety.h"

#include "core/workflow_safety.h"

namespace sw {

Result<WorkflowRecord> ControlService::ResumeWorkflow(const RequestContext& ctx,
                                                      const std::string& workflow_id) {
  const std::string& ws = ctx.principal.workspace_id;
  Result<WorkflowRecord> resumed = store_.ClearWorkflowSafety(
      ws, workflow_id, std::string(kThroughputCapReason), clock_.NowMs(),
      Audit(ctx, "workflow.resume", workflow_id, "", "paused_safety", "active"));
  if (!resumed.ok()) {
    return resumed.status();
  }
  engine_.ReleaseWorkflow(ws, workflow_id);
  return resumed;
}

Result<WorkflowRecord> ResumeWorkflow(ControlService& control, const RequestContext& ctx,
                                      const std::string& workflow_id) {
  return control.ResumeWorkflow(ctx, workflow_id);
}

}  // namespace sw
