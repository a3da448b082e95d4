#include "control/workflow_safety.h"

namespace sw {

Result<WorkflowRecord> ResumeWorkflow(ControlService& control, const RequestContext& ctx,
                                      const std::string& workflow_id) {
  Result<WorkflowRecord> workflow = control.GetWorkflow(ctx, workflow_id);
  if (!workflow.ok()) {
    return workflow.status();
  }
  return Status(StatusCode::kFailedPrecondition,
                "Workflow " + workflow_id + " is not paused for safety", "invalid_transition");
}

}  // namespace sw
