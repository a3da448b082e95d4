// BulkOperations through its interface on the real store and engine: the runs are fixed
// when the operation is created; a run that changed before the operations thread got
// to it is skipped, never forced (its status no longer allows the action, or no longer
// matches the filter's statuses); an operation left running is resumed by the next
// Start; previews and bad filters change nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "control/bulk_operations.h"
#include "control_fixture.h"

namespace sw::test {
namespace {

class BulkOperationsTest : public ControlServiceTest {
 protected:
  std::unique_ptr<BulkOperations> MakeBulk() {
    return std::make_unique<BulkOperations>(*store_, *store_, *control_, clock_, ids_);
  }

  OperationRecord WaitCompleted(BulkOperations& bulk, const std::string& id) {
    std::optional<OperationRecord> last;
    EXPECT_TRUE(WaitUntil([&] {
      Result<OperationRecord> op = bulk.Get(ctx_, id);
      if (op.ok()) {
        last = *op;
      }
      return op.ok() && op->status == "completed";
    }));
    return last.value_or(OperationRecord{});
  }
};

TEST_F(BulkOperationsTest, RunsChangedBeforeTheThreadGotToThemAreSkippedNotForced) {
  const std::string a = WaitingRun();
  const std::string b = WaitingRun();
  const std::string c = WaitingRun();
  std::unique_ptr<BulkOperations> bulk = MakeBulk();  // its thread not started yet
  Result<OperationRecord> op = bulk->Create(
      ctx_, BulkRequest{"cancel", json{{"status", "waiting"}, {"workflow_id", "gate"}}, "window"});
  ASSERT_TRUE(op.ok()) << op.status().message();
  EXPECT_EQ(op->total, 3);
  // b completes (cancel no longer allowed); c is cancelled by someone else.
  ASSERT_TRUE(control_->SendEvent(ctx_, b, "go", json::object()).ok());
  WaitStatus(b, RunStatus::kCompleted);
  ASSERT_TRUE(Control(c, RunAction::kCancel).ok());

  bulk->Start();
  OperationRecord done = WaitCompleted(*bulk, op->id);
  EXPECT_EQ(done.done, 1);
  EXPECT_EQ(done.skipped, 2);
  EXPECT_EQ(done.failed, 0);
  EXPECT_GT(done.finished_at, 0);
  EXPECT_EQ(Run(a).status, RunStatus::kCancelled);
  EXPECT_EQ(Run(a).cancel["reason"], "window");
  EXPECT_EQ(Run(b).status, RunStatus::kCompleted);
  EXPECT_EQ(Run(c).cancel["reason"], ControlService::kDefaultCancelReason);
  std::vector<AuditEntry> audit = AuditOf(a);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.front().action, "run.cancel");
  EXPECT_EQ(audit.front().request_id, op->id);
}

TEST_F(BulkOperationsTest, ARunThatLeftTheFiltersStatusesIsSkippedEvenWhenTheActionIsAllowed) {
  const std::string id = RunningRun();
  std::unique_ptr<BulkOperations> bulk = MakeBulk();
  Result<OperationRecord> op = bulk->Create(
      ctx_, BulkRequest{"cancel", json{{"status", "running"}, {"workflow_id", "slow"}}, ""});
  ASSERT_TRUE(op.ok()) << op.status().message();
  ASSERT_EQ(op->total, 1);
  // The http step answers: the run goes on to wait for its event (cancel is allowed
  // there, but the operator asked for running runs).
  std::optional<size_t> req = http_.InFlight(kSlowUrl);
  ASSERT_TRUE(req.has_value());
  ASSERT_TRUE(http_.Complete(*req, FakeHttpClient::JsonResponse(200, "{}")));
  WaitStatus(id, RunStatus::kWaiting);
  bulk->Start();
  OperationRecord done = WaitCompleted(*bulk, op->id);
  EXPECT_EQ(done.skipped, 1);
  EXPECT_EQ(done.done, 0);
  EXPECT_EQ(Run(id).status, RunStatus::kWaiting);
}

TEST_F(BulkOperationsTest, AnOperationOfManyBatchesChangesEachRunOnceWithOneAuditEntry) {
  const size_t n = BulkOperations::kRunsPerBatch * 2 + 5;
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    ids.push_back(WaitingRun());
  }
  std::unique_ptr<BulkOperations> bulk = MakeBulk();
  Result<OperationRecord> op = bulk->Create(
      ctx_, BulkRequest{"cancel", json{{"status", "waiting"}, {"workflow_id", "gate"}}, ""});
  ASSERT_TRUE(op.ok()) << op.status().message();
  ASSERT_EQ(op->total, static_cast<int64_t>(n));
  // Runs of the first, second and last batch complete meanwhile.
  const std::vector<size_t> completed = {0, BulkOperations::kRunsPerBatch + 1, n - 1};
  for (size_t i : completed) {
    ASSERT_TRUE(control_->SendEvent(ctx_, ids[i], "go", json::object()).ok());
    WaitStatus(ids[i], RunStatus::kCompleted);
  }
  bulk->Start();
  OperationRecord done = WaitCompleted(*bulk, op->id);
  EXPECT_EQ(done.done, static_cast<int64_t>(n - completed.size()));
  EXPECT_EQ(done.skipped, static_cast<int64_t>(completed.size()));
  EXPECT_EQ(done.failed, 0);
  for (size_t i = 0; i < n; ++i) {
    const bool skipped = std::find(completed.begin(), completed.end(), i) != completed.end();
    EXPECT_EQ(Run(ids[i]).status, skipped ? RunStatus::kCompleted : RunStatus::kCancelled) << i;
    size_t cancels = 0;
    for (const AuditEntry& a : AuditOf(ids[i])) {
      if (a.action == "run.cancel") {
        ++cancels;
        EXPECT_EQ(a.request_id, op->id);
      }
    }
    EXPECT_EQ(cancels, skipped ? 0u : 1u) << i;
  }
}

TEST_F(BulkOperationsTest, AnOperationLeftRunningIsResumedByTheNextStart) {
  const std::string a = WaitingRun();
  const std::string b = WaitingRun();
  std::string op_id;
  {
    std::unique_ptr<BulkOperations> bulk = MakeBulk();
    Result<OperationRecord> op =
        bulk->Create(ctx_, BulkRequest{"cancel", json{{"workflow_id", "gate"}}, ""});
    ASSERT_TRUE(op.ok()) << op.status().message();
    op_id = op->id;
  }  // gone before its thread ever ran: as after a crash
  EXPECT_EQ(Run(a).status, RunStatus::kWaiting);
  std::unique_ptr<BulkOperations> next = MakeBulk();
  next->Start();
  OperationRecord done = WaitCompleted(*next, op_id);
  EXPECT_EQ(done.total, 2);
  EXPECT_EQ(done.done, 2);
  EXPECT_EQ(Run(a).status, RunStatus::kCancelled);
  EXPECT_EQ(Run(b).status, RunStatus::kCancelled);
}

TEST_F(BulkOperationsTest, PreviewAndRefusedRequestsChangeNothing) {
  const std::string a = WaitingRun();
  const int64_t version = Run(a).version;
  std::unique_ptr<BulkOperations> bulk = MakeBulk();
  bulk->Start();
  Result<BulkPreview> preview =
      bulk->Preview(ctx_, BulkRequest{"cancel", json{{"status", "waiting"}}, ""});
  ASSERT_TRUE(preview.ok()) << preview.status().message();
  EXPECT_EQ(preview->count, 1);
  EXPECT_EQ(preview->sample, std::vector<std::string>{a});
  for (const BulkRequest& bad : {BulkRequest{"explode", json::object(), ""},
                                 BulkRequest{"cancel", json{{"colour", "red"}}, ""},
                                 BulkRequest{"cancel", json{{"status", "sleepy"}}, ""},
                                 BulkRequest{"cancel", json{{"limit", 5}}, ""},
                                 BulkRequest{"pause", json::object(), "why"}}) {
    Result<OperationRecord> op = bulk->Create(ctx_, bad);
    EXPECT_EQ(op.status().code(), StatusCode::kInvalidArgument) << bad.action << bad.filter;
  }
  EXPECT_EQ(Run(a).version, version);
  EXPECT_EQ(bulk->Get(ctx_, "op_nope").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sw::test
