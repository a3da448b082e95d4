// Bulk operations (API.md "Bulk controls", docs/bulk.md): one control — pause, resume,
// cancel or replay — applied to every run of a workspace that a run filter matches.
//
// Create fixes the matching runs with the operation in one commit (each pending), then
// the operations thread applies the control to each run as its own control request
// would (ControlService::ControlAsync / ReplayAsync: the same compare-and-set, audit
// entry and stop of the work in flight). The requests are issued without waiting, up
// to kMaxInFlight at once, so the store's writer commits hundreds of them per
// transaction; their outcomes are recorded kProgressBatch at a time. A run whose status
// no longer allows the action — or no longer matches the filter's statuses — counts as
// skipped, never forced; any other error counts as failed. When every run has its
// outcome the operation is completed (and audited, as its creation was).
//
// An operation interrupted by a stop or a crash is still `running` in the store with
// its remaining runs pending: Start resumes it. A run changed before the crash whose
// outcome was not yet recorded is counted again, as skipped (its status no longer
// allows the action), so every run is counted once.
//
// Thread-safe. Borrows the stores, control service, clock and id source, which outlive
// it. One thread works through the operations one at a time, oldest first.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
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
  // Control requests committed or waiting for their commit at once.
  static constexpr size_t kMaxInFlight = 1024;
  // Pending runs read from the store at a time.
  static constexpr int kPageSize = 4096;
  // Outcomes recorded per commit.
  static constexpr size_t kProgressBatch = 2048;
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
  struct Answer {
    std::string run_id;
    ControlOutcome outcome;
  };
  void Loop();
  void Run(const std::string& operation_id);
  // Issues the control of `op` on `run_id` without waiting. On an idle store a change
  // is committed in place by the thread that asks, alone; so the first of a run of them
  // is sent from kicker_, and the next ones, issued here while it commits, queue up for
  // the writer and share its batches.
  void Issue(const OperationRecord& op, const RequestContext& ctx, const ControlRequest& request,
             const std::string& run_id);
  // Finishes the answers that came (waiting for one when `wait`), adding their outcomes.
  void TakeAnswers(bool wait, std::vector<OperationRunOutcome>& outcomes);
  // Records `outcomes` (and, with `finish`, completes the operation); empties them.
  // True when the operation is completed after.
  bool Record(const OperationRecord& op, std::vector<OperationRunOutcome>& outcomes, bool finish);
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
  size_t in_flight_ = 0;           // touched only by the thread
  std::thread thread_;             // started and joined by the owner's thread
  // Sends a control when the store is idle (Issue); started and joined by the thread.
  std::thread kicker_;
};

}  // namespace sw
