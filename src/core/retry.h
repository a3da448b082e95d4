// Retry policies of steps: how many attempts, how long to wait between them, and which
// failures are worth another attempt. Pure functions; thread-safe.
//
// A failure is named by its error code (`connection_error`, `timeout`, `http_error`,
// `exit_code`, ...) and, for `http_error`, the HTTP status. `retry_on` lists what is
// retried: codes, `4xx`/`5xx`, or one status like `429`. Without `retry_on` a step
// retries what is likely to pass the next time: HTTP 5xx, connection errors, timeouts,
// non-zero exits, failed or cancelled child runs, failed agents and lapsed leases —
// never a 4xx, a refused target or a bad request.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace sw {

inline constexpr int kMaxAttempts = 100;

enum class Backoff { kFixed, kExponential };

struct RetryPolicy {
  int max_attempts = 1;  // counting the first
  Backoff backoff = Backoff::kExponential;
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{300000};
  double jitter = 0;  // 0..1: the delay varies by up to this fraction
  std::optional<std::vector<std::string>> retry_on;  // unset: the defaults above
};

// The failure codes `retry_on` may name (besides 4xx, 5xx and HTTP statuses).
const std::vector<std::string>& RetryableCodes();

// Parses a step's `retry` object and `retry_on` list (either may be null). Errors are
// kInvalidArgument naming the field (`retry.initial`, `retry_on[1]`, ...) in detail.field.
Result<RetryPolicy> ParseRetryPolicy(const nlohmann::json& retry, const nlohmann::json& retry_on);

// True when a failure with `code` (and `http_status` for http_error) may be retried.
bool IsRetryable(const RetryPolicy& policy, const std::string& code, int http_status);

// True when failed attempt `attempt` (1 for the first) gets another: the policy allows
// more attempts and the failure is retryable. The one rule of the engine and the agent
// queue.
bool RetriesAfter(const RetryPolicy& policy, int attempt, const std::string& code, int http_status);

// The wait before attempt `next_attempt` (2 for the first retry). `random01` in [0, 1)
// spreads the delay by the jitter fraction; 0.5 gives the nominal delay.
std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int next_attempt, double random01);

}  // namespace sw
