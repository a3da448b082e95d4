// Store conformance: which instance owns a run (several instances on one database,
// store/transition_plan.h). The store writes the owner with the run's own commits, and
// refuses a driver's change to a run that is not its instance's. Each backend runs it;
// two instances are the same database reopened with another id. See
// store_conformance.h.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

TEST_P(StoreConformanceTest, ARunIsOwnedByTheInstanceThatCreatesIt) {
  store_->SetInstance("ins_a");
  ASSERT_TRUE(store_->CreateRun(NewRun("run_1"), std::nullopt).ok());
  Result<RunRecord> run = store_->GetRun("run_1", false);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->owner, "ins_a");
}

TEST_P(StoreConformanceTest, OneProcessNeverWritesAnOwnerAndIsNeverRefused) {
  ASSERT_TRUE(store_->CreateRun(NewRun("run_1"), std::nullopt).ok());
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 1;
  t.next_status = RunStatus::kRunning;
  t.now = kT0;
  t.from_driver = true;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  Result<RunRecord> run = store_->GetRun("run_1", false);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->owner, "");
}

TEST_P(StoreConformanceTest, ADriverOfAnotherInstanceIsRefusedAndWritesNothing) {
  store_->SetInstance("ins_a");
  CreateRunning("run_1");  // version 2, owned by ins_a
  Reopen();
  store_->SetInstance("ins_b");
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;
  t.now = kT0 + 1;
  t.from_driver = true;
  t.next_status = RunStatus::kCompleted;
  t.output = json{{"by", "ins_b"}};
  t.upsert_steps = {MakeStep("a", StepStatus::kCompleted, 1, kT0)};
  Result<int64_t> refused = store_->TransitionRun(std::move(t));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kAborted);
  EXPECT_EQ(refused.status().reason(), kLeaseLost);

  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kRunning);
  EXPECT_EQ(run->version, 2);
  EXPECT_EQ(run->owner, "ins_a");
  EXPECT_TRUE(run->steps.empty());
  EXPECT_TRUE(run->output.is_null());
}

TEST_P(StoreConformanceTest, AControlFromAnyInstanceAppliesAndParkingClearsTheOwner) {
  store_->SetInstance("ins_a");
  CreateRunning("run_1");
  Reopen();
  store_->SetInstance("ins_b");
  Result<RunRecord> paused =
      store_->UpdateRun("run_1",
                        [](const RunRecord& run) -> Result<std::optional<RunTransition>> {
                          RunTransition t;
                          t.next_status = RunStatus::kPaused;
                          t.paused_from = run.status;
                          t.pause = json{{"reason", "operator"}};
                          t.now = kT0 + 2;
                          return std::optional<RunTransition>(std::move(t));
                        },
                        {});
  ASSERT_TRUE(paused.ok()) << paused.status().message();
  EXPECT_EQ(paused->status, RunStatus::kPaused);
  EXPECT_EQ(paused->owner, "");

  // The instance that resumes it drives it: it is that one's now.
  Result<RunRecord> resumed =
      store_->UpdateRun("run_1",
                        [](const RunRecord&) -> Result<std::optional<RunTransition>> {
                          RunTransition t;
                          t.next_status = RunStatus::kRunning;
                          t.pause = json();
                          t.now = kT0 + 3;
                          return std::optional<RunTransition>(std::move(t));
                        },
                        {});
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(resumed->owner, "ins_b");
}

TEST_P(StoreConformanceTest, TheFormerDriverMarksALateResultOfAnEndedRun) {
  store_->SetInstance("ins_a");
  CreateRunning("run_1");
  ASSERT_TRUE(Transition("run_1", 2, {MakeStep("a", StepStatus::kRunning, 1, kT0)}).ok());
  Reopen();
  store_->SetInstance("ins_b");
  Result<RunRecord> before = store_->GetRun("run_1", false);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(
      store_->TransitionRun(CancelTransition(*before, json{{"reason", "x"}}, kT0 + 5)).ok());
  Reopen();
  store_->SetInstance("ins_a");
  RunTransition discard;
  discard.run_id = "run_1";
  discard.expected_version = 4;
  discard.expected_status = RunStatus::kCancelled;
  discard.discard_step_result = "a";
  discard.now = kT0 + 6;
  discard.from_driver = true;
  ASSERT_TRUE(store_->TransitionRun(std::move(discard)).ok());
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->owner, "");
  ASSERT_NE(FindStep(*run, "a"), nullptr);
  EXPECT_TRUE(FindStep(*run, "a")->result_discarded);
}

TEST_P(StoreConformanceTest, ADriverNeedsARunnableRunToBeItsOwn) {
  store_->SetInstance("ins_a");
  CreateRunning("run_1");
  // What a takeover leaves when it fenced ins_a but has not written its own id yet (a
  // run nobody owns) refuses ins_a's driver too.
  ASSERT_TRUE(backend_->ExecRaw("UPDATE runs SET owner = '', version = 3 WHERE id = 'run_1'").ok());
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 3;
  t.now = kT0 + 1;
  t.from_driver = true;
  Result<int64_t> refused = store_->TransitionRun(std::move(t));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().reason(), kLeaseLost);
}

TEST_P(StoreConformanceTest, AChildRunIsOwnedByTheInstanceThatCreatesIt) {
  store_->SetInstance("ins_a");
  CreateRunning("run_parent");
  RunTransition t;
  t.run_id = "run_parent";
  t.expected_version = 2;
  t.now = kT0 + 1;
  t.from_driver = true;
  RunRecord child = NewRun("run_child");
  child.parent_run_id = "run_parent";
  child.parent_path = "call";
  t.create_run = child;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  Result<RunRecord> run = store_->GetRun("run_child", false);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->owner, "ins_a");
}

}  // namespace
}  // namespace sw::store_test
