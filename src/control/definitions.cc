#include "control/definitions.h"

namespace sw {

Result<std::shared_ptr<const Definition>> DefinitionReader::ForRun(const RunRecord& run) {
  return engine_.LoadDefinition(run.workspace_id, run.workflow_id, run.workflow_version);
}

Result<nlohmann::json> DefinitionReader::Version(const RequestContext& ctx,
                                                 const std::string& workflow_id, int version) {
  return store_.GetDefinition(ctx.principal.workspace_id, workflow_id, version);
}

}  // namespace sw
