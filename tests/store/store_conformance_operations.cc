// Store conformance: bulk operations (store/operation_records.h): CountRuns counts what
// ListRuns lists; CreateOperation fixes the runs a filter matches at its commit (each
// pending) with the operation and its audit entry, or writes nothing when too many
// match; PendingOperationRuns pages through what is left; RecordOperationProgress
// counts each run's outcome once and completes the operation only when no run is
// pending; a running operation is found again after a reopen; ApplyOperationBatchesAsync
// writes each run's change with its outcome, decided on the run as the write finds it,
// and a failed change rolls back alone. See store_conformance.h.
#include <gtest/gtest.h>

#include <future>
#include <map>
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

// A bulk cancel's decision: runs that are waiting are cancelled (audited), any other
// status does not allow it.
Result<std::optional<RunTransition>> CancelIfWaiting(const RunRecord& run) {
  if (run.status != RunStatus::kWaiting) {
    return Status(StatusCode::kFailedPrecondition,
                  "cannot cancel a " + std::string(ToString(run.status)) + " run",
                  "invalid_transition");
  }
  RunTransition t = CancelTransition(run, json{{"reason", "incident 7"}}, kT0 + 10);
  t.audit = MakeAudit("aud_cancel_" + run.id, run.workspace_id, "run.cancel", run.id);
  return std::optional<RunTransition>(std::move(t));
}

OperationRunChange ControlOf(const std::string& run_id, Store::DecideTransition decide,
                             std::optional<EarlyDecision> decided = std::nullopt) {
  OperationRunChange change;
  change.run_id = run_id;
  change.decide = std::move(decide);
  change.decided = std::move(decided);
  return change;
}

Result<OperationBatchResult> ApplyBatch(OperationStore& ops, OperationBatch batch) {
  std::promise<Result<OperationBatchResult>> written;
  std::vector<OperationBatch> batches;
  batches.push_back(std::move(batch));
  ops.ApplyOperationBatchesAsync(
      std::move(batches),
      [&written](size_t, Result<OperationBatchResult> r) { written.set_value(std::move(r)); });
  return written.get_future().get();
}

TEST_P(StoreConformanceTest, AnOperationBatchWritesEachRunsChangeWithItsOutcome) {
  CreateRuns(*store_, 6,
             [this](const std::string& id, const std::string& ws) { return NewRun(id, ws); });
  ASSERT_TRUE(Ops(store_)
                  .CreateOperation(MakeOperation("op_1"), WaitingFor42(), 100,
                                   MakeAudit("aud_1", "ws_1", "operation.cancel", "op_1"))
                  .ok());
  // run_02 is cancelled by someone else after the operation started.
  Result<RunRecord> run_02 = store_->GetRun("run_02", false);
  ASSERT_TRUE(run_02.ok());
  RunTransition elsewhere = CancelTransition(*run_02, json{{"reason", "by hand"}}, kT0 + 8);
  ASSERT_TRUE(store_->TransitionRun(elsewhere).ok());

  auto make_batch = [this] {
    OperationBatch batch;
    batch.operation_id = "op_1";
    batch.runs.push_back(ControlOf("run_01", CancelIfWaiting));
    batch.runs.push_back(ControlOf("run_02", CancelIfWaiting));
    // Leaves the run as it is (pausing a paused run).
    batch.runs.push_back(
        ControlOf("run_03", [](const RunRecord&) -> Result<std::optional<RunTransition>> {
          return std::optional<RunTransition>();
        }));
    // Fails in the write after its first statement: rolled back alone.
    batch.runs.push_back(
        ControlOf("run_04", [](const RunRecord& run) -> Result<std::optional<RunTransition>> {
          RunTransition t = CancelTransition(run, json::object(), kT0 + 10);
          AgentTaskUpdate missing;
          missing.task_id = "task_nope";
          missing.status = "queued";
          missing.expect_status = "leased";
          t.update_task = missing;
          return std::optional<RunTransition>(std::move(t));
        }));
    // Refused before the write.
    OperationRunChange refused;
    refused.run_id = "run_05";
    refused.refused = Status(StatusCode::kUnavailable, "the connection is gone");
    batch.runs.push_back(std::move(refused));
    // A replay: its new run.
    OperationRunChange replay;
    replay.run_id = "run_06";
    replay.create = NewRun("run_replay");
    replay.create->replay_of = "run_06";
    batch.runs.push_back(std::move(replay));
    return batch;
  };
  {
    std::lock_guard lock(changed_mu_);
    changed_.clear();  // the runs' creations
  }
  Result<OperationBatchResult> written = ApplyBatch(Ops(store_), make_batch());
  ASSERT_TRUE(written.ok()) << written.status().message();
  ASSERT_EQ(written->outcomes.size(), 6u);
  auto state_of = [&](size_t i) {
    return written->outcomes[i].run_id + ":" + written->outcomes[i].state + ":" +
           written->outcomes[i].detail;
  };
  EXPECT_EQ(state_of(0), "run_01:done:");
  EXPECT_EQ(state_of(1), "run_02:skipped:invalid_transition");
  EXPECT_EQ(state_of(2), "run_03:skipped:unchanged");
  EXPECT_EQ(written->outcomes[3].state, "skipped");  // the lost compare-and-set on the task
  EXPECT_EQ(state_of(4), "run_05:failed:the connection is gone");
  EXPECT_EQ(state_of(5), "run_06:done:run_replay");
  EXPECT_EQ(written->operation.done, 2);
  EXPECT_EQ(written->operation.skipped, 3);
  EXPECT_EQ(written->operation.failed, 1);
  EXPECT_EQ(written->operation.status, "running");  // completed by RecordOperationProgress

  EXPECT_EQ(store_->GetRun("run_01", false)->status, RunStatus::kCancelled);
  EXPECT_EQ(store_->GetRun("run_01", false)->cancel["reason"], "incident 7");
  EXPECT_EQ(store_->GetRun("run_02", false)->cancel["reason"], "by hand");
  EXPECT_EQ(store_->GetRun("run_03", false)->status, RunStatus::kWaiting);
  Result<RunRecord> run_04 = store_->GetRun("run_04", false);
  EXPECT_EQ(run_04->status, RunStatus::kWaiting);  // nothing of its change written
  EXPECT_EQ(run_04->version, 1);
  EXPECT_EQ(store_->GetRun("run_replay", false)->replay_of, "run_06");
  ASSERT_EQ(store_->ListAudit("ws_1", "run_01", "", 10)->size(), 1u);
  EXPECT_TRUE(store_->ListAudit("ws_1", "run_04", "", 10)->empty());
  EXPECT_TRUE(Ops(store_).PendingOperationRuns("op_1", "", 10)->empty());
  EXPECT_TRUE(Changed().contains("run_01"));
  EXPECT_FALSE(Changed().contains("run_04"));

  // The same batch again (an operation resumed by a second instance): nothing is
  // changed twice (run_01 is cancelled now) nor counted twice. The replay's new run
  // exists already: that change fails and is not counted either.
  written = ApplyBatch(Ops(store_), make_batch());
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(state_of(0), "run_01:skipped:invalid_transition");
  EXPECT_EQ(written->outcomes[5].state, "failed");
  EXPECT_EQ(written->operation.done, 2);
  EXPECT_EQ(written->operation.skipped, 3);
  EXPECT_EQ(written->operation.failed, 1);
  EXPECT_EQ(store_->ListAudit("ws_1", "run_01", "", 10)->size(), 1u);
  EXPECT_EQ(store_->GetRun("run_01", false)->version, 2);
}

TEST_P(StoreConformanceTest, AnEarlyDecisionHoldsOnlyWhileTheRunIsAtItsVersion) {
  CreateRuns(*store_, 3,
             [this](const std::string& id, const std::string& ws) { return NewRun(id, ws); });
  ASSERT_TRUE(Ops(store_)
                  .CreateOperation(MakeOperation("op_1"), WaitingFor42(), 100,
                                   MakeAudit("aud_1", "ws_1", "operation.cancel", "op_1"))
                  .ok());
  Result<std::vector<RunRecord>> read = store_->GetRuns({"run_01", "run_02", "run_03", "run_nope"});
  ASSERT_TRUE(read.ok()) << read.status().message();
  ASSERT_EQ(read->size(), 3u);
  std::map<std::string, RunRecord> before;
  for (const RunRecord& run : *read) {
    before[run.id] = run;
  }
  // run_02 moves on after it was read: waiting at another step (same status, next version).
  RunTransition moved;
  moved.run_id = "run_02";
  moved.expected_version = before["run_02"].version;
  moved.expected_status = RunStatus::kWaiting;
  moved.now = kT0 + 9;
  moved.wait = json{{"kind", "event"}, {"event_type", "next"}};
  ASSERT_TRUE(store_->TransitionRun(moved).ok());

  // Each decided early to cancel, while `decide` would refuse: the early decision is
  // taken where the run did not move (run_01, run_03), `decide` where it did (run_02).
  auto refuse = [](const RunRecord&) -> Result<std::optional<RunTransition>> {
    return Status(StatusCode::kFailedPrecondition, "decided again", "decided_again");
  };
  OperationBatch batch;
  batch.operation_id = "op_1";
  for (const std::string id : {"run_01", "run_02", "run_03"}) {
    batch.runs.push_back(
        ControlOf(id, refuse, EarlyDecision{before[id].version, CancelIfWaiting(before[id])}));
  }
  Result<OperationBatchResult> written = ApplyBatch(Ops(store_), std::move(batch));
  ASSERT_TRUE(written.ok()) << written.status().message();
  ASSERT_EQ(written->outcomes.size(), 3u);
  EXPECT_EQ(written->outcomes[0].state, "done");
  EXPECT_EQ(written->outcomes[1].state, "skipped");
  EXPECT_EQ(written->outcomes[1].detail, "decided_again");
  EXPECT_EQ(written->outcomes[2].state, "done");
  EXPECT_EQ(store_->GetRun("run_01", false)->status, RunStatus::kCancelled);
  EXPECT_EQ(store_->GetRun("run_02", false)->status, RunStatus::kWaiting);
  EXPECT_EQ(store_->GetRun("run_02", false)->wait["event_type"], "next");
  EXPECT_EQ(store_->GetRun("run_03", false)->status, RunStatus::kCancelled);
  EXPECT_EQ(written->operation.done, 2);
  EXPECT_EQ(written->operation.skipped, 1);
}

}  // namespace
}  // namespace sw::store_test
