// OperationStore keeps bulk operations (store/operation_records.h): the runs a filter
// matched when an operation started, each with its state, and the operation's
// counters. A seam of its own beside Store (store/store.h): the SQL store implements
// both, over the same database and writer, so an operation's rows and the runs it
// selects are read and written in the same transactions as everything else.
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/operation_records.h"
#include "store/store.h"

namespace sw {

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
};

}  // namespace sw
