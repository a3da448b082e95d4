// The records of spend: a workspace's billing settings (cap, soft threshold, prices,
// currency) with the spend of its current period, a change of the settings, and the
// charge a run's transition carries for the step attempts it dispatches. Amounts are
// micros (core/billing.h); times are milliseconds since the Unix epoch. Value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/billing.h"
#include "store/notification_records.h"
#include "store/records.h"

namespace sw {

struct BillingRecord {
  std::string workspace_id;
  std::string currency = std::string(kDefaultCurrency);
  Prices prices;
  SpendState state;
  int64_t updated_at = 0;
};

// A change of the settings; fields left unset are kept. `prices` are merged by key.
struct BillingUpdate {
  std::string workspace_id;
  std::optional<std::string> currency;
  std::optional<std::optional<int64_t>> spend_cap;  // set to nullopt: no cap
  std::optional<int64_t> soft_threshold_ppm;
  Prices prices;
  int64_t now = 0;
  AuditEntry audit;
};

// What a run's transition adds to its workspace's spend: the prices of the step
// attempts it dispatches. Refused as a whole (kResourceExhausted, "spend_cap") when it
// would take the spend past the cap; then nothing of the transition is written.
struct SpendCharge {
  std::string workspace_id;
  int64_t amount = 0;
  int attempts = 0;  // how many priced attempts `amount` is the sum of (for the caller)
};

// The reason of a transition refused for its charge.
inline constexpr char kSpendCapRefused[] = "spend_cap";

// A workflow whose spend hold ended.
struct WorkflowRef {
  std::string workspace_id;
  std::string workflow_id;
};

// The notification of the soft stage, once per period: the spend reached the soft
// threshold of the cap. `slug`: the workspace's, for the link.
NotificationRecord NearCapNotification(const BillingRecord& billing, const std::string& slug,
                                       std::string id, int64_t now);

}  // namespace sw
