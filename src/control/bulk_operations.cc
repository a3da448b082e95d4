#include "control/bulk_operations.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "control/run_filter.h"

namespace sw {

using nlohmann::json;

namespace {

// How long the thread waits before it looks at an operation again after the store
// failed it (an unhealthy store, a database out of reach).
constexpr auto kRetryAfterStoreError = std::chrono::seconds(1);
// How long Issue waits for the kicker's change to hold the store's writer.
constexpr auto kMaxKickWait = std::chrono::milliseconds(5);

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

// What one run's answer counts as.
OperationRunOutcome OutcomeOf(const std::string& run_id, bool changed,
                              const Result<RunRecord>& answer) {
  if (answer.ok()) {
    // A replay's detail is the new run; a control that changed nothing was skipped.
    return changed
               ? OperationRunOutcome{run_id, "done", answer->replay_of.empty() ? "" : answer->id}
               : OperationRunOutcome{run_id, "skipped", "unchanged"};
  }
  const Status& s = answer.status();
  const std::string why = s.reason().empty() ? s.message() : std::string(s.reason());
  if (s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kAborted) {
    return {run_id, "skipped", why};  // the status no longer allows it: not forced
  }
  return {run_id, "failed", why};
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
  thread_ = std::thread([this] { Loop(); });
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
  std::vector<OperationRunOutcome> outcomes;
  std::string after;
  bool store_failed = false;
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
    for (const std::string& run_id : *page) {
      while (in_flight_ >= kMaxInFlight) {
        TakeAnswers(/*wait=*/true, outcomes);
      }
      Issue(*op, ctx, request, run_id);
      TakeAnswers(/*wait=*/false, outcomes);
      if (outcomes.size() >= kProgressBatch) {
        Record(*op, outcomes, /*finish=*/false);
      }
    }
    after = page->back();
  }
  while (in_flight_ > 0) {
    TakeAnswers(/*wait=*/true, outcomes);
  }
  if (kicker_.joinable()) {
    kicker_.join();
  }
  const bool finish = !store_failed && !Stopping();
  const bool completed = Record(*op, outcomes, finish);
  if (finish && !completed) {
    store_failed = true;  // outcomes not recorded: their runs are pending still
  }
  if (store_failed && !Stopping()) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kRetryAfterStoreError, [this] { return stopping_; });
    queue_.push_back(operation_id);  // looked at again (or after the next start)
  }
}

void BulkOperations::Issue(const OperationRecord& op, const RequestContext& ctx,
                           const ControlRequest& request, const std::string& run_id) {
  ++in_flight_;
  // May run at once on the sending thread (an idle store), else on the store's writer:
  // only hand the outcome over; it is finished on this thread.
  auto committed = [this, run_id](ControlOutcome outcome) {
    {
      std::lock_guard lock(mu_);
      answers_.push_back(Answer{run_id, std::move(outcome)});
    }
    cv_.notify_all();
  };
  auto send = [this, replay = op.action == "replay", ctx, request, run_id,
               committed = std::move(committed)]() mutable {
    if (replay) {
      control_.ReplayAsync(ctx, run_id, std::move(committed));
    } else {
      control_.ControlAsync(ctx, run_id, request, std::move(committed));
    }
  };
  if (store_.WriterBusy()) {
    send();  // queued behind what the writer commits
    return;
  }
  if (kicker_.joinable()) {
    kicker_.join();
  }
  kicker_ = std::thread(std::move(send));
  // Until its commit holds the writer (bounded: a commit may also be over before).
  const auto deadline = std::chrono::steady_clock::now() + kMaxKickWait;
  while (!store_.WriterBusy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
}

void BulkOperations::TakeAnswers(bool wait, std::vector<OperationRunOutcome>& outcomes) {
  std::vector<Answer> taken;
  {
    std::unique_lock lock(mu_);
    if (wait) {
      cv_.wait(lock, [this] { return !answers_.empty(); });
    }
    taken.swap(answers_);
  }
  for (Answer& a : taken) {
    --in_flight_;
    Result<RunRecord> answer = a.outcome.finish();
    outcomes.push_back(OutcomeOf(a.run_id, a.outcome.changed, answer));
  }
}

bool BulkOperations::Record(const OperationRecord& op, std::vector<OperationRunOutcome>& outcomes,
                            bool finish) {
  if (outcomes.empty() && !finish) {
    return false;
  }
  OperationProgress progress;
  progress.operation_id = op.id;
  progress.outcomes.swap(outcomes);
  const size_t recorded = progress.outcomes.size();
  if (finish) {
    const int64_t now = clock_.NowMs();
    progress.finish_at = now;
    progress.finish_audit =
        OperationAudit(ids_, op, now, op.id, "operation.complete", "", "running", "completed");
  }
  Result<OperationRecord> after = operations_.RecordOperationProgress(progress);
  if (!after.ok()) {
    // The runs stay pending: done again after a restart, they then count as skipped.
    spdlog::error("operation {}: cannot record {} outcome(s): {}", op.id, recorded,
                  after.status().message());
    return false;
  }
  if (after->status != "completed") {
    return false;
  }
  if (finish) {
    spdlog::info(
        "event=operation.complete operation={} action={} total={} done={} skipped={} failed={}",
        after->id, after->action, after->total, after->done, after->skipped, after->failed);
  }
  return true;
}

}  // namespace sw
