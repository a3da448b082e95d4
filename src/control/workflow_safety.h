// The resume of a workflow paused for safety (`POST /api/v1/workflows/{wf}/resume`):
// a `throughput_cap` pause may be cleared by an admin, a `spend_cap` pause may not.
//
// Thread-safe (a stateless function over a thread-safe ControlService).
#pragma once

#include <string>

#include "control/service.h"
#include "core/result.h"
#include "store/records.h"

namespace sw {

// kNotFound for an unknown workflow; kFailedPrecondition (invalid_transition) for one
// that is not paused for safety or is paused for its spend cap. Otherwise the hold is
// cleared (audited), the workflow's dispatch windows start afresh and its held runs go on.
Result<WorkflowRecord> ResumeWorkflow(ControlService& control, const RequestContext& ctx,
                                      const std::string& workflow_id);

}  // namespace sw
