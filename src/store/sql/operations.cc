// SqlStore's bulk operations. See sql_store.h. CreateOperation fixes an operation's
// runs with one INSERT … SELECT over the run filter's own query (store/sql/run_search.h)
// in the transaction that creates it, so the runs are exactly those that matched at
// that commit. Each run's state moves from pending once (RecordOperationProgress's
// `state = 'pending'` guard), which keeps the counters right when an operation resumed
// after a restart records a run again. ApplyOperationBatchesAsync writes runs' changes and
// their outcomes in one transaction, so a restart finds each run either pending and
// unchanged or changed with its outcome.
#include <nlohmann/json.hpp>

#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/run_search.h"
#include "store/sql/run_writes.h"
#include "store/sql/sql_store.h"
#include "store/sql/transition.h"

namespace sw {

using sql::Connection;
using sql::Savepoint;
using sql::Statement;

namespace {

constexpr char kOperationColumns[] =
    "id, workspace_id, action, run_filter, reason, actor, status, total, done, skipped, failed, "
    "created_at, finished_at";

Result<OperationRecord> ReadOperation(const Statement& s) {
  OperationRecord r;
  r.id = s.Text(0);
  r.workspace_id = s.Text(1);
  r.action = s.Text(2);
  r.filter = s.Json(3);
  r.reason = s.Text(4);
  r.actor = s.Text(5);
  r.status = s.Text(6);
  r.total = s.Int(7);
  r.done = s.Int(8);
  r.skipped = s.Int(9);
  r.failed = s.Int(10);
  r.created_at = s.Int(11);
  r.finished_at = s.Int(12);
  if (r.status != "running" && r.status != "completed") {
    return DataCorruption("operations", r.id, "status", r.status);
  }
  if (r.filter.is_discarded() || !r.filter.is_object()) {
    return DataCorruption("operations", r.id, "run_filter", s.Text(3));
  }
  return r;
}

Result<OperationRecord> SelectOperation(Connection& db, const std::string& id) {
  return sql::SelectById<OperationRecord>(db, kOperationColumns, "operations", id, ReadOperation,
                                          "operation");
}

// Moves the runs of `p` still pending to their outcome and adds them to the counters.
Status ApplyOutcomes(Connection& db, const OperationProgress& p) {
  int64_t done = 0;
  int64_t skipped = 0;
  int64_t failed = 0;
  for (const OperationRunOutcome& o : p.outcomes) {
    Status s = sql::Exec(db,
                         "UPDATE operation_runs SET state = ?3, detail = ?4 WHERE operation_id = "
                         "?1 AND run_id = ?2 AND state = 'pending'",
                         [&](Statement& q) {
                           q.Bind(1, p.operation_id).Bind(2, o.run_id).Bind(3, o.state);
                           q.Bind(4, o.detail);
                         });
    if (!s.ok()) {
      return s;
    }
    if (db.Changes() == 1) {
      (o.state == "done" ? done : o.state == "skipped" ? skipped : failed) += 1;
    }
  }
  if (done + skipped + failed == 0) {
    return Status::Ok();
  }
  return sql::Exec(db,
                   "UPDATE operations SET done = done + ?2, skipped = skipped + ?3, "
                   "failed = failed + ?4 WHERE id = ?1",
                   [&](Statement& q) {
                     q.Bind(1, p.operation_id).Bind(2, done).Bind(3, skipped).Bind(4, failed);
                   });
}

// Completes the operation if none of its runs is pending any more.
Status FinishIfDone(Connection& db, const OperationProgress& p) {
  Result<std::vector<int64_t>> pending = sql::QueryAll<int64_t>(
      db, "SELECT COUNT(*) FROM operation_runs WHERE operation_id = ?1 AND state = 'pending'",
      [&](Statement& q) { q.Bind(1, p.operation_id); },
      [](const Statement& q) { return q.Int(0); });
  if (!pending.ok()) {
    return pending.status();
  }
  if (!pending->empty() && pending->front() > 0) {
    return Status::Ok();
  }
  Status s =
      sql::Exec(db,
                "UPDATE operations SET status = 'completed', finished_at = ?2 WHERE id = ?1 AND "
                "status = 'running'",
                [&](Statement& q) { q.Bind(1, p.operation_id).Bind(2, *p.finish_at); });
  if (!s.ok() || db.Changes() == 0 || !p.finish_audit) {
    return s;
  }
  return sql::InsertAudit(db, *p.finish_audit);
}

// A run's outcome from its change's answer (see OperationStore::ApplyOperationBatchesAsync).
OperationRunOutcome OutcomeOf(const std::string& run_id, const Status& s, bool applied,
                              std::string detail) {
  if (s.ok()) {
    return applied ? OperationRunOutcome{run_id, "done", std::move(detail)}
                   : OperationRunOutcome{run_id, "skipped", "unchanged"};
  }
  std::string why = s.reason().empty() ? s.message() : std::string(s.reason());
  if (s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kAborted) {
    return {run_id, "skipped", std::move(why)};  // the status no longer allows it: not forced
  }
  return {run_id, "failed", std::move(why)};
}

// The reason ApplyRunChange answers when a run's write failed without a savepoint of its
// own: the batch is rolled back and applied again with one around each run.
constexpr char kRunWriteFailed[] = "run_write_failed";

// A control's decision on the run as this write finds it: its early decision if the run
// is still at that version, else `decide`'s on the run read now.
struct Decision {
  RunHead head;                          // the run's head as this write read it
  const RunTransition* early = nullptr;  // the early decision's transition, as it is
  std::optional<RunTransition> now;      // or the one decided now
  // The decision leaves the run as it is: why (ok when unchanged).
  Status refused;
  bool Changes() const { return early != nullptr || now.has_value(); }
  const RunTransition& Transition() const { return early != nullptr ? *early : *now; }
};

Result<Decision> DecideRunChange(Connection& db, const OperationRunChange& change) {
  Decision out;
  if (change.decided) {
    Result<RunHead> head = sql::ReadRunHeadLocked(db, change.run_id);
    if (!head.ok()) {
      return head.status();
    }
    if (head->version == change.decided->version) {
      out.head = std::move(head).value();
      const Result<std::optional<RunTransition>>& answer = change.decided->answer;
      if (!answer.ok() || !answer->has_value()) {
        out.refused = answer.status();
      } else {
        out.early = &**answer;
      }
      return out;
    }
  }
  Result<RunRecord> run = sql::ReadRunToDecide(db, change.run_id, /*with_steps=*/false);
  if (!run.ok()) {
    return run.status();
  }
  out.head = HeadOf(*run);
  Result<std::optional<RunTransition>> answer = change.decide(*run);
  if (!answer.ok() || !answer->has_value()) {
    out.refused = answer.status();
    return out;
  }
  out.now = std::move(**answer);
  out.now->run_id = run->id;
  out.now->expected_version = run->version;
  out.now->expected_status = run->status;
  return out;
}

// Applies one run's change and answers its outcome. With `alone`, the change is in a
// savepoint of its own and a write that fails is rolled back alone; without, a write
// that fails answers kRunWriteFailed. Any error answered stops the batch; one other
// than kRunWriteFailed fails its write as a whole: the transaction is in doubt
// (SqlStore::ApplyBatch).
Result<OperationRunOutcome> ApplyRunChange(Connection& db, const OperationRunChange& change,
                                           std::string_view self, bool alone,
                                           std::vector<std::string>& changed) {
  static const Savepoint kRun("run");
  if (!change.decide && !change.create) {
    return OutcomeOf(change.run_id, change.refused, false, "");
  }
  std::optional<Decision> decision;
  if (change.decide) {
    Result<Decision> decided = DecideRunChange(db, change);
    if (IsTransientWriteFailure(decided.status())) {
      return decided.status();
    }
    // Decided before anything of the run is written: a refusal needs no rollback.
    if (!decided.ok() || !decided->Changes()) {
      return OutcomeOf(change.run_id, decided.ok() ? decided->refused : decided.status(), false,
                       "");
    }
    decision = std::move(decided).value();
  }
  std::vector<std::string> run_changed;
  auto write = [&] {
    if (change.create) {
      CreateRunResult created{*change.create, false};
      return sql::ApplyCreateRun(db, *change.create, self, std::nullopt, created, run_changed);
    }
    return sql::ApplyDecidedTransition(db, decision->Transition(), decision->head, self,
                                       run_changed);
  };
  Status s;
  Status kept;
  if (alone) {
    kept = kRun.Run(db, write, s);
  } else {
    s = write();
  }
  if (IsTransientWriteFailure(s)) {
    return s;
  }
  if (!kept.ok()) {
    return kept;
  }
  if (!s.ok() && !alone) {
    return Status(StatusCode::kAborted, "run " + change.run_id + ": " + s.message(),
                  kRunWriteFailed);
  }
  changed.insert(changed.end(), run_changed.begin(), run_changed.end());
  return OutcomeOf(change.run_id, s, s.ok(), s.ok() && change.create ? change.create->id : "");
}

// The batch's runs, each run's change `alone` or not (ApplyRunChange), and their
// outcomes; the operation as it is after.
Result<OperationBatchResult> ApplyOperationBatchOnce(Connection& db, const OperationBatch& batch,
                                                     std::string_view self, bool alone,
                                                     std::vector<std::string>& changed) {
  OperationProgress progress;
  progress.operation_id = batch.operation_id;
  progress.outcomes.reserve(batch.runs.size());
  for (const OperationRunChange& change : batch.runs) {
    Result<OperationRunOutcome> outcome = ApplyRunChange(db, change, self, alone, changed);
    if (!outcome.ok()) {
      return outcome.status();
    }
    progress.outcomes.push_back(std::move(outcome).value());
  }
  if (Status s = ApplyOutcomes(db, progress); !s.ok()) {
    return s;
  }
  Result<OperationRecord> op = SelectOperation(db, batch.operation_id);
  if (!op.ok()) {
    return op.status();
  }
  return OperationBatchResult{std::move(progress.outcomes), std::move(op).value()};
}

// The batch in a savepoint, first with no savepoint around each run: in SQLite a
// savepoint copies each page its changes touch to the statement journal, so one per run
// made the savepoints a tenth of a bulk cancel's time (performance.md, W9). A run's
// write fails only on an unusual error (its decision was made on the run as read in
// this transaction); then the batch is rolled back and applied again with one savepoint
// per run, so that run's change alone is undone.
Result<OperationBatchResult> ApplyOperationBatch(Connection& db, const OperationBatch& batch,
                                                 std::string_view self,
                                                 std::vector<std::string>& changed) {
  static const Savepoint kRuns("runs");
  std::vector<std::string> batch_changed;
  Result<OperationBatchResult> out = Internal("not applied");  // set by the first write
  Status written;
  Status kept = kRuns.Run(
      db,
      [&] {
        out = ApplyOperationBatchOnce(db, batch, self, /*alone=*/false, batch_changed);
        return out.status();
      },
      written);
  if (!kept.ok()) {
    return kept;
  }
  if (written.reason() == kRunWriteFailed) {
    // Undone: again, each run in a savepoint of its own.
    batch_changed.clear();
    out = ApplyOperationBatchOnce(db, batch, self, /*alone=*/true, batch_changed);
  }
  if (!out.ok()) {
    return out;  // the queue rolls the change back
  }
  changed.insert(changed.end(), batch_changed.begin(), batch_changed.end());
  return out;
}

}  // namespace

Result<OperationRecord> SqlStore::CreateOperation(const OperationRecord& op,
                                                  const RunFilter& filter, int64_t max_runs,
                                                  const AuditEntry& audit) {
  OperationRecord created = op;
  created.status = "running";
  created.done = created.skipped = created.failed = 0;
  created.finished_at = 0;
  sql::RunQuery runs;
  runs.Append("INSERT INTO operation_runs(operation_id, run_id, state, detail) SELECT " +
              runs.Param(op.id) + ", id, 'pending', ''");
  sql::AppendRunSelection(runs, dialect(), op.workspace_id, filter);
  // One more than allowed tells "too many" without selecting them all.
  runs.Append(" LIMIT " + runs.Param(max_runs + 1));
  Status status = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status fixed = sql::Exec(db, runs.sql(), [&](Statement& q) { runs.Bind(q); });
    if (!fixed.ok()) {
      return fixed;
    }
    created.total = db.Changes();
    if (created.total > max_runs) {
      return Status(StatusCode::kResourceExhausted,
                    "the filter matches " + std::to_string(created.total) +
                        " runs, more than one operation takes (" + std::to_string(max_runs) +
                        "); narrow it",
                    "too_many_runs");
    }
    Status inserted =
        sql::Exec(db,
                  std::string("INSERT INTO operations(") + kOperationColumns +
                      ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                  [&](Statement& q) {
                    q.Bind(1, created.id).Bind(2, created.workspace_id).Bind(3, created.action);
                    q.BindJson(4, created.filter).Bind(5, created.reason).Bind(6, created.actor);
                    q.Bind(7, created.status).Bind(8, created.total).Bind(9, int64_t{0});
                    q.Bind(10, int64_t{0}).Bind(11, int64_t{0}).Bind(12, created.created_at);
                    q.Bind(13, int64_t{0});
                  });
    return inserted.ok() ? sql::InsertAudit(db, audit) : inserted;
  });
  if (!status.ok()) {
    return status;
  }
  return created;
}

Result<OperationRecord> SqlStore::GetOperation(const std::string& id) {
  return Read([&](Connection& db) { return SelectOperation(db, id); });
}

Result<std::vector<std::string>> SqlStore::ListRunningOperations() {
  return Read([&](Connection& db) {
    return sql::QueryAll<std::string>(
        db, "SELECT id FROM operations WHERE status = 'running' ORDER BY id", [](Statement&) {},
        [](const Statement& q) { return q.Text(0); });
  });
}

Result<std::vector<std::string>> SqlStore::PendingOperationRuns(const std::string& operation_id,
                                                                const std::string& after,
                                                                int limit) {
  return Read([&](Connection& db) {
    return sql::QueryAll<std::string>(
        db,
        "SELECT run_id FROM operation_runs WHERE operation_id = ?1 AND state = 'pending' AND "
        "run_id > ?2 ORDER BY run_id LIMIT ?3",
        [&](Statement& q) { q.Bind(1, operation_id).Bind(2, after).Bind(3, limit); },
        [](const Statement& q) { return q.Text(0); });
  });
}

Result<OperationRecord> SqlStore::RecordOperationProgress(const OperationProgress& p) {
  std::optional<OperationRecord> after;
  Status status = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    if (Status s = ApplyOutcomes(db, p); !s.ok()) {
      return s;
    }
    if (p.finish_at) {
      if (Status s = FinishIfDone(db, p); !s.ok()) {
        return s;
      }
    }
    Result<OperationRecord> op = SelectOperation(db, p.operation_id);
    if (!op.ok()) {
      return op.status();
    }
    after = std::move(op).value();
    return Status::Ok();
  });
  if (!status.ok()) {
    return status;
  }
  return std::move(*after);
}

void SqlStore::ApplyOperationBatchesAsync(std::vector<OperationBatch> batches,
                                          OperationBatchDone done) {
  auto shared_done = std::make_shared<OperationBatchDone>(std::move(done));
  std::vector<Queue::Change> changes;
  changes.reserve(batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    // An early decision was made without NotingNotifications: the batch tells the outbox
    // if one of them may queue a notification (at worst it looks for nothing).
    bool early_notes = false;
    for (OperationRunChange& change : batches[i].runs) {
      if (change.decide) {
        change.decide = NotingNotifications(std::move(change.decide));
      }
      if (change.decided && change.decided->answer.ok() && change.decided->answer->has_value()) {
        // Taken only while the run is at that version: a compare-and-set on it.
        RunTransition& t = **change.decided->answer;
        t.run_id = change.run_id;
        t.expected_version = change.decided->version;
        early_notes = early_notes || !t.notify.empty() || t.charge.has_value();
      }
    }
    auto batch = std::make_shared<const OperationBatch>(std::move(batches[i]));
    // Written by each application of the change (a batch may be applied again); the
    // last is what committed.
    auto result = std::make_shared<OperationBatchResult>();
    changes.push_back(Queue::Change{
        [this, batch, result, early_notes](Connection& db,
                                           std::vector<std::string>& changed) -> Status {
          Result<OperationBatchResult> applied = ApplyOperationBatch(db, *batch, self_, changed);
          if (!applied.ok()) {
            return applied.status();
          }
          *result = std::move(applied).value();
          outbox_signal_ = outbox_signal_ || early_notes;
          return Status::Ok();
        },
        [i, result, shared_done](Status s) {
          (*shared_done)(i, s.ok() ? Result<OperationBatchResult>(std::move(*result))
                                   : Result<OperationBatchResult>(s));
        }});
  }
  // Never in place: the caller goes on preparing the next batches while the writer commits.
  queue_.CommitAll(std::move(changes));
}

}  // namespace sw
