#include "control/billing.h"

#include "control/service.h"

namespace sw {

using json = nlohmann::json;

Result<BillingRecord> ControlService::GetBilling(const RequestContext& ctx) {
  return store_.GetBilling(ctx.principal.workspace_id, clock_.NowMs());
}

Result<BillingRecord> ControlService::UpdateBilling(const RequestContext& ctx, const json& body) {
  BillingUpdate update;
  if (Status s = ParseBillingUpdate(body, update); !s.ok()) {
    return s;
  }
  update.workspace_id = ctx.principal.workspace_id;
  update.now = clock_.NowMs();
  std::string what;
  for (const auto& [key, value] : body.items()) {
    what += (what.empty() ? "" : ", ") + key + " " + value.dump();
  }
  update.audit = Audit(ctx, "billing.update", "billing", what, "", "");
  Result<BillingRecord> updated = store_.UpdateBilling(update);
  if (!updated.ok()) {
    return updated;
  }
  engine_.BillingChanged(update.workspace_id);
  return updated;
}

}  // namespace sw
