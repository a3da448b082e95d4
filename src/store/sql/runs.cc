// SqlStore's runs and their steps: create (with an idempotency key), read, count,
// and change them through transitions. See sql_store.h; ListRuns is in run_search.cc.
#include <algorithm>
#include <optional>

#include "store/sql/billing.h"
#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/run_writes.h"
#include "store/sql/sql_store.h"
#include "store/sql/transition.h"

namespace sw {

using sql::Connection;
using sql::QueryAll;
using sql::QueryOne;
using sql::Statement;

namespace {

std::vector<RunStatus> TerminalRunStatuses() {
  std::vector<RunStatus> out;
  for (RunStatus s : kAllRunStatuses) {
    if (IsTerminal(s)) {
      out.push_back(s);
    }
  }
  return out;
}

// `lock`: in a write that decides from it, so that another instance's writer cannot
// change the run before the commit.
Result<RunRecord> SelectRun(Connection& db, const std::string& run_id, bool lock = false) {
  return sql::SelectById<RunRecord>(db, sql::kRunColumns, "runs", run_id, sql::ReadRun, "run",
                                    lock ? db.dialect().for_update : "");
}

// The run, and its steps when asked, as `db` sees it.
Result<RunRecord> SelectRunAndSteps(Connection& db, const std::string& run_id, bool with_steps,
                                    bool lock = false) {
  static const std::string kStepsSql =
      std::string("SELECT ") + sql::kStepColumns + " FROM steps WHERE run_id = ? ORDER BY seq";
  Result<RunRecord> run = SelectRun(db, run_id, lock);
  if (run.ok() && with_steps) {
    Result<std::vector<StepRecord>> steps = QueryAll<StepRecord>(
        db, kStepsSql, [&](Statement& q) { q.Bind(1, run_id); }, sql::ReadStep);
    if (!steps.ok()) {
      return steps.status();
    }
    run->steps = std::move(steps).value();
  }
  return run;
}

// ApplyDecision, then the run as it is after, unless `read_after` is false (a write
// that decided no transition answers the run as it read it when that has the steps
// asked for).
Status ApplyDecided(Connection& db, const std::string& run_id, std::string_view self,
                    const Store::DecideTransition& decide, Store::UpdateReads reads,
                    bool read_after, std::optional<RunRecord>& after,
                    std::vector<std::string>& changed) {
  Result<sql::DecidedChange> decided =
      sql::ApplyDecision(db, run_id, self, decide, reads.steps_to_decide, changed);
  if (!decided.ok()) {
    return decided.status();
  }
  if (!decided->applied && reads.steps_to_decide == reads.steps_in_answer) {
    after = std::move(decided->read);
    return Status::Ok();
  }
  if (!read_after) {
    return Status::Ok();
  }
  Result<RunRecord> updated = SelectRunAndSteps(db, run_id, reads.steps_in_answer);
  if (!updated.ok()) {
    return updated.status();
  }
  after = std::move(updated).value();
  return Status::Ok();
}

// Applies `first`, a driver's first change of `run` (just inserted by this
// transaction, owned by `self`). `run` stays as inserted: a batch may be applied again
// (PostgreSQL redoes one whose change failed).
Status ApplyFirstChange(Connection& db, const RunTransition& first, std::string_view self,
                        const RunRecord& run, std::vector<std::string>& changed) {
  RunHead head = HeadOf(run);
  head.owner = std::string(self);  // as InsertRun wrote them
  head.side_rows = false;
  std::vector<std::string> first_changed;
  Status applied = sql::ApplyTransitionFrom(db, first, head, self, first_changed);
  if (!applied.ok()) {
    return applied;
  }
  for (std::string& id : first_changed) {
    if (id != run.id) {
      changed.push_back(std::move(id));
    }
  }
  return Status::Ok();
}

}  // namespace

namespace sql {

Status ApplyCreateRun(Connection& db, const RunRecord& run, std::string_view owner,
                      const std::optional<IdempotencyKey>& key, CreateRunResult& out,
                      std::vector<std::string>& changed) {
  if (key) {
    Result<std::optional<std::string>> existing = sql::FindIdempotent(db, run.workspace_id, *key);
    if (!existing.ok()) {
      return existing.status();
    }
    if (*existing) {
      Result<RunRecord> first = SelectRun(db, **existing);
      if (!first.ok()) {
        return first.status();
      }
      out.run = std::move(first).value();
      out.replayed = true;
      return Status::Ok();
    }
    if (Status kept = sql::KeepIdempotent(db, run.workspace_id, *key, run.id, run.created_at);
        !kept.ok()) {
      return kept;
    }
  }
  changed.push_back(run.id);
  if (Status inserted = sql::InsertRun(db, run, owner); !inserted.ok()) {
    return inserted;
  }
  // A rerun's copied steps (none for any other run).
  return sql::UpsertSteps(db, run.id, run.steps);
}

Result<RunRecord> ReadRunToDecide(Connection& db, const std::string& run_id, bool with_steps) {
  return SelectRunAndSteps(db, run_id, with_steps, /*lock=*/true);
}

Status ApplyDecidedTransition(Connection& db, const RunTransition& t, const RunHead& head,
                              std::string_view self, std::vector<std::string>& changed) {
  SW_CHECK(t.run_id == head.id);
  Status applied = ApplyTransitionFrom(db, t, head, self, changed);
  if (!applied.ok() || !t.charge) {
    return applied;
  }
  return ChargeSpend(db, *t.charge, t.now).status();
}

Result<DecidedChange> ApplyDecision(Connection& db, const std::string& run_id,
                                    std::string_view self, const Store::DecideTransition& decide,
                                    bool steps_to_decide, std::vector<std::string>& changed) {
  Result<RunRecord> run = ReadRunToDecide(db, run_id, steps_to_decide);
  if (!run.ok()) {
    return run.status();
  }
  Result<std::optional<RunTransition>> t = decide(*run);
  if (!t.ok()) {
    return t.status();
  }
  DecidedChange out;
  out.applied = t->has_value();
  if (out.applied) {
    RunTransition& transition = **t;
    transition.run_id = run_id;
    transition.expected_version = run->version;
    transition.expected_status = run->status;
    if (Status s = ApplyDecidedTransition(db, transition, HeadOf(*run), self, changed); !s.ok()) {
      return s;
    }
  }
  out.read = std::move(run).value();
  return out;
}

}  // namespace sql

Result<CreateRunResult> SqlStore::CreateRun(const RunRecord& run,
                                            const std::optional<IdempotencyKey>& key) {
  CreateRunResult out{run, false};
  Status s = WriteSync([&](Connection& db, std::vector<std::string>& changed) {
    return sql::ApplyCreateRun(db, run, self_, key, out, changed);
  });
  if (!s.ok()) {
    return s;
  }
  return out;
}

void SqlStore::CreateRunAsync(RunRecord run, std::optional<IdempotencyKey> key,
                              std::shared_ptr<RunTransition> first, CreateRunDone done) {
  SW_CHECK(first == nullptr || !first->charge);
  auto out = std::make_shared<CreateRunResult>(CreateRunResult{std::move(run), false});
  auto shared_key = std::make_shared<const std::optional<IdempotencyKey>>(std::move(key));
  queue_.Commit(
      Queue::Change{
          [this, out, shared_key, first](Connection& db, std::vector<std::string>& changed) {
            Status created = sql::ApplyCreateRun(db, out->run, self_, *shared_key, *out, changed);
            if (!created.ok() || first == nullptr || out->replayed) {
              return created;
            }
            Status applied = ApplyFirstChange(db, *first, self_, out->run, changed);
            outbox_signal_ = outbox_signal_ || (applied.ok() && !first->notify.empty());
            return applied;
          },
          [this, out, first, done = std::move(done)](Status s) {
            if (s.ok() && first != nullptr && !out->replayed) {
              // Answered as created (pending, version 1), as the contract has a start answer.
              uint64_t completed = 0;
              for (const StepRecord& step : first->upsert_steps) {
                completed += step.status == StepStatus::kCompleted ? 1 : 0;
              }
              if (completed > 0) {
                queue_.CountCompletedSteps(completed);
              }
            }
            done(s.ok() ? Result<CreateRunResult>(std::move(*out)) : Result<CreateRunResult>(s));
          }},
      // A start's client waits for its create: it goes before the engine's progress.
      commit_queue::Lane::kUrgent);
}

Result<RunRecord> SqlStore::GetRun(const std::string& run_id, bool with_steps) {
  // The await of a run (GET ?wait_ms=) reads it right after its commit.
  return ReadWarm([&](Connection& db) {
    return sql::InSnapshot(db, [&] { return SelectRunAndSteps(db, run_id, with_steps); });
  });
}

namespace {

// `SELECT <columns> FROM runs WHERE id IN (...)` with as many parameters as the next
// power of two of `ids`, bound with `ids` and the last id repeated: few statements for
// the connections to keep prepared.
template <typename T, typename Reader>
Result<std::vector<T>> SelectRunsById(Connection& db, const char* columns,
                                      const std::vector<std::string>& ids, Reader&& read) {
  SW_CHECK(ids.size() <= Store::kMaxRunsRead);
  if (ids.empty()) {
    return std::vector<T>();
  }
  size_t params = 1;
  while (params < ids.size()) {
    params *= 2;
  }
  std::string query = std::string("SELECT ") + columns + " FROM runs WHERE id IN (?";
  for (size_t i = 1; i < params; ++i) {
    query += ", ?";
  }
  query += ")";
  return QueryAll<T>(
      db, query,
      [&](Statement& q) {
        for (size_t i = 0; i < params; ++i) {
          q.Bind(static_cast<int>(i) + 1, ids[std::min(i, ids.size() - 1)]);
        }
      },
      std::forward<Reader>(read));
}

}  // namespace

Result<std::vector<RunRecord>> SqlStore::GetRuns(const std::vector<std::string>& run_ids) {
  return Read([&](Connection& db) {
    return SelectRunsById<RunRecord>(db, sql::kRunColumns, run_ids, sql::ReadRun);
  });
}

Result<std::vector<std::pair<std::string, RunStatus>>> SqlStore::GetRunStatuses(
    const std::vector<std::string>& run_ids) {
  using IdAndStatus = std::pair<std::string, RunStatus>;
  return Read([&](Connection& db) {
    return SelectRunsById<IdAndStatus>(
        db, "id, status", run_ids, [](const Statement& q) -> Result<IdAndStatus> {
          std::optional<RunStatus> status = ParseRunStatus(q.Text(1));
          if (!status) {
            return DataCorruption("runs", q.Text(0), "status", q.Text(1));
          }
          return IdAndStatus{q.Text(0), *status};
        });
  });
}

Store::DecideTransition SqlStore::NotingNotifications(DecideTransition decide) {
  return [this, decide = std::move(decide)](const RunRecord& run) {
    Result<std::optional<RunTransition>> t = decide(run);
    // A charge may queue the near-cap notification: at worst the outbox looks for nothing.
    if (t.ok() && t->has_value() && (!(*t)->notify.empty() || (*t)->charge)) {
      outbox_signal_ = true;
    }
    return t;
  };
}

Result<RunRecord> SqlStore::UpdateRun(const std::string& run_id, DecideTransition decide,
                                      UpdateReads reads) {
  std::optional<RunRecord> after;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>& changed) {
    // The writer thread under load reads the answer from a reader afterwards, beside
    // the writer, rather than in the batch every other change waits for.
    return ApplyDecided(db, run_id, self_, NotingNotifications(decide), reads,
                        /*read_after=*/!queue_.OnWriterThread(), after, changed);
  });
  if (!s.ok()) {
    return s;
  }
  if (!after) {
    return GetRun(run_id, reads.steps_in_answer);
  }
  return std::move(*after);
}

void SqlStore::UpdateRunAsync(std::string run_id, DecideTransition decide, UpdateReads reads,
                              Waiter waiter, UpdateRunDone done) {
  auto after = std::make_shared<std::optional<RunRecord>>();
  const commit_queue::Lane lane =
      waiter == Waiter::kControl ? commit_queue::Lane::kControl : commit_queue::Lane::kNormal;
  queue_.Commit(
      Queue::Change{
          [this, after, run_id = std::move(run_id), decide = NotingNotifications(std::move(decide)),
           reads](Connection& db, std::vector<std::string>& changed) {
            return ApplyDecided(db, run_id, self_, decide, reads, /*read_after=*/true, *after,
                                changed);
          },
          [after, done = std::move(done)](Status s) {
            done(s.ok() ? Result<RunRecord>(std::move(**after)) : Result<RunRecord>(s));
          }},
      lane);
}

Result<std::vector<std::string>> SqlStore::ListRunIdsByStatus(RunStatus status) {
  return Read([&](Connection& db) {
    return QueryAll<std::string>(
        db, "SELECT id FROM runs WHERE status = ? ORDER BY id",
        [&](Statement& q) { q.Bind(1, ToString(status)); },
        [](const Statement& q) { return q.Text(0); });
  });
}

Result<std::vector<RunStatusCount>> SqlStore::CountRunsByStatus() {
  return Read([&](Connection& db) {
    return QueryAll<RunStatusCount>(
        db, "SELECT status, COUNT(*) FROM runs GROUP BY status", [](Statement&) {},
        [](const Statement& q) -> Result<RunStatusCount> {
          std::optional<RunStatus> status = ParseRunStatus(q.Text(0));
          if (!status) {
            // Grouped: no one row to name.
            return DataCorruption("runs", "(any)", "status", q.Text(0));
          }
          return RunStatusCount{*status, q.Int(1)};
        });
  });
}

Result<std::vector<ActiveRunCount>> SqlStore::CountActiveRuns() {
  return Read([&](Connection& db) {
    const sql::Dialect& d = db.dialect();
    const std::string reason = "COALESCE(" + d.json_member("pause", "reason") + ", '')";
    const std::string kind = "COALESCE(" + d.json_member("wait", "kind") + ", '')";
    return QueryAll<ActiveRunCount>(
        db,
        "SELECT workflow_id, status, " + reason + ", " + kind +
            ", COUNT(*) FROM runs WHERE status IN ('pending', 'running', 'paused', 'waiting') "
            "GROUP BY workflow_id, status, " +
            reason + ", " + kind,
        [](Statement&) {},
        [](const Statement& q) -> Result<ActiveRunCount> {
          std::optional<RunStatus> status = ParseRunStatus(q.Text(1));
          if (!status) {
            return DataCorruption("runs", "(any)", "status", q.Text(1));
          }
          return ActiveRunCount{q.Text(0), *status, q.Text(2), q.Text(3), q.Int(4)};
        });
  });
}

Result<std::vector<std::string>> SqlStore::ActiveChildRuns(const std::string& run_id) {
  // `parent_run_id != ''` lets SQLite use the partial index runs_by_parent.
  static const std::string kSql =
      "SELECT id FROM runs WHERE parent_run_id = ? AND parent_run_id != '' AND status NOT IN " +
      sql::SqlList(TerminalRunStatuses(), [](RunStatus s) { return ToString(s); }) + " ORDER BY id";
  return Read([&](Connection& db) {
    return QueryAll<std::string>(
        db, kSql, [&](Statement& q) { q.Bind(1, run_id); },
        [](const Statement& q) { return q.Text(0); });
  });
}

SqlStore::Queue::Change SqlStore::TransitionChange(std::shared_ptr<RunTransition> shared,
                                                   TransitionDone done) {
  auto new_version = std::make_shared<int64_t>(0);
  return Queue::Change{
      [shared, new_version, this](Connection& db, std::vector<std::string>& changed) -> Status {
        Status s = sql::ApplyTransition(db, *shared, self_, changed);
        if (s.ok() && shared->charge) {
          Result<bool> notified = sql::ChargeSpend(db, *shared->charge, shared->now);
          s = notified.status();
          outbox_signal_ = outbox_signal_ || (notified.ok() && *notified);
        }
        if (s.ok()) {
          *new_version = shared->expected_version + 1;
          outbox_signal_ = outbox_signal_ || !shared->notify.empty();
        }
        return s;
      },
      [new_version, done = std::move(done), shared, this](Status s) {
        if (s.ok()) {
          uint64_t completed = 0;
          for (const StepRecord& step : shared->upsert_steps) {
            completed += step.status == StepStatus::kCompleted ? 1 : 0;
          }
          if (completed > 0) {
            queue_.CountCompletedSteps(completed);
          }
        }
        done(s.ok() ? Result<int64_t>(*new_version) : Result<int64_t>(s));
      }};
}

void SqlStore::TransitionRunAsync(std::shared_ptr<RunTransition> t, TransitionDone done) {
  queue_.Commit(TransitionChange(std::move(t), std::move(done)));
}

Result<int64_t> SqlStore::TransitionRun(RunTransition t) {
  Result<int64_t> out = Status(StatusCode::kUnavailable, "the store is shutting down");
  Queue::Change change = TransitionChange(std::make_shared<RunTransition>(std::move(t)),
                                          [&out](Result<int64_t> r) { out = std::move(r); });
  Status s = WriteSync([&change](Connection& db, std::vector<std::string>& changed) {
    return change.apply(db, changed);
  });
  change.done(s);
  return out;
}

}  // namespace sw
