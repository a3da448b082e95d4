// The rows of spend (store/billing_records.h), for the store's own files: the
// billing row of a workspace as of a moment, and the charge a run's transition adds,
// applied in the transition's savepoint (a refused charge rolls the transition back).
//
// Not thread-safe, like the Connection they use.
#pragma once

#include <string>

#include "core/result.h"
#include "store/billing_records.h"
#include "store/sql/connection.h"

namespace sw::sql {

// The workspace's billing as of `now` (a later period rolled over, not written);
// defaults when it has no row.
Result<BillingRecord> SelectBilling(Connection& db, const std::string& workspace_id, int64_t now);
Status WriteBilling(Connection& db, const BillingRecord& b);

// Adds `charge` to its workspace's spend as of `now`: kResourceExhausted
// (kSpendCapRefused) when it would pass the cap. Answers whether it queued the
// near-cap notification (the soft stage, once per period).
Result<bool> ChargeSpend(Connection& db, const SpendCharge& charge, int64_t now);

// A server id ("ntf_…", "aud_…") for a row the store makes by itself.
std::string NewId(std::string_view prefix, int64_t now);

}  // namespace sw::sql
