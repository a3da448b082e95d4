// The workspace's billing settings as the API reads and writes them
// (`GET/PUT /api/v1/billing`): amounts are JSON numbers in the currency's main unit
// with at most 6 decimals (core/billing.h keeps them as integer micros).
//
// Pure functions; the ControlService methods that use them live in control/billing.cc.
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "store/billing_records.h"

namespace sw {

// `{"spend_cap", "soft_threshold", "prices", "currency"}`, each optional: kInvalidArgument
// naming the field (detail.field, e.g. "prices.http") for an unknown key or step type, a
// wrong type, a negative amount, more than 6 decimals, a threshold outside (0, 1] or a
// currency that is not three capital letters. Fills the settings of `into`.
Status ParseBillingUpdate(const nlohmann::json& body, BillingUpdate& into);

// The API's billing object as of `now` (the period holding it).
nlohmann::json BillingJson(const BillingRecord& b);

}  // namespace sw
