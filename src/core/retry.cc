#include "core/retry.h"

#include <algorithm>
#include <cmath>

#include "core/duration.h"

namespace sw {

using nlohmann::json;

namespace {

Status RetryError(const std::string& message, const std::string& field) {
  return Status(StatusCode::kInvalidArgument, message,
                ErrorDetail{.reason = "invalid_definition", .field = field});
}

Result<std::chrono::milliseconds> DurationField(const json& value, const std::string& field) {
  Result<std::chrono::milliseconds> d =
      value.is_string() ? ParseDuration(value.get<std::string>())
                        : Result<std::chrono::milliseconds>(InvalidArgument("not a string"));
  if (!d.ok()) {
    return RetryError("invalid duration in '" + field + "': " + d.status().message(), field);
  }
  return d;
}

// "4xx", "5xx" or a status from 400 to 599.
std::optional<std::pair<int, int>> StatusRange(const std::string& entry) {
  if (entry == "4xx") {
    return std::make_pair(400, 499);
  }
  if (entry == "5xx") {
    return std::make_pair(500, 599);
  }
  if (entry.size() == 3 && std::all_of(entry.begin(), entry.end(), ::isdigit)) {
    const int status = std::stoi(entry);
    if (status >= 400 && status <= 599) {
      return std::make_pair(status, status);
    }
  }
  return std::nullopt;
}

const std::vector<std::string> kDefaultRetryOn = {
    "5xx",          "connection_error", "timeout",      "exit_code",
    "child_failed", "child_cancelled",  "agent_failed", "lease_expired"};

}  // namespace

const std::vector<std::string>& RetryableCodes() {
  static const std::vector<std::string> kCodes = {
      "connection_error", "timeout",      "exit_code",     "spawn_failed", "child_failed",
      "child_cancelled",  "agent_failed", "lease_expired", "http_error"};
  return kCodes;
}

Result<RetryPolicy> ParseRetryPolicy(const json& retry, const json& retry_on) {
  RetryPolicy policy;
  if (!retry.is_null()) {
    if (!retry.is_object()) {
      return RetryError("'retry' must be an object", "retry");
    }
    for (const auto& [key, value] : retry.items()) {
      const std::string field = "retry." + key;
      if (key == "max_attempts") {
        if (!value.is_number_integer() || value.get<int64_t>() < 1 ||
            value.get<int64_t>() > kMaxAttempts) {
          return RetryError(
              "'" + field + "' must be an integer from 1 to " + std::to_string(kMaxAttempts),
              field);
        }
        policy.max_attempts = value.get<int>();
      } else if (key == "backoff") {
        if (value == "fixed") {
          policy.backoff = Backoff::kFixed;
        } else if (value == "exponential") {
          policy.backoff = Backoff::kExponential;
        } else {
          return RetryError("'" + field + "' must be 'fixed' or 'exponential'", field);
        }
      } else if (key == "initial" || key == "max") {
        Result<std::chrono::milliseconds> d = DurationField(value, field);
        if (!d.ok()) {
          return d.status();
        }
        (key == "initial" ? policy.initial : policy.max) = *d;
      } else if (key == "jitter") {
        // true means ±50 %; a number is the fraction.
        if (value.is_boolean()) {
          policy.jitter = value.get<bool>() ? 0.5 : 0;
        } else if (value.is_number() && value.get<double>() >= 0 && value.get<double>() <= 1) {
          policy.jitter = value.get<double>();
        } else {
          return RetryError("'" + field + "' must be a boolean or a number from 0 to 1", field);
        }
      } else {
        return RetryError("unknown field '" + field + "'", field);
      }
    }
    if (!retry.contains("max_attempts")) {
      return RetryError("'retry.max_attempts' is required", "retry.max_attempts");
    }
    if (policy.max < policy.initial) {
      return RetryError("'retry.max' must not be shorter than 'retry.initial'", "retry.max");
    }
  }
  if (!retry_on.is_null()) {
    if (!retry_on.is_array()) {
      return RetryError("'retry_on' must be a list", "retry_on");
    }
    std::vector<std::string> entries;
    for (size_t i = 0; i < retry_on.size(); ++i) {
      const std::string field = "retry_on[" + std::to_string(i) + "]";
      const json& v = retry_on[i];
      std::string entry = v.is_number_integer() ? std::to_string(v.get<int64_t>())
                          : v.is_string()       ? v.get<std::string>()
                                                : "";
      const auto& codes = RetryableCodes();
      if (!StatusRange(entry) && std::find(codes.begin(), codes.end(), entry) == codes.end()) {
        return RetryError("'" + field +
                              "' must be 4xx, 5xx, an HTTP status from 400 to 599, or one of "
                              "connection_error, timeout, exit_code, spawn_failed, "
                              "child_failed, child_cancelled, agent_failed, lease_expired",
                          field);
      }
      entries.push_back(std::move(entry));
    }
    policy.retry_on = std::move(entries);
  }
  return policy;
}

bool IsRetryable(const RetryPolicy& policy, const std::string& code, int http_status) {
  const std::vector<std::string>& list = policy.retry_on ? *policy.retry_on : kDefaultRetryOn;
  for (const std::string& entry : list) {
    if (entry == code) {
      return true;
    }
    if (code == "http_error") {
      if (std::optional<std::pair<int, int>> range = StatusRange(entry);
          range && http_status >= range->first && http_status <= range->second) {
        return true;
      }
    }
  }
  return false;
}

std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int next_attempt, double random01) {
  double delay = static_cast<double>(policy.initial.count());
  if (policy.backoff == Backoff::kExponential) {
    // initial, 2×, 4×, ... for attempts 2, 3, 4, ...
    delay *= std::pow(2.0, std::clamp(next_attempt - 2, 0, 62));
  }
  delay = std::min(delay, static_cast<double>(policy.max.count()));
  delay *= 1.0 + policy.jitter * (2.0 * random01 - 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, delay)));
}

bool RetriesAfter(const RetryPolicy& policy, int attempt, const std::string& code,
                  int http_status) {
  return attempt < policy.max_attempts && IsRetryable(policy, code, http_status);
}

}  // namespace sw
