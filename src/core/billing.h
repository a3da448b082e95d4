// Spend: amounts of money, the billing period, prices of step attempts and the two
// stages of the spend cap (near the cap; at the cap). Amounts are integers of
// millionths of the currency's main unit ("micros"): the API's JSON numbers carry at
// most 6 decimals, so every amount is kept exactly and sums never drift.
//
// Pure: no I/O or clocks; times come in as parameters. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sw {

inline constexpr int64_t kMicrosPerUnit = 1000000;
// The largest amount accepted (a cap, a price, a sum): 10^12 main units.
inline constexpr int64_t kMaxAmountMicros = int64_t{1000000000000} * kMicrosPerUnit;
inline constexpr std::string_view kDefaultPriceKey = "default";
inline constexpr std::string_view kDefaultCurrency = "USD";
inline constexpr int64_t kDefaultSoftThresholdPpm = 800000;  // 0.8 of the cap

// The price of one step attempt by step type, and `default` for the others; every
// price not set is 0.
using Prices = std::map<std::string, int64_t, std::less<>>;
int64_t PriceOf(const Prices& prices, std::string_view step_type);

// A JSON number with at most 6 decimals, 0 <= x <= kMaxAmountMicros, as micros. Errors
// name `field`.
Result<int64_t> ParseAmount(const nlohmann::json& value, std::string_view field);
// The amount as the API writes it: an integer when whole, else the shortest decimal.
nlohmann::json AmountJson(int64_t micros);
// "12.5 USD".
std::string FormatAmount(int64_t micros, std::string_view currency);

// A fraction in (0, 1] with at most 6 decimals, as parts per million.
Result<int64_t> ParseFraction(const nlohmann::json& value, std::string_view field);

// Whether `spend` reached `ppm` millionths of `cap`, exactly.
bool ReachedFraction(int64_t spend, int64_t cap, int64_t ppm);

// The billing period holding `now_ms`: the calendar month in UTC, [start, end).
int64_t PeriodStart(int64_t now_ms);
int64_t PeriodEnd(int64_t now_ms);

// The spend of a workspace as of one moment: what is stored, its period rolled over
// when the moment is in a later one.
struct SpendState {
  std::optional<int64_t> cap;  // none: no cap
  int64_t soft_threshold_ppm = kDefaultSoftThresholdPpm;
  int64_t period_start = 0;  // the period `spend` counts in
  int64_t spend = 0;
  bool near_cap_notified = false;  // this period
  bool capped = false;             // a dispatch was refused this period at this cap

  // Starts the period of `now_ms` when it is a later one: nothing spent, no stage.
  void RollTo(int64_t now_ms);
  bool NearCap() const { return cap && ReachedFraction(spend, *cap, soft_threshold_ppm); }
  // Whether an attempt costing `price` would take the spend past the cap.
  bool Refuses(int64_t price) const { return cap && price > 0 && spend + price > *cap; }
  // Whether the cap no longer holds workflows: none, or above the spend.
  bool Releases() const { return !cap || *cap > spend; }
};

}  // namespace sw
