#include "store/billing_records.h"

namespace sw {

NotificationRecord NearCapNotification(const BillingRecord& billing, const std::string& slug,
                                       std::string id, int64_t now) {
  const SpendState& s = billing.state;
  NotificationRecord n;
  n.id = std::move(id);
  n.workspace_id = billing.workspace_id;
  n.kind = "spend_near_cap";
  n.title = "Spend is near the cap";
  n.body = "Spend this period is " + FormatAmount(s.spend, billing.currency) + " of the " +
           FormatAmount(s.cap.value_or(0), billing.currency) +
           " cap. Nothing stops yet; at the cap, " +
           "no step is dispatched until the cap is raised or the period rolls over.";
  n.link = "/" + slug + "/billing";
  n.subject = {{"period_start", s.period_start}};
  n.created_at = now;
  return n;
}

}  // namespace sw
