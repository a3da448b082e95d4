// Bulk operations (API.md "Bulk controls", docs/bulk.md): one control — pause, resume,
// cancel or replay — applied to every run of a workspace that a run filter matches.
//
// Create fixes the matching runs with the operation in one commit (each pending), then
// the operations thread applies the control to each run as its own control request
// would (ControlService::PrepareBatchControl / PrepareBatchReplay: the same
// compare-and-set, audit entry and stop of the work in flight). It hands the runs to
// the store in batches of kRunsPerBatch, kBatchesPerGroup batches queued together
// (OperationStore::ApplyOperationBatchesAsync), so one transaction of the writer
// carries a group's runs with their outcomes; the next group is prepared while one
// commits (the first groups are smaller, so the writer starts early). Each control is decided early
// on the run as read with its batch, and the write takes that decision only if the run is still at
// the version it was decided on (else it decides again on the run as it finds it). A run whose
// status no longer allows the action — or no longer matches the filter's statuses — counts as
// skipped, never forced; any other error counts as failed. When every run has its outcome (and each
// changed run's stop of work was sent) the operation is completed, and audited as its creation was.
//
// An operation interrupted by a stop or a crash is still `running` in the store with
// its remaining runs pending: Start resumes it. A run's change and its outcome commit
// together, so every run is changed at most once and counted once.
//
// Thread-safe. Borrows the stores, control service, clock and id source, which outlive
// it. One thread works through the operations one at a time, oldest first.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "control/service.h"
#include "core/result.h"
#include "store/operation_store.h"
#include "store/store.h"

namespace sw {

struct BulkRequest {
  std::string action;                                // pause | resume | cancel | replay
  nlohmann::json filter = nlohmann::json::object();  // as given, kept with the operation
  std::string reason;                                // cancel only
};

struct BulkPreview {
  int64_t count = 0;
  std::vector<std::string> sample;  // the newest matching runs' ids, at most kSampleSize
};

class BulkOperations {
 public:
  static constexpr int64_t kMaxRuns = 100000;
  static constexpr int kSampleSize = 20;
  // Runs changed in one change of the store's writer.
  static constexpr size_t kRunsPerBatch = 128;
  // Batches queued for the writer at once: one transaction's worth (1,024 runs).
  static constexpr size_t kBatchesPerGroup = 8;
  // Batches queued or being committed at once: the group being committed and the next.
  static constexpr size_t kMaxBatchesInFlight = 2 * kBatchesPerGroup;
  // Pending runs read from the store at a time.
  static constexpr int kPageSize = 4096;
  static constexpr size_t kMaxReasonBytes = 1000;

  BulkOperations(Store& store, OperationStore& operations, ControlService& control,
                 const Clock& clock, IdSource& ids)
      : store_(store), operations_(operations), control_(control), clock_(clock), ids_(ids) {}
  ~BulkOperations() { Stop(); }

  // kInvalidArgument (naming the field) for an unknown action or a bad filter.
  Result<BulkPreview> Preview(const RequestContext& ctx, const BulkRequest& request);
  // The operation as created (running, its total set); the thread starts on it.
  Result<OperationRecord> Create(const RequestContext& ctx, const BulkRequest& request);
  // kNotFound for an unknown id or another workspace's operation.
  Result<OperationRecord> Get(const RequestContext& ctx, const std::string& id);

  // The operations thread; Start resumes the operations left running.
  void Start();
  // Stops after the requests in flight have answered and their outcomes are recorded;
  // what is left stays pending for the next Start.
  void Stop();

 private:
  // A batch's write, answered: its runs' finishes (empty for a run refused before the
  // write) in the batch's order.
  struct Answer {
    std::vector<std::function<void()>> finishes;
    Result<OperationBatchResult> written;
  };
  void Loop();
  void Run(const std::string& operation_id);
  // Prepares the changes of `op` on `run_ids` as batches, each control decided early on
  // the run as read now, and queues them together without waiting.
  void Issue(const OperationRecord& op, const RequestContext& ctx, const ControlRequest& request,
             std::span<const std::string> run_ids);
  // One batch of `run_ids` (at most kRunsPerBatch); its runs' finishes go to `finishes`.
  OperationBatch PrepareBatch(const OperationRecord& op, const RequestContext& ctx,
                              const ControlRequest& request, std::span<const std::string> run_ids,
                              std::vector<std::function<void()>>& finishes);
  // Takes the batches answered (waiting for one when `wait`) and finishes their changed
  // runs. False when a batch's write failed (its runs are pending still).
  bool TakeAnswers(bool wait);
  // Completes the operation if none of its runs is pending. True when it is completed.
  bool Finish(const OperationRecord& op);
  bool Stopping();

  Store& store_;
  OperationStore& operations_;
  ControlService& control_;
  const Clock& clock_;
  IdSource& ids_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // operations to run; guarded by mu_
  std::vector<Answer> answers_;    // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  size_t in_flight_ = 0;           // batches; touched only by the thread
  std::thread thread_;             // started and joined by the owner's thread
};

}  // namespace sw
