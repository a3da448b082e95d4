// Store conformance: bulk operations (store/operation_records.h): CountRuns counts what
// ListRuns lists; CreateOperation fixes the runs a filter matches at its commit (each
// pending) with the operation and its audit entry, or writes nothing when too many
// match; PendingOperationRuns pages through what is left; RecordOperationProgress
// counts each run's outcome once and completes the operation only when no run is
// pending; a running operation is found again after a reopen. See store_conformance.h.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/operation_store.h"
#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

// Every backend's store keeps bulk operations too.
OperationStore& Ops(const std::unique_ptr<Store>& store) {
  return dynamic_cast<OperationStore&>(*store);
}

OperationRecord MakeOperation(const std::string& id, const std::string& workspace_id = "ws_1") {
  OperationRecord op;
  op.id = id;
  op.workspace_id = workspace_id;
  op.action = "cancel";
  op.filter = json{{"status", "waiting"}, {"input.customer", 42}};
  op.reason = "incident 7";
  op.actor = "token:ops";
  op.created_at = kT0 + 5;
  return op;
}

RunFilter WaitingFor42() {
  RunFilter f;
  f.statuses = std::vector<RunStatus>{RunStatus::kWaiting};
  f.json_matches.push_back(RunJsonMatch{RunJsonMatch::Field::kInput, {"customer"}, json(42)});
  return f;
}

// Runs run_01..run_NN of ws_1 (waiting, customer 42), one of another customer, one
// pending, and one waiting in ws_2.
void CreateRuns(Store& store, int n,
                const std::function<RunRecord(const std::string&, const std::string&)>& make) {
  for (int i = 1; i <= n; ++i) {
    RunRecord r = make(std::string(i < 10 ? "run_0" : "run_") + std::to_string(i), "ws_1");
    r.status = RunStatus::kWaiting;
    r.input = json{{"customer", 42}};
    ASSERT_TRUE(store.CreateRun(r, std::nullopt).ok());
  }
  RunRecord other = make("run_other", "ws_1");
  other.status = RunStatus::kWaiting;
  other.input = json{{"customer", "42"}};  // a string: not 42
  ASSERT_TRUE(store.CreateRun(other, std::nullopt).ok());
  RunRecord pending = make("run_pending", "ws_1");
  pending.input = json{{"customer", 42}};
  ASSERT_TRUE(store.CreateRun(pending, std::nullopt).ok());
  RunRecord elsewhere = make("run_ws2", "ws_2");
  elsewhere.status = RunStatus::kWaiting;
  elsewhere.input = json{{"customer", 42}};
  ASSERT_TRUE(store.CreateRun(elsewhere, std::nullopt).ok());
}

TEST_P(StoreConformanceTest, CreateOperationFixesTheMatchingRunsWithItsAudit) {
  CreateRuns(*store_, 12,
             [this](const std::string& id, const std::string& ws) { return NewRun(id, ws); });
  Result<int64_t> count = Ops(store_).CountRuns("ws_1", WaitingFor42());
  ASSERT_TRUE(count.ok()) << count.status().message();
  EXPECT_EQ(*count, 12);
  EXPECT_EQ(*Ops(store_).CountRuns("ws_2", WaitingFor42()), 1);
  EXPECT_EQ(*Ops(store_).CountRuns("ws_1", RunFilter{}), 14);

  Result<OperationRecord> created =
      Ops(store_).CreateOperation(MakeOperation("op_1"), WaitingFor42(), 100,
                                  MakeAudit("aud_1", "ws_1", "operation.cancel", "op_1"));
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->total, 12);
  EXPECT_EQ(created->status, "running");

  // A run that matches later is not the operation's.
  RunRecord late = NewRun("run_99");
  late.status = RunStatus::kWaiting;
  late.input = json{{"customer", 42}};
  ASSERT_TRUE(store_->CreateRun(late, std::nullopt).ok());

  Result<OperationRecord> got = Ops(store_).GetOperation("op_1");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->workspace_id, "ws_1");
  EXPECT_EQ(got->action, "cancel");
  EXPECT_EQ(got->filter, (json{{"status", "waiting"}, {"input.customer", 42}}));
  EXPECT_EQ(got->reason, "incident 7");
  EXPECT_EQ(got->actor, "token:ops");
  EXPECT_EQ(got->status, "running");
  EXPECT_EQ(got->total, 12);
  EXPECT_EQ(got->done + got->skipped + got->failed, 0);
  EXPECT_EQ(got->created_at, kT0 + 5);
  EXPECT_EQ(got->finished_at, 0);
  EXPECT_EQ(Ops(store_).GetOperation("op_9").status().code(), StatusCode::kNotFound);

  Result<std::vector<std::string>> first = Ops(store_).PendingOperationRuns("op_1", "", 5);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, (std::vector<std::string>{"run_01", "run_02", "run_03", "run_04", "run_05"}));
  Result<std::vector<std::string>> rest = Ops(store_).PendingOperationRuns("op_1", "run_05", 100);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->size(), 7u);
  EXPECT_EQ(rest->back(), "run_12");

  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "op_1", "", 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ(audit->front().action, "operation.cancel");
  EXPECT_EQ(*Ops(store_).ListRunningOperations(), (std::vector<std::string>{"op_1"}));
}

TEST_P(StoreConformanceTest, CreateOperationWritesNothingWhenTooManyRunsMatch) {
  CreateRuns(*store_, 4,
             [this](const std::string& id, const std::string& ws) { return NewRun(id, ws); });
  Result<OperationRecord> created =
      Ops(store_).CreateOperation(MakeOperation("op_1"), WaitingFor42(), 3,
                                  MakeAudit("aud_1", "ws_1", "operation.cancel", "op_1"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Ops(store_).GetOperation("op_1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Ops(store_).PendingOperationRuns("op_1", "", 10)->empty());
  EXPECT_TRUE(store_->ListAudit("ws_1", "op_1", "", 10)->empty());
  // The store goes on writing.
  EXPECT_TRUE(Ops(store_)
                  .CreateOperation(MakeOperation("op_2"), WaitingFor42(), 4,
                                   MakeAudit("aud_2", "ws_1", "operation.cancel", "op_2"))
                  .ok());
}

TEST_P(StoreConformanceTest, OperationProgressCountsEachRunOnceAndCompletesWhenNonePending) {
  CreateRuns(*store_, 4,
             [this](const std::string& id, const std::string& ws) { return NewRun(id, ws); });
  ASSERT_TRUE(Ops(store_)
                  .CreateOperation(MakeOperation("op_1"), WaitingFor42(), 100,
                                   MakeAudit("aud_1", "ws_1", "operation.cancel", "op_1"))
                  .ok());
  OperationProgress p;
  p.operation_id = "op_1";
  p.outcomes = {{"run_01", "done", ""}, {"run_02", "skipped", "invalid_transition"}};
  p.finish_at = kT0 + 50;  // two runs still pending: not completed
  p.finish_audit = MakeAudit("aud_2", "ws_1", "operation.complete", "op_1");
  Result<OperationRecord> after = Ops(store_).RecordOperationProgress(p);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->status, "running");
  EXPECT_EQ(after->done, 1);
  EXPECT_EQ(after->skipped, 1);
  EXPECT_EQ(after->finished_at, 0);
  EXPECT_EQ(*Ops(store_).PendingOperationRuns("op_1", "", 10),
            (std::vector<std::string>{"run_03", "run_04"}));

  // A repeat (a restart recording run_01 again) and a run of no operation count nothing.
  OperationProgress again;
  again.operation_id = "op_1";
  again.outcomes = {{"run_01", "skipped", "invalid_transition"},
                    {"run_03", "failed", "unavailable"},
                    {"run_other", "done", ""}};
  after = Ops(store_).RecordOperationProgress(again);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->done, 1);
  EXPECT_EQ(after->skipped, 1);
  EXPECT_EQ(after->failed, 1);
  EXPECT_EQ(after->status, "running");

  Reopen();  // still running after a restart, with its last run pending
  EXPECT_EQ(*Ops(store_).ListRunningOperations(), (std::vector<std::string>{"op_1"}));
  EXPECT_EQ(*Ops(store_).PendingOperationRuns("op_1", "", 10),
            (std::vector<std::string>{"run_04"}));

  OperationProgress last;
  last.operation_id = "op_1";
  last.outcomes = {{"run_04", "done", ""}};
  last.finish_at = kT0 + 60;
  last.finish_audit = MakeAudit("aud_3", "ws_1", "operation.complete", "op_1");
  after = Ops(store_).RecordOperationProgress(last);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->status, "completed");
  EXPECT_EQ(after->finished_at, kT0 + 60);
  EXPECT_EQ(after->done + after->skipped + after->failed, after->total);
  EXPECT_EQ(after->done, 2);
  EXPECT_TRUE(Ops(store_).ListRunningOperations()->empty());
  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "op_1", "", 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);  // created, completed (aud_2 was not written)
  EXPECT_EQ(audit->front().id, "aud_3");

  // Completing twice writes no second audit entry.
  after = Ops(store_).RecordOperationProgress(last);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(store_->ListAudit("ws_1", "op_1", "", 10)->size(), 2u);
}

TEST_P(StoreConformanceTest, OperationWithNoMatchingRunCompletesAtOnce) {
  ASSERT_TRUE(Ops(store_)
                  .CreateOperation(MakeOperation("op_1"), WaitingFor42(), 100,
                                   MakeAudit("aud_1", "ws_1", "operation.cancel", "op_1"))
                  .ok());
  EXPECT_EQ(Ops(store_).GetOperation("op_1")->total, 0);
  OperationProgress p;
  p.operation_id = "op_1";
  p.finish_at = kT0 + 9;
  Result<OperationRecord> after = Ops(store_).RecordOperationProgress(p);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->status, "completed");
}

}  // namespace
}  // namespace sw::store_test
