// OperationStore keeps bulk operations (store/operation_records.h): the runs a filter
// matched when an operation started, each with its state, and the operation's
// counters. A seam of its own beside Store (store/store.h): the SQL store implements
// both, over the same database and writer, so an operation's rows and the runs it
// selects are read and written in the same transactions as everything else.
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/operation_records.h"
#include "store/store.h"

namespace sw {

// What a control's `decide` answered on a run read before the write, at `version`.
struct EarlyDecision {
  int64_t version = 0;
  Result<std::optional<RunTransition>> answer = std::optional<RunTransition>();
};

// One run of an operation's batch (ApplyOperationBatchesAsync): a control decided in the
// batch's write on the run as it is then, a replay's new run to create, or neither when
// the change was refused before the write (`refused`, the run's outcome). A control may
// come `decided` on the run as read before: the write takes that answer when it finds
// the run still at that version (every change of a run moves its version, so it would
// decide the same), and calls `decide` on the run as it finds it otherwise.
struct OperationRunChange {
  std::string run_id;
  Store::DecideTransition decide;
  std::optional<EarlyDecision> decided;
  std::optional<RunRecord> create;
  Status refused;
};

// Runs of one operation changed in one write, each with its outcome.
struct OperationBatch {
  std::string operation_id;
  std::vector<OperationRunChange> runs;
};

// What a batch's write did: each run's outcome, in the batch's order, and the operation
// as it is after the write.
struct OperationBatchResult {
  std::vector<OperationRunOutcome> outcomes;
  OperationRecord operation;
};

class OperationStore {
 public:
  virtual ~OperationStore() = default;

  // How many runs of the workspace match `filter` (its cursor and limit ignored).
  virtual Result<int64_t> CountRuns(const std::string& workspace_id, const RunFilter& filter) = 0;
  // Creates `op` (running, nothing counted yet) with every run of its workspace that
  // matches `filter` (pending), and `audit`, in one commit: the runs are fixed then.
  // Answers it as created, its total set. kResourceExhausted (nothing written) when
  // more than `max_runs` match.
  virtual Result<OperationRecord> CreateOperation(const OperationRecord& op,
                                                  const RunFilter& filter, int64_t max_runs,
                                                  const AuditEntry& audit) = 0;
  virtual Result<OperationRecord> GetOperation(const std::string& id) = 0;
  // The ids of the operations still running, oldest first (resumed after a restart).
  virtual Result<std::vector<std::string>> ListRunningOperations() = 0;
  // Up to `limit` runs of the operation still pending with ids after `after`, in id
  // order.
  virtual Result<std::vector<std::string>> PendingOperationRuns(const std::string& operation_id,
                                                                const std::string& after,
                                                                int limit) = 0;
  // See OperationProgress. Answers the operation as it is after.
  virtual Result<OperationRecord> RecordOperationProgress(const OperationProgress& p) = 0;

  // Queues `batches` for the store's writer together, one change each, never committed
  // in place on the calling thread, so that one transaction of the writer takes them
  // all; calls `done` with each batch's index once it committed or failed, on the
  // writer. For each run, in the write: its change, then its outcome, which it takes
  // only if still pending (counted once, as RecordOperationProgress counts). Outcomes:
  // a change applied is `done` (a replay's detail is its new run's id); a control that
  // left the run as it was is `skipped` ("unchanged"); kFailedPrecondition or kAborted
  // (the status no longer allows it, or it is no longer one of the expected statuses)
  // is `skipped` with the error's reason; any other error is `failed`, with the run's
  // change rolled back alone. A failure of the write as a whole (the disk full, the
  // database out of reach) fails the batch: nothing of it is written and its runs stay
  // pending.
  using OperationBatchDone = std::function<void(size_t index, Result<OperationBatchResult>)>;
  virtual void ApplyOperationBatchesAsync(std::vector<OperationBatch> batches,
                                          OperationBatchDone done) = 0;
};

}  // namespace sw
