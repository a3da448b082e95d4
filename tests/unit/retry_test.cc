#include "core/retry.h"

#include <gtest/gtest.h>

namespace sw {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

RetryPolicy Policy(json retry, json retry_on = nullptr) {
  Result<RetryPolicy> p = ParseRetryPolicy(retry, retry_on);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : RetryPolicy{};
}

TEST(Retry, DefaultsRetryTransientFailuresOnly) {
  RetryPolicy p = Policy({{"max_attempts", 3}});
  EXPECT_TRUE(IsRetryable(p, "http_error", 500));
  EXPECT_TRUE(IsRetryable(p, "http_error", 503));
  EXPECT_TRUE(IsRetryable(p, "connection_error", 0));
  EXPECT_TRUE(IsRetryable(p, "timeout", 0));
  EXPECT_TRUE(IsRetryable(p, "exit_code", 0));
  EXPECT_TRUE(IsRetryable(p, "child_failed", 0));
  EXPECT_TRUE(IsRetryable(p, "child_cancelled", 0));
  EXPECT_TRUE(IsRetryable(p, "agent_failed", 0));
  EXPECT_TRUE(IsRetryable(p, "lease_expired", 0));
  EXPECT_FALSE(IsRetryable(p, "http_error", 404));
  EXPECT_FALSE(IsRetryable(p, "http_error", 429));
  EXPECT_FALSE(IsRetryable(p, "target_not_allowed", 0));
  EXPECT_FALSE(IsRetryable(p, "invalid_request", 0));
  EXPECT_FALSE(IsRetryable(p, "expression_error", 0));
  EXPECT_FALSE(IsRetryable(p, "spawn_failed", 0));
}

TEST(Retry, RetryOnReplacesTheDefaults) {
  RetryPolicy p = Policy({{"max_attempts", 3}}, {"429", "4xx", "timeout"});
  EXPECT_TRUE(IsRetryable(p, "http_error", 429));
  EXPECT_TRUE(IsRetryable(p, "http_error", 404));
  EXPECT_TRUE(IsRetryable(p, "timeout", 0));
  EXPECT_FALSE(IsRetryable(p, "http_error", 500));
  EXPECT_FALSE(IsRetryable(p, "connection_error", 0));
  RetryPolicy only429 = Policy({{"max_attempts", 3}}, {429});
  EXPECT_TRUE(IsRetryable(only429, "http_error", 429));
  EXPECT_FALSE(IsRetryable(only429, "http_error", 428));
}

TEST(Retry, ExponentialBackoffDoublesUpToTheMax) {
  RetryPolicy p = Policy({{"max_attempts", 10}, {"initial", "1s"}, {"max", "10s"}});
  EXPECT_EQ(RetryDelay(p, 2, 0.5), milliseconds(1000));
  EXPECT_EQ(RetryDelay(p, 3, 0.5), milliseconds(2000));
  EXPECT_EQ(RetryDelay(p, 4, 0.5), milliseconds(4000));
  EXPECT_EQ(RetryDelay(p, 5, 0.5), milliseconds(8000));
  EXPECT_EQ(RetryDelay(p, 6, 0.5), milliseconds(10000));
  EXPECT_EQ(RetryDelay(p, 100, 0.5), milliseconds(10000));
}

TEST(Retry, FixedBackoffWaitsTheSameEachTime) {
  RetryPolicy p = Policy({{"max_attempts", 10}, {"backoff", "fixed"}, {"initial", "250ms"}});
  for (int attempt = 2; attempt < 10; ++attempt) {
    EXPECT_EQ(RetryDelay(p, attempt, 0.5), milliseconds(250));
  }
}

TEST(Retry, JitterSpreadsTheDelayByItsFraction) {
  RetryPolicy p =
      Policy({{"max_attempts", 3}, {"backoff", "fixed"}, {"initial", "1s"}, {"jitter", 0.2}});
  EXPECT_EQ(RetryDelay(p, 2, 0.0), milliseconds(800));
  EXPECT_EQ(RetryDelay(p, 2, 0.5), milliseconds(1000));
  EXPECT_EQ(RetryDelay(p, 2, 0.999999), milliseconds(1199));
  RetryPolicy half = Policy({{"max_attempts", 3}, {"initial", "1s"}, {"jitter", true}});
  EXPECT_DOUBLE_EQ(half.jitter, 0.5);
  EXPECT_EQ(RetryDelay(half, 2, 0.0), milliseconds(500));
}

TEST(Retry, NoRetryObjectMeansOneAttempt) {
  RetryPolicy p = Policy(nullptr);
  EXPECT_EQ(p.max_attempts, 1);
}

}  // namespace
}  // namespace sw
