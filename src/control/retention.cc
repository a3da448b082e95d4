#include "control/retention.h"

#include <cctype>
#include <chrono>

#include "control/service.h"
#include "core/duration.h"

namespace sw {

namespace {

using json = nlohmann::json;

constexpr char kMaxAge[] = "finished_runs_max_age";
constexpr char kMaxCount[] = "finished_runs_max_count";

Status Invalid(const std::string& field, const std::string& message) {
  return InvalidArgument("'" + field + "' " + message, {.field = field});
}

// "<integer><unit>" like a definition's durations, but up to kMaxRetentionAgeMs (a
// definition's stop at a year).
Result<int64_t> ParseAge(const json& v) {
  static const std::string kWhat =
      "must be a duration such as \"30d\", \"12h\" or \"90m\" (at least 1ms, at most 100 years)";
  if (!v.is_string()) {
    return Invalid(kMaxAge, kWhat);
  }
  const std::string& s = v.get_ref<const std::string&>();
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) {
    ++digits;
  }
  const std::string unit = s.substr(digits);
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  int64_t scale = 0;
  for (const auto& [name, ms] : kUnits) {
    scale = unit == name ? ms : scale;
  }
  if (digits == 0 || digits > 12 || scale == 0) {
    return Invalid(kMaxAge, kWhat);
  }
  const int64_t n = std::stoll(s.substr(0, digits));
  if (n < 1 || n > kMaxRetentionAgeMs / scale) {
    return Invalid(kMaxAge, kWhat);
  }
  return n * scale;
}

}  // namespace

Result<RetentionSettings> ParseRetention(const json& body) {
  if (!body.is_object()) {
    return InvalidArgument("the body must be a JSON object");
  }
  RetentionSettings r;
  for (const auto& [key, value] : body.items()) {
    if (key == kMaxAge) {
      if (value.is_null()) {
        continue;
      }
      Result<int64_t> age = ParseAge(value);
      if (!age.ok()) {
        return age.status();
      }
      r.max_age_ms = *age;
    } else if (key == kMaxCount) {
      if (value.is_null()) {
        continue;
      }
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() > kMaxRetentionCount) {
        return Invalid(kMaxCount, "must be an integer from 0 to 1000000000, or null");
      }
      r.max_count = value.get<int64_t>();
    } else {
      return Invalid(
          key, "is not a retention setting (" + std::string(kMaxAge) + ", " + kMaxCount + ")");
    }
  }
  return r;
}

json RetentionJson(const RetentionSettings& r) {
  return json{
      {kMaxAge,
       r.max_age_ms ? json(FormatDuration(std::chrono::milliseconds(*r.max_age_ms))) : json()},
      {kMaxCount, r.max_count ? json(*r.max_count) : json()}};
}

Result<RetentionSettings> ControlService::GetRetention(const RequestContext& ctx) {
  return store_.GetRetention(ctx.principal.workspace_id);
}

Result<RetentionSettings> ControlService::UpdateRetention(const RequestContext& ctx,
                                                          const json& body) {
  Result<RetentionSettings> r = ParseRetention(body);
  if (!r.ok()) {
    return r;
  }
  const std::string what = RetentionJson(*r).dump();
  if (Status s = store_.PutRetention(ctx.principal.workspace_id, *r,
                                     Audit(ctx, "retention.update", "retention", what, "", ""));
      !s.ok()) {
    return s;
  }
  if (retention_changed_) {
    retention_changed_();
  }
  return r;
}

}  // namespace sw
