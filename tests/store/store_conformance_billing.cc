// Store conformance: spend. Billing settings with their audit entry, the charge a
// run's transition carries (added in its commit, refused as a whole past the cap, the
// near-cap notification once per period), the spend trip written only while the cap
// still refuses, and the settling of spend holds when the cap is raised or the period
// rolls over. See store_conformance.h.
#include <gtest/gtest.h>

#include <string>

#include "core/workflow_safety.h"
#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

// kT0 is 2023-11-14T22:13:20Z; the next period starts 2023-12-01.
constexpr int64_t kDecember = 1'701'388'800'000;

BillingUpdate Settings(std::optional<int64_t> cap, Prices prices, int64_t now = kT0) {
  BillingUpdate u;
  u.workspace_id = "ws_1";
  u.spend_cap = cap;
  u.prices = std::move(prices);
  u.now = now;
  u.audit = MakeAudit("aud_b" + std::to_string(now), "ws_1", "billing.update", "billing");
  return u;
}

WorkflowSafetyTrip SpendTrip(const std::string& workflow_id, int64_t now) {
  WorkflowSafetyTrip t;
  t.workspace_id = "ws_1";
  t.workflow_id = workflow_id;
  t.now = now;
  t.safety = SafetyObject(kSpendCapReason, "2023-11-14T22:13:20.000Z");
  const std::string suffix = workflow_id + std::to_string(now);
  t.audit = MakeAudit("aud_t" + suffix, "ws_1", "workflow.paused_safety", workflow_id);
  t.notify.id = "ntf_t" + suffix;
  t.notify.workspace_id = "ws_1";
  t.notify.kind = "spend_cap";
  t.notify.title = "paused";
  t.notify.created_at = now;
  return t;
}

TEST_P(StoreConformanceTest, BillingDefaultsAndKeepsWhatAnUpdateDoesNotCarry) {
  Result<BillingRecord> fresh = store_->GetBilling("ws_1", kT0);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ(fresh->currency, "USD");
  EXPECT_FALSE(fresh->state.cap);
  EXPECT_EQ(fresh->state.soft_threshold_ppm, kDefaultSoftThresholdPpm);
  EXPECT_EQ(fresh->state.period_start, PeriodStart(kT0));
  EXPECT_TRUE(fresh->prices.empty());

  ASSERT_TRUE(store_->UpdateBilling(Settings(5000000, {{"http", 250000}})).ok());
  BillingUpdate more;
  more.workspace_id = "ws_1";
  more.prices = {{"default", 1}};
  more.currency = "EUR";
  more.now = kT0 + 5;
  more.audit = MakeAudit("aud_more", "ws_1", "billing.update", "billing");
  ASSERT_TRUE(store_->UpdateBilling(more).ok());
  Reopen();
  Result<BillingRecord> read = store_->GetBilling("ws_1", kT0 + 6);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->state.cap, 5000000);
  EXPECT_EQ(read->currency, "EUR");
  EXPECT_EQ(read->prices, (Prices{{"default", 1}, {"http", 250000}}));
  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "billing", "", 10);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 2u);
  EXPECT_EQ(store_->GetBilling("ws_2", kT0)->state.cap, std::nullopt);
}

TEST_P(StoreConformanceTest, AChargeIsAddedWithItsTransitionAndRefusedPastTheCap) {
  ASSERT_TRUE(store_->UpdateBilling(Settings(3, {{"default", 1}})).ok());
  CreateRunning("run_1");
  auto charge = [&](int64_t version, const std::string& path, int64_t amount) {
    RunTransition t;
    t.run_id = "run_1";
    t.expected_version = version;
    t.expected_status = RunStatus::kRunning;
    t.now = kT0 + 1;
    t.upsert_steps.push_back(MakeStep(path, StepStatus::kCompleted));
    t.charge = SpendCharge{"ws_1", amount, 1};
    return store_->TransitionRun(std::move(t));
  };
  ASSERT_EQ(*charge(2, "a", 2), 3);
  // 2 + 2 > 3: refused as a whole, the step row is not written and the version stays.
  Result<int64_t> refused = charge(3, "b", 2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().reason(), kSpendCapRefused);
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->version, 3);
  EXPECT_EQ(run->steps.size(), 1u);
  // A lost compare-and-set charges nothing.
  EXPECT_EQ(charge(2, "c", 1).status().code(), StatusCode::kAborted);
  EXPECT_EQ(store_->GetBilling("ws_1", kT0 + 2)->state.spend, 2);
  ASSERT_EQ(*charge(3, "b", 1), 4);
  Reopen();
  Result<BillingRecord> b = store_->GetBilling("ws_1", kT0 + 2);
  EXPECT_EQ(b->state.spend, 3);
  EXPECT_FALSE(b->state.Refuses(0));
  EXPECT_TRUE(b->state.Refuses(1));
  // A new period: nothing spent.
  EXPECT_EQ(store_->GetBilling("ws_1", kDecember)->state.spend, 0);
}

// UpdateRun applies the transition it decided whole, its charge too: added in the
// same commit, refused past the cap with nothing of the transition written.
TEST_P(StoreConformanceTest, AChargeDecidedInUpdateRunIsAddedAndRefusedPastTheCap) {
  ASSERT_TRUE(store_->UpdateBilling(Settings(3, {{"default", 1}})).ok());
  CreateRunning("run_1");
  auto charge = [&](const std::string& path, int64_t amount) {
    return store_->UpdateRun("run_1",
                             [&](const RunRecord&) -> Result<std::optional<RunTransition>> {
                               RunTransition t;
                               t.now = kT0 + 1;
                               t.upsert_steps.push_back(MakeStep(path, StepStatus::kCompleted));
                               t.charge = SpendCharge{"ws_1", amount, 1};
                               return std::optional<RunTransition>(std::move(t));
                             },
                             {});
  };
  Result<RunRecord> charged = charge("a", 2);
  ASSERT_TRUE(charged.ok()) << charged.status().message();
  EXPECT_EQ(charged->version, 3);
  EXPECT_EQ(store_->GetBilling("ws_1", kT0 + 2)->state.spend, 2);
  Result<RunRecord> refused = charge("b", 2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().reason(), kSpendCapRefused);
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->version, 3);
  EXPECT_EQ(run->steps.size(), 1u);
  EXPECT_EQ(store_->GetBilling("ws_1", kT0 + 2)->state.spend, 2);
}

TEST_P(StoreConformanceTest, TheNearCapNotificationIsQueuedOncePerPeriod) {
  ASSERT_TRUE(store_->UpdateBilling(Settings(10, {})).ok());
  CreateRunning("run_1");
  int64_t version = 2;
  auto charge = [&](const std::string& path, int64_t amount, int64_t now) {
    RunTransition t;
    t.run_id = "run_1";
    t.expected_version = version;
    t.expected_status = RunStatus::kRunning;
    t.now = now;
    t.upsert_steps.push_back(MakeStep(path, StepStatus::kCompleted));
    t.charge = SpendCharge{"ws_1", amount, 1};
    Result<int64_t> r = store_->TransitionRun(std::move(t));
    ASSERT_TRUE(r.ok()) << r.status().message();
    version = *r;
  };
  auto near_notes = [&] {
    NotificationFilter f;
    f.limit = 50;
    Result<NotificationPage> page = store_->ListNotifications("ws_1", f);
    EXPECT_TRUE(page.ok());
    int n = 0;
    for (const NotificationRecord& r : page->items) {
      n += r.kind == "spend_near_cap" ? 1 : 0;
    }
    return n;
  };
  charge("a", 7, kT0 + 1);
  EXPECT_EQ(near_notes(), 0);
  charge("b", 1, kT0 + 2);  // 8 of 10: the soft threshold (0.8)
  EXPECT_EQ(near_notes(), 1);
  EXPECT_TRUE(store_->GetBilling("ws_1", kT0 + 3)->state.NearCap());
  charge("c", 1, kT0 + 3);
  EXPECT_EQ(near_notes(), 1);
  charge("d", 8, kDecember + 1);  // the next period: once again
  EXPECT_EQ(near_notes(), 2);
  EXPECT_EQ(store_->GetBilling("ws_1", kDecember + 2)->state.spend, 8);
}

TEST_P(StoreConformanceTest, ASpendTripHoldsOnlyWhileTheCapRefusesAndSettlingReleasesIt) {
  Result<PutWorkflowResult> put =
      store_->PutWorkflow(MakeWorkflow("ws_1", "charge", json{{"id", "charge"}}),
                          MakeAudit("aud_w1", "ws_1", "workflow.put", "charge"));
  ASSERT_TRUE(put.ok()) << put.status().message();
  auto safety = [&] {
    Result<WorkflowRecord> wf = store_->GetWorkflow("ws_1", "charge");
    EXPECT_TRUE(wf.ok()) << wf.status().message();
    return wf.ok() ? wf->safety : json("unreadable");
  };
  auto settle = [&](int64_t now) {
    Result<std::vector<WorkflowRef>> released = store_->SettleSpendHolds(now);
    EXPECT_TRUE(released.ok()) << released.status().message();
    return released.ok() ? released->size() : 99u;
  };
  ASSERT_TRUE(store_->UpdateBilling(Settings(2, {{"default", 1}})).ok());
  // The cap does not refuse a price of 2 yet (0 + 2 <= 2): nothing is written.
  Result<bool> early = store_->TripSpendCap(SpendTrip("charge", kT0 + 1), 2);
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(*early);
  EXPECT_TRUE(safety().is_null());

  Result<bool> tripped = store_->TripSpendCap(SpendTrip("charge", kT0 + 1), 3);
  ASSERT_TRUE(tripped.ok()) << tripped.status().message();
  EXPECT_TRUE(*tripped);
  Reopen();
  EXPECT_EQ(safety()["reason"], "spend_cap");
  EXPECT_TRUE(store_->GetBilling("ws_1", kT0 + 2)->state.capped);
  // Still capped: settling releases nothing.
  EXPECT_TRUE(settle(kT0 + 2) == 0);
  // A cap raised above the spend (0) ends the capped stage; settling releases it.
  ASSERT_TRUE(store_->UpdateBilling(Settings(5, {}, kT0 + 3)).ok());
  Result<std::vector<WorkflowRef>> released = store_->SettleSpendHolds(kT0 + 4);
  ASSERT_TRUE(released.ok());
  ASSERT_EQ(released->size(), 1u);
  EXPECT_EQ((*released)[0].workflow_id, "charge");
  EXPECT_TRUE(safety().is_null());

  // Capped again, then the period rolls over.
  ASSERT_TRUE(*store_->TripSpendCap(SpendTrip("charge", kT0 + 5), 6));
  EXPECT_TRUE(settle(kT0 + 6) == 0);
  EXPECT_EQ(settle(kDecember), 1u);
  EXPECT_FALSE(store_->GetBilling("ws_1", kDecember)->state.capped);
  // A throughput hold is not the spend cap's to settle.
  WorkflowSafetyTrip throughput = SpendTrip("charge", kDecember + 1);
  throughput.safety = SafetyObject(kThroughputCapReason, "2023-12-01T00:00:00.000Z");
  ASSERT_TRUE(*store_->TripWorkflowSafety(throughput));
  EXPECT_TRUE(settle(kDecember + 2) == 0);
}

TEST_P(StoreConformanceTest, TheHeldWorkflowsAreListedWithTheirReasons) {
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(store_
                    ->PutWorkflow(MakeWorkflow("ws_1", id, json{{"id", id}}),
                                  MakeAudit(std::string("aud_") + id, "ws_1", "workflow.put", id))
                    .ok());
  }
  auto holds = [&] {
    Result<std::vector<std::pair<WorkflowRef, std::string>>> listed = store_->ListWorkflowHolds();
    EXPECT_TRUE(listed.ok()) << listed.status().message();
    std::vector<std::string> out;
    if (listed.ok()) {
      for (const auto& [wf, reason] : *listed) {
        out.push_back(wf.workspace_id + "/" + wf.workflow_id + ":" + reason);
      }
    }
    return out;
  };
  EXPECT_TRUE(holds().empty());
  WorkflowSafetyTrip throughput = SpendTrip("c", kT0 + 1);
  throughput.safety = SafetyObject(kThroughputCapReason, "2023-11-14T22:13:20.001Z");
  ASSERT_TRUE(*store_->TripWorkflowSafety(throughput));
  ASSERT_TRUE(store_->UpdateBilling(Settings(1, {{"default", 1}})).ok());
  ASSERT_TRUE(*store_->TripSpendCap(SpendTrip("a", kT0 + 2), 2));
  Reopen();
  EXPECT_EQ(holds(), (std::vector<std::string>{"ws_1/a:spend_cap", "ws_1/c:throughput_cap"}));
  ASSERT_TRUE(store_
                  ->ClearWorkflowSafety("ws_1", "c", std::string(kThroughputCapReason), kT0 + 3,
                                        MakeAudit("aud_clear", "ws_1", "workflow.resume", "c"))
                  .ok());
  EXPECT_EQ(holds(), (std::vector<std::string>{"ws_1/a:spend_cap"}));
}

}  // namespace
}  // namespace sw::store_test
