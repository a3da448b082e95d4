#include "control/bulk_operations.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <unordered_map>

#include "control/run_filter.h"
#include "core/thread_name.h"

namespace sw {

using nlohmann::json;

namespace {

// How long the thread waits before it looks at an operation again after the store
// failed it (an unhealthy store, a database out of reach).
constexpr auto kRetryAfterStoreError = std::chrono::seconds(1);

std::optional<RunAction> ControlActionOf(const std::string& action) {
  if (action == "pause") return RunAction::kPause;
  if (action == "resume") return RunAction::kResume;
  if (action == "cancel") return RunAction::kCancel;
  return std::nullopt;
}

Status CheckRequest(const BulkRequest& request) {
  if (!ControlActionOf(request.action) && request.action != "replay") {
    return InvalidArgument("'action' must be one of pause, resume, cancel, replay",
                           {.field = "action"});
  }
  if (!request.reason.empty() && request.action != "cancel") {
    return InvalidArgument("'reason' is for the cancel action only", {.field = "reason"});
  }
  if (request.reason.size() > BulkOperations::kMaxReasonBytes) {
    return InvalidArgument("'reason' is longer than 1000 characters", {.field = "reason"});
  }
  return Status::Ok();
}

// The caller of each run's control: the operation's actor, acting as an operator, with
// the operation's id as the request id (each run's audit entry names the operation).
RequestContext ContextOf(const OperationRecord& op) {
  RequestContext ctx;
  ctx.principal.workspace_id = op.workspace_id;
  ctx.principal.token_name = op.actor.starts_with("token:") ? op.actor.substr(6) : op.actor;
  ctx.principal.role = Role::kOperator;
  ctx.request_id = op.id;
  return ctx;
}

AuditEntry OperationAudit(IdSource& ids, const OperationRecord& op, int64_t at,
                          const std::string& request_id, std::string action, std::string reason,
                          std::string before, std::string after) {
  AuditEntry a;
  a.id = ids.Next("aud");
  a.workspace_id = op.workspace_id;
  a.at = at;
  a.actor = op.actor;
  a.action = std::move(action);
  a.target = op.id;
  a.reason = std::move(reason);
  a.request_id = request_id;
  a.status_before = std::move(before);
  a.status_after = std::move(after);
  return a;
}

}  // namespace

Result<BulkPreview> BulkOperations::Preview(const RequestContext& ctx, const BulkRequest& request) {
  if (Status s = CheckRequest(request); !s.ok()) {
    return s;
  }
  Result<RunFilter> filter = ParseRunFilterJson(request.filter);
  if (!filter.ok()) {
    return filter.status();
  }
  Result<int64_t> count = operations_.CountRuns(ctx.principal.workspace_id, *filter);
  if (!count.ok()) {
    return count.status();
  }
  filter->limit = kSampleSize;
  Result<RunPage> page = store_.ListRuns(ctx.principal.workspace_id, *filter);
  if (!page.ok()) {
    return page.status();
  }
  BulkPreview preview;
  preview.count = *count;
  for (const RunRecord& run : page->items) {
    preview.sample.push_back(run.id);
  }
  return preview;
}

Result<OperationRecord> BulkOperations::Create(const RequestContext& ctx,
                                               const BulkRequest& request) {
  if (Status s = CheckRequest(request); !s.ok()) {
    return s;
  }
  Result<RunFilter> filter = ParseRunFilterJson(request.filter);
  if (!filter.ok()) {
    return filter.status();
  }
  OperationRecord op;
  op.id = ids_.Next("op");
  op.workspace_id = ctx.principal.workspace_id;
  op.action = request.action;
  op.filter = request.filter;
  op.reason = request.reason;
  op.actor = ctx.principal.actor();
  op.created_at = clock_.NowMs();
  Result<OperationRecord> created = operations_.CreateOperation(
      op, *filter, kMaxRuns,
      OperationAudit(ids_, op, op.created_at, ctx.request_id, "operation." + op.action, op.reason,
                     "", "running"));
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kResourceExhausted) {
      return InvalidArgument(std::string(created.status().message()), {.field = "filter"});
    }
    return created.status();
  }
  spdlog::info("event=operation.start operation={} action={} runs={} actor={} request_id={}",
               created->id, created->action, created->total, created->actor, ctx.request_id);
  {
    std::lock_guard lock(mu_);
    queue_.push_back(created->id);
  }
  cv_.notify_all();
  return created;
}

Result<OperationRecord> BulkOperations::Get(const RequestContext& ctx, const std::string& id) {
  Result<OperationRecord> op = operations_.GetOperation(id);
  if (!op.ok() && op.status().code() != StatusCode::kNotFound) {
    return op.status();
  }
  if (!op.ok() || op->workspace_id != ctx.principal.workspace_id) {
    return NotFound("operation " + id + " not found");
  }
  return op;
}

void BulkOperations::Start() {
  Result<std::vector<std::string>> running = operations_.ListRunningOperations();
  if (!running.ok()) {
    spdlog::error("cannot list the bulk operations left running: {}", running.status().message());
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
    if (running.ok()) {
      queue_.insert(queue_.end(), running->begin(), running->end());
    }
  }
  if (running.ok() && !running->empty()) {
    spdlog::info("resuming {} bulk operation(s) left running", running->size());
  }
  thread_ = std::thread([this] {
    NameThisThread("sw-bulk");
    Loop();
  });
}

void BulkOperations::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool BulkOperations::Stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

void BulkOperations::Loop() {
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        return;
      }
      id = queue_.front();
      queue_.pop_front();
    }
    Run(id);
  }
}

void BulkOperations::Run(const std::string& operation_id) {
  Result<OperationRecord> op = operations_.GetOperation(operation_id);
  if (!op.ok() || op->status != "running") {
    if (!op.ok()) {
      spdlog::error("operation {}: cannot read it: {}", operation_id, op.status().message());
    }
    return;
  }
  const RequestContext ctx = ContextOf(*op);
  ControlRequest request;
  if (std::optional<RunAction> action = ControlActionOf(op->action)) {
    request.action = *action;
    request.reason = op->reason;
    // A run that left the statuses the filter asked for changed meanwhile: skipped.
    if (Result<RunFilter> filter = ParseRunFilterJson(op->filter);
        filter.ok() && filter->statuses) {
      request.expected_status_in = *filter->statuses;
    }
  }
  std::string after;
  bool store_failed = false;
  // Batches in the next group: one at first, so the writer starts while the next are
  // prepared, then twice as many each time up to kBatchesPerGroup.
  size_t batches = 1;
  while (!Stopping()) {
    Result<std::vector<std::string>> page =
        operations_.PendingOperationRuns(operation_id, after, kPageSize);
    if (!page.ok()) {
      spdlog::error("operation {}: cannot read its runs: {}", operation_id,
                    page.status().message());
      store_failed = true;
      break;
    }
    if (page->empty()) {
      break;
    }
    const std::span<const std::string> runs(*page);
    for (size_t i = 0; i < runs.size() && !Stopping();) {
      while (in_flight_ + batches > kMaxBatchesInFlight) {
        store_failed = !TakeAnswers(/*wait=*/true) || store_failed;
      }
      const size_t n = std::min(kRunsPerBatch * batches, runs.size() - i);
      Issue(*op, ctx, request, runs.subspan(i, n));
      i += n;
      batches = std::min(2 * batches, kBatchesPerGroup);
      store_failed = !TakeAnswers(/*wait=*/false) || store_failed;
    }
    after = page->back();
  }
  while (in_flight_ > 0) {
    store_failed = !TakeAnswers(/*wait=*/true) || store_failed;
  }
  const bool finish = !store_failed && !Stopping();
  if (finish && !Finish(*op)) {
    store_failed = true;  // not completed: runs are pending still
  }
  if (store_failed && !Stopping()) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kRetryAfterStoreError, [this] { return stopping_; });
    queue_.push_back(operation_id);  // looked at again (or after the next start)
  }
}

void BulkOperations::Issue(const OperationRecord& op, const RequestContext& ctx,
                           const ControlRequest& request, std::span<const std::string> run_ids) {
  std::vector<OperationBatch> batches;
  auto finishes = std::make_shared<std::vector<std::vector<std::function<void()>>>>();
  for (size_t i = 0; i < run_ids.size(); i += kRunsPerBatch) {
    finishes->emplace_back();
    batches.push_back(PrepareBatch(op, ctx, request,
                                   run_ids.subspan(i, std::min(kRunsPerBatch, run_ids.size() - i)),
                                   finishes->back()));
  }
  in_flight_ += batches.size();
  // Answered on the store's writer: only hand the answer over; the runs are finished on
  // this thread.
  operations_.ApplyOperationBatchesAsync(
      std::move(batches), [this, finishes](size_t index, Result<OperationBatchResult> written) {
        {
          std::lock_guard lock(mu_);
          answers_.push_back(Answer{std::move((*finishes)[index]), std::move(written)});
        }
        cv_.notify_all();
      });
}

OperationBatch BulkOperations::PrepareBatch(const OperationRecord& op, const RequestContext& ctx,
                                            const ControlRequest& request,
                                            std::span<const std::string> run_ids,
                                            std::vector<std::function<void()>>& finishes) {
  const bool replay = op.action == "replay";
  // The runs as they are now, for the early decisions (a run not read is decided in the
  // write; so is every run if the read fails).
  std::unordered_map<std::string, RunRecord> read;
  if (!replay) {
    Result<std::vector<RunRecord>> runs =
        store_.GetRuns(std::vector<std::string>(run_ids.begin(), run_ids.end()));
    if (runs.ok()) {
      for (RunRecord& run : *runs) {
        std::string id = run.id;
        read.emplace(std::move(id), std::move(run));
      }
    }
  }
  OperationBatch batch;
  batch.operation_id = op.id;
  batch.runs.reserve(run_ids.size());
  finishes.reserve(run_ids.size());
  for (const std::string& run_id : run_ids) {
    Result<PreparedChange> prepared = replay ? control_.PrepareBatchReplay(ctx, run_id)
                                             : control_.PrepareBatchControl(ctx, run_id, request);
    OperationRunChange change;
    change.run_id = run_id;
    if (!prepared.ok()) {
      change.refused = prepared.status();
      finishes.push_back(nullptr);
      batch.runs.push_back(std::move(change));
      continue;
    }
    if (auto it = read.find(run_id); it != read.end()) {
      change.decided = EarlyDecision{it->second.version, prepared->decide(it->second)};
    }
    change.decide = std::move(prepared->decide);
    change.create = std::move(prepared->create);
    finishes.push_back(std::move(prepared->finish));
    batch.runs.push_back(std::move(change));
  }
  return batch;
}

bool BulkOperations::TakeAnswers(bool wait) {
  std::vector<Answer> taken;
  {
    std::unique_lock lock(mu_);
    if (wait) {
      cv_.wait(lock, [this] { return !answers_.empty(); });
    }
    taken.swap(answers_);
  }
  bool all_written = true;
  for (Answer& a : taken) {
    --in_flight_;
    if (!a.written.ok()) {
      // Nothing of the batch was written: its runs are done again later.
      spdlog::error("a bulk operation's batch of {} runs failed: {}", a.finishes.size(),
                    a.written.status().message());
      all_written = false;
      continue;
    }
    const std::vector<OperationRunOutcome>& outcomes = a.written->outcomes;
    SW_CHECK(outcomes.size() == a.finishes.size());
    for (size_t i = 0; i < outcomes.size(); ++i) {
      if (outcomes[i].state == "done" && a.finishes[i]) {
        a.finishes[i]();
      }
    }
  }
  return all_written;
}

bool BulkOperations::Finish(const OperationRecord& op) {
  OperationProgress progress;
  progress.operation_id = op.id;
  const int64_t now = clock_.NowMs();
  progress.finish_at = now;
  progress.finish_audit =
      OperationAudit(ids_, op, now, op.id, "operation.complete", "", "running", "completed");
  Result<OperationRecord> after = operations_.RecordOperationProgress(progress);
  if (!after.ok()) {
    spdlog::error("operation {}: cannot complete it: {}", op.id, after.status().message());
    return false;
  }
  if (after->status != "completed") {
    return false;
  }
  spdlog::info(
      "event=operation.complete operation={} action={} total={} done={} skipped={} failed={}",
      after->id, after->action, after->total, after->done, after->skipped, after->failed);
  return true;
}

}  // namespace sw
