// Retention: the workspace's limits on finished runs (the sweep is engine/
// retention_sweeper.h).

#include "api/routes.h"
#include "control/retention.h"

namespace sw::routes {

void GetRetention(ApiContext& api, Call& call) {
  Result<RetentionSettings> r = api.control.GetRetention(call.ctx);
  r.ok() ? call.Reply(200, RetentionJson(*r)) : call.Fail(r.status());
}

void PutRetention(ApiContext& api, Call& call) {
  if (!call.ParseObject({"finished_runs_max_age", "finished_runs_max_count"}, true)) return;
  Result<RetentionSettings> r = api.control.UpdateRetention(call.ctx, call.body);
  r.ok() ? call.Reply(200, RetentionJson(*r)) : call.Fail(r.status());
}

}  // namespace sw::routes
