// Spend: the workspace's billing settings and the spend of the current period.

#include "api/routes.h"
#include "control/billing.h"

namespace sw::routes {

void GetBilling(ApiContext& api, Call& call) {
  Result<BillingRecord> billing = api.control.GetBilling(call.ctx);
  billing.ok() ? call.Reply(200, BillingJson(*billing)) : call.Fail(billing.status());
}

void PutBilling(ApiContext& api, Call& call) {
  if (!call.ParseObject({"spend_cap", "soft_threshold", "prices", "currency"}, true)) return;
  Result<BillingRecord> billing = api.control.UpdateBilling(call.ctx, call.body);
  billing.ok() ? call.Reply(200, BillingJson(*billing)) : call.Fail(billing.status());
}

}  // namespace sw::routes
