// The spend cap in the engine, over a real SqliteStore with a ManualClock and a
// FakeHttpClient: priced step attempts are charged in the commits that dispatch them,
// the attempt that would pass the cap is not made and holds its workflow for
// `spend_cap`, and the hold ends when the cap is raised (Engine::BillingChanged) or
// the billing period rolls over on the clock (Engine::PokeTimers). No test waits for
// time to pass: each moves the clock and waits for a condition on the store.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "control/service.h"
#include "core/workflow_safety.h"
#include "engine/engine.h"
#include "engine/system_audit.h"
// The fixture and fakes live beside this test (tests/engine/).
#include "engine_fixture.h"

namespace sw {
namespace {

using nlohmann::json;
using test::FakeHttpClient;
using test::kStartMs;  // mid-period
using test::WaitUntil;

constexpr int64_t kMilli = 1000;  // 0.001 of the main unit, in micros

json Noops(int n) {
  json steps = json::array();
  for (int i = 0; i < n; ++i) {
    steps.push_back({{"id", "n" + std::to_string(i)}, {"type", "noop"}, {"with", {{"value", i}}}});
  }
  return steps;
}

class SpendTest : public test::EngineFixture {
 protected:
  void PutBilling(json body) {
    Result<BillingRecord> updated = control_->UpdateBilling(ctx_, body);
    ASSERT_TRUE(updated.ok()) << updated.status().message();
  }

  int Completed(const std::string& run_id) {
    int n = 0;
    for (const StepRecord& s : Run(run_id).steps) {
      n += s.status == StepStatus::kCompleted ? 1 : 0;
    }
    return n;
  }

  // The workflow's stored hold reason ("" when it has none).
  std::string HoldOf(const std::string& workflow_id) {
    Result<WorkflowRecord> wf = store_->GetWorkflow(ws_, workflow_id);
    EXPECT_TRUE(wf.ok()) << wf.status().message();
    return wf.ok() && wf->safety.is_object() ? wf->safety.value("reason", "") : "";
  }

  bool WaitHeld(const std::string& workflow_id) {
    const bool held = WaitUntil([&] { return HoldOf(workflow_id) == kSpendCapReason; }) &&
                      WaitUntil([&] { return engine_->ActiveRuns() == 0; });
    EXPECT_TRUE(held) << workflow_id << " is not held for spend";
    return held;
  }

  SpendState Spend() {
    Result<BillingRecord> b = store_->GetBilling(ws_, clock_.NowMs());
    EXPECT_TRUE(b.ok()) << b.status().message();
    return b.ok() ? b->state : SpendState{};
  }
};

// Five priced noops under a cap of three: the run's first commit carries all five and
// is refused, so they are made again one per commit; exactly three fit.
TEST_F(SpendTest, MakesExactlyTheAttemptsThatFitAndHoldsTheWorkflow) {
  PutBilling({{"spend_cap", 0.003}, {"prices", {{"default", 0.001}}}});
  Apply("five", Noops(5));
  const std::string id = StartRun("five");
  ASSERT_TRUE(WaitHeld("five"));

  EXPECT_EQ(Completed(id), 3);
  EXPECT_EQ(Run(id).status, RunStatus::kRunning);
  const SpendState spend = Spend();
  EXPECT_EQ(spend.spend, 3 * kMilli);
  EXPECT_TRUE(spend.capped);

  // The engine's breaker holds the workflow, and only the cap lifts it.
  EXPECT_EQ(engine_->WorkflowSafetyOfRuns(ws_, "five").value("reason", ""), kSpendCapReason);
  Result<WorkflowRecord> resumed = control_->ResumeWorkflow(ctx_, "five");
  ASSERT_FALSE(resumed.ok());
  EXPECT_EQ(resumed.status().code(), StatusCode::kFailedPrecondition);

  // A new run is accepted and stays pending: nothing of it is dispatched.
  const std::string second = StartRun("five");
  ASSERT_TRUE(WaitUntil([&] { return engine_->ActiveRuns() == 0; }));
  EXPECT_EQ(Run(second).status, RunStatus::kPending);
  EXPECT_EQ(Completed(second), 0);
  EXPECT_EQ(Spend().spend, 3 * kMilli);
}

TEST_F(SpendTest, RaisingTheCapDrivesTheHeldRunsOn) {
  PutBilling({{"spend_cap", 0.002}, {"prices", {{"noop", 0.001}}}});
  Apply("four", Noops(4));
  const std::string id = StartRun("four");
  ASSERT_TRUE(WaitHeld("four"));
  EXPECT_EQ(Completed(id), 2);

  // Raised in the store, then the engine told, as the billing route does.
  BillingUpdate raise;
  raise.workspace_id = ws_;
  raise.spend_cap = std::optional<int64_t>(10 * kMilli);
  raise.now = clock_.NowMs();
  raise.audit = SystemAudit(ids_, ws_, clock_.NowMs(), "billing.update", "billing", "", "", "");
  ASSERT_TRUE(store_->UpdateBilling(raise).ok());
  engine_->BillingChanged(ws_);

  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(Completed(id), 4);
  EXPECT_EQ(HoldOf("four"), "");
  EXPECT_TRUE(engine_->WorkflowSafetyOfRuns(ws_, "four").is_null());
  const SpendState spend = Spend();
  EXPECT_EQ(spend.spend, 4 * kMilli);
  EXPECT_FALSE(spend.capped);
}

TEST_F(SpendTest, ANewPeriodReleasesTheHold) {
  PutBilling({{"spend_cap", 0.002}, {"prices", {{"default", 0.001}}}});
  Apply("three", Noops(3));
  const std::string id = StartRun("three");
  ASSERT_TRUE(WaitHeld("three"));
  EXPECT_EQ(Completed(id), 2);

  clock_.Advance(PeriodEnd(kStartMs) - kStartMs);
  engine_->PokeTimers();

  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(HoldOf("three"), "");
  const SpendState spend = Spend();
  EXPECT_EQ(spend.period_start, PeriodEnd(kStartMs));
  EXPECT_EQ(spend.spend, 1 * kMilli);  // only the attempt made in the new period
  EXPECT_FALSE(spend.capped);
}

TEST_F(SpendTest, APriceOfZeroNeverTrips) {
  // A cap of zero refuses every priced attempt; noops cost nothing here.
  PutBilling({{"spend_cap", 0}, {"prices", {{"http", 0.5}}}});
  Apply("free", Noops(6));
  const std::string id = StartRun("free");
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(Completed(id), 6);
  EXPECT_EQ(HoldOf("free"), "");
  const SpendState spend = Spend();
  EXPECT_EQ(spend.spend, 0);
  EXPECT_FALSE(spend.capped);
}

// A priced http step is charged once per attempt it makes, the retry included, and
// not again when its response arrives.
TEST_F(SpendTest, AnHttpStepIsChargedOncePerAttempt) {
  PutBilling({{"prices", {{"http", 0.25}, {"default", 0.001}}}});
  const std::string url = "https://api.example.test/flaky";
  Apply(
      "flaky",
      json::array({{{"id", "h"},
                    {"type", "http"},
                    {"with", {{"url", url}}},
                    {"retry", {{"max_attempts", 3}, {"backoff", "fixed"}, {"initial", "10s"}}}}}));
  const std::string id = StartRun("flaky");

  ASSERT_TRUE(WaitUntil([&] { return http_.InFlight(url).has_value(); }));
  EXPECT_EQ(Spend().spend, 250'000);
  ASSERT_TRUE(http_.Complete(*http_.InFlight(url), FakeHttpClient::JsonResponse(503, "{}")));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kWaiting));
  EXPECT_EQ(Spend().spend, 250'000);

  clock_.Advance(10'000);
  engine_->PokeTimers();
  ASSERT_TRUE(WaitUntil([&] { return http_.InFlight(url).has_value(); }));
  EXPECT_EQ(http_.CountFor(url), 2u);
  EXPECT_EQ(Spend().spend, 500'000);
  ASSERT_TRUE(http_.Complete(*http_.InFlight(url), FakeHttpClient::JsonResponse(200, "{}")));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(Spend().spend, 500'000);
}

}  // namespace
}  // namespace sw
