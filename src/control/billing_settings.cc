#include <algorithm>
#include <cctype>

#include "control/billing.h"
#include "core/steps/step_kind.h"
#include "core/time_format.h"

namespace sw {

namespace {

using json = nlohmann::json;

Status Invalid(const std::string& field, const std::string& message) {
  return InvalidArgument(message, {.field = field});
}

// Prices are of step attempts: the kinds that execute, and `default`.
bool IsPricedStepType(std::string_view type) {
  if (type == kDefaultPriceKey) {
    return true;
  }
  const StepKind* kind = FindStepKind(type);
  return kind != nullptr && kind->traits().control == ControlFlow::kNone;
}

Status ParsePrices(const json& prices, Prices& into) {
  if (!prices.is_object()) {
    return Invalid("prices", "'prices' must be an object of step types and amounts");
  }
  for (const auto& [type, value] : prices.items()) {
    const std::string field = "prices." + type;
    if (!IsPricedStepType(type)) {
      return Invalid(
          field, "'" + field + "': '" + type + "' is not a step type that executes (or 'default')");
    }
    Result<int64_t> micros = ParseAmount(value, field);
    if (!micros.ok()) {
      return micros.status();
    }
    into[type] = *micros;
  }
  return Status::Ok();
}

bool IsCurrencyCode(const json& v) {
  if (!v.is_string()) {
    return false;
  }
  const std::string& s = v.get_ref<const std::string&>();
  return s.size() == 3 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

Status ParseBillingUpdate(const json& body, BillingUpdate& into) {
  if (!body.is_object()) {
    return Invalid("", "the body must be a JSON object");
  }
  for (const auto& [key, value] : body.items()) {
    if (key == "spend_cap") {
      if (value.is_null()) {
        into.spend_cap = std::optional<int64_t>();
        continue;
      }
      Result<int64_t> cap = ParseAmount(value, key);
      if (!cap.ok()) {
        return cap.status();
      }
      into.spend_cap = std::optional<int64_t>(*cap);
    } else if (key == "soft_threshold") {
      Result<int64_t> ppm = ParseFraction(value, key);
      if (!ppm.ok()) {
        return ppm.status();
      }
      into.soft_threshold_ppm = *ppm;
    } else if (key == "prices") {
      if (Status s = ParsePrices(value, into.prices); !s.ok()) {
        return s;
      }
    } else if (key == "currency") {
      if (!IsCurrencyCode(value)) {
        return Invalid(key, "'currency' must be a three-letter code in capitals, such as USD");
      }
      into.currency = value.get<std::string>();
    } else {
      return Invalid(key, "Unknown field '" + key + "'");
    }
  }
  return Status::Ok();
}

json BillingJson(const BillingRecord& b) {
  const SpendState& s = b.state;
  json prices = json::object();
  prices[std::string(kDefaultPriceKey)] = AmountJson(PriceOf(b.prices, kDefaultPriceKey));
  for (const auto& [type, micros] : b.prices) {
    prices[type] = AmountJson(micros);
  }
  return json{{"spend_cap", s.cap ? AmountJson(*s.cap) : json()},
              {"currency", b.currency},
              {"spend", AmountJson(s.spend)},
              {"soft_threshold", AmountJson(s.soft_threshold_ppm)},
              {"near_cap", s.NearCap()},
              {"capped", s.capped},
              {"period_start", FormatTime(s.period_start)},
              {"period_end", FormatTime(PeriodEnd(s.period_start))},
              {"prices", prices}};
}

}  // namespace sw
