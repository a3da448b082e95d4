#include "control/script_invoker.h"

namespace sw {

void ScriptInvoker::Invoke(const RequestContext& ctx, const std::string& workflow_id,
                           nlohmann::json input, Done done) {
  pool_.Post([this, ctx, workflow_id, input = std::move(input), done = std::move(done)] {
    done(control_.Invoke(ctx, workflow_id, input));
  });
}

}  // namespace sw
