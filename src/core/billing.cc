#include "core/billing.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <string>

namespace sw {

namespace {

using json = nlohmann::json;

Status BadAmount(std::string_view field, std::string_view what) {
  return InvalidArgument("'" + std::string(field) + "' " + std::string(what),
                         {.field = std::string(field)});
}

// Parses the shortest decimal form of `d` ("1.5", "2e-06", "1e+15") as micros; false
// when it has more than 6 decimals or is too large.
bool DecimalMicros(double d, int64_t& out) {
  char buf[64];
  std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  int exponent = 0;
  if (size_t e = s.find_first_of("eE"); e != std::string_view::npos) {
    std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exponent);
    s = s.substr(0, e);
  }
  std::string digits;
  int decimals = 0;
  bool after_point = false;
  for (char c : s) {
    if (c == '.') {
      after_point = true;
    } else {
      digits.push_back(c);
      decimals += after_point ? 1 : 0;
    }
  }
  decimals -= exponent;
  if (decimals > 6) {
    return false;
  }
  digits.append(static_cast<size_t>(6 - decimals), '0');
  if (digits.size() > 19) {
    return false;
  }
  unsigned long long v = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (v > static_cast<unsigned long long>(kMaxAmountMicros)) {
    return false;
  }
  out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

int64_t PriceOf(const Prices& prices, std::string_view step_type) {
  if (auto it = prices.find(step_type); it != prices.end()) {
    return it->second;
  }
  auto it = prices.find(kDefaultPriceKey);
  return it == prices.end() ? 0 : it->second;
}

Result<int64_t> ParseAmount(const json& value, std::string_view field) {
  if (!value.is_number()) {
    return BadAmount(field, "must be a number");
  }
  if (value.is_number_unsigned() || value.is_number_integer()) {
    if (value.is_number_integer() && value.get<int64_t>() < 0) {
      return BadAmount(field, "must not be negative");
    }
    const uint64_t units = value.get<uint64_t>();
    if (units > static_cast<uint64_t>(kMaxAmountMicros / kMicrosPerUnit)) {
      return BadAmount(field, "is too large");
    }
    return static_cast<int64_t>(units) * kMicrosPerUnit;
  }
  const double d = value.get<double>();
  if (!std::isfinite(d) || d < 0) {
    return BadAmount(field, "must not be negative");
  }
  int64_t micros = 0;
  if (!DecimalMicros(d, micros)) {
    return BadAmount(field, "must have at most 6 decimals and be at most 10^12");
  }
  return micros;
}

json AmountJson(int64_t micros) {
  if (micros % kMicrosPerUnit == 0) {
    return micros / kMicrosPerUnit;
  }
  // Read from its decimal digits, not divided: above 2^53 micros the division rounds
  // twice and lands beside the nearest double, which prints with stray decimals. The
  // nearest double prints back as the number (when a double can hold it at all).
  const std::string text = std::to_string(micros / kMicrosPerUnit) + "." +
                           std::to_string(kMicrosPerUnit + micros % kMicrosPerUnit).substr(1);
  double d = 0;
  std::from_chars(text.data(), text.data() + text.size(), d);
  return d;
}

std::string FormatAmount(int64_t micros, std::string_view currency) {
  return AmountJson(micros).dump() + " " + std::string(currency);
}

Result<int64_t> ParseFraction(const json& value, std::string_view field) {
  Result<int64_t> ppm = ParseAmount(value, field);
  if (!ppm.ok() || *ppm == 0 || *ppm > kMicrosPerUnit) {
    return BadAmount(field, "must be a number above 0 and at most 1, with at most 6 decimals");
  }
  return ppm;
}

bool ReachedFraction(int64_t spend, int64_t cap, int64_t ppm) {
  return static_cast<__int128>(spend) * kMicrosPerUnit >= static_cast<__int128>(cap) * ppm;
}

int64_t PeriodStart(int64_t now_ms) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(now_ms)));
  const year_month_day ymd(day);
  return duration_cast<milliseconds>(sys_days(ymd.year() / ymd.month() / 1).time_since_epoch())
      .count();
}

int64_t PeriodEnd(int64_t now_ms) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(now_ms)));
  const year_month_day ymd(day);
  const year_month next = ymd.year() / ymd.month() + months(1);
  return duration_cast<milliseconds>(sys_days(next / 1).time_since_epoch()).count();
}

void SpendState::RollTo(int64_t now_ms) {
  const int64_t start = PeriodStart(now_ms);
  if (start > period_start) {
    period_start = start;
    spend = 0;
    near_cap_notified = false;
    capped = false;
  }
}

}  // namespace sw
