// SqlStore's bulk operations. See sql_store.h. CreateOperation fixes an operation's
// runs with one INSERT … SELECT over the run filter's own query (store/sql/run_search.h)
// in the transaction that creates it, so the runs are exactly those that matched at
// that commit. Each run's state moves from pending once (RecordOperationProgress's
// `state = 'pending'` guard), which keeps the counters right when an operation resumed
// after a restart records a run again.
#include <nlohmann/json.hpp>

#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/run_search.h"
#include "store/sql/sql_store.h"

namespace sw {

using sql::Connection;
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

}  // namespace sw
