#include "core/workflow_safety.h"

#include <gtest/gtest.h>

#include "core/definition.h"

namespace sw {
namespace {

TEST(DispatchWindowTest, CountsUpToTheLimitWithinAMinute) {
  DispatchWindow w;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(w.Fits(1000, 50)) << i;
    w.Add(1000);
  }
  EXPECT_FALSE(w.Fits(1000, 50));
  EXPECT_FALSE(w.Fits(1000 + kThroughputWindowMs - 1, 50));
  EXPECT_EQ(w.Count(1000), 50);
}

TEST(DispatchWindowTest, SlidesEventByEvent) {
  DispatchWindow w;
  for (int64_t t : {0, 10000, 20000}) {
    ASSERT_TRUE(w.Fits(t, 3));
    w.Add(t);
  }
  EXPECT_FALSE(w.Fits(59999, 3));
  // At 60000 the event at 0 has left the window (it holds (now - 60 s, now]).
  EXPECT_TRUE(w.Fits(60000, 3));
  w.Add(60000);
  EXPECT_FALSE(w.Fits(60000, 3));
  EXPECT_EQ(w.Count(70000), 2);
  EXPECT_EQ(w.Count(200000), 0);
}

TEST(DispatchWindowTest, ClearStartsAFreshWindow) {
  DispatchWindow w;
  w.Add(5);
  EXPECT_FALSE(w.Fits(5, 1));
  w.Clear();
  EXPECT_TRUE(w.Fits(5, 1));
}

TEST(WorkflowSafetyTest, ShownStatusAndMessages) {
  EXPECT_EQ(ShownWorkflowStatus("active", nullptr), "active");
  EXPECT_EQ(ShownWorkflowStatus("disabled", SafetyObject(kThroughputCapReason, "t")),
            "paused_safety");
  nlohmann::json safety = SafetyObject(kThroughputCapReason, "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(safety["message"], "tripped the throughput cap (likely a loop or polling misconfig)");
  EXPECT_EQ(safety["tripped_at"], "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(SafetyObject(kSpendCapReason, "t")["message"], kSpendCapMessage);
  EXPECT_TRUE(RunWorkflowSafety("").is_null());
  EXPECT_EQ(RunWorkflowSafety(kThroughputCapReason),
            (nlohmann::json{{"reason", "throughput_cap"}, {"message", kThroughputCapMessage}}));
}

TEST(WorkflowSafetyTest, DefinitionLimits) {
  auto parse = [](nlohmann::json limits) {
    nlohmann::json doc = {
        {"id", "w"}, {"limits", std::move(limits)}, {"steps", {{{"id", "a"}, {"type", "noop"}}}}};
    return ParseDefinition(doc, "w");
  };
  Result<std::shared_ptr<const Definition>> ok =
      parse({{"max_runs_per_minute", 2}, {"max_steps_per_minute", 50}});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)->max_runs_per_minute, 2);
  EXPECT_EQ((*ok)->max_steps_per_minute, 50);
  EXPECT_FALSE(parse({{"max_steps_per_minute", 0}}).ok());
  EXPECT_FALSE(parse({{"max_steps_per_minute", kMaxPerMinuteLimit + 1}}).ok());
  EXPECT_FALSE(parse({{"max_loops", 3}}).ok());
  EXPECT_FALSE(parse({{"max_runs_per_minute", "3"}}).ok());
}

}  // namespace
}  // namespace sw
