// SqlStore's schedules. See sql_store.h. A schedule's ticks are consumed by
// FireSchedule, a compare-and-set on the schedule's version committed in the same
// transaction as the runs it starts: two instances that look at one due schedule
// start its runs once, and a crash between the look and the commit loses nothing and
// doubles nothing.
#include <nlohmann/json.hpp>

#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/sql_store.h"

namespace sw {

using nlohmann::json;
using sql::Connection;
using sql::Statement;

namespace {

constexpr char kScheduleColumns[] =
    "id, workspace_id, workflow_id, cron, timezone, input, overlap, catch_up, max_catch_up, "
    "paused, next_fire_at, last_fired_at, last_run_id, version, created_at, updated_at";

Result<ScheduleRecord> ReadSchedule(const Statement& s) {
  ScheduleRecord r;
  r.id = s.Text(0);
  r.workspace_id = s.Text(1);
  r.workflow_id = s.Text(2);
  r.cron = s.Text(3);
  r.timezone = s.Text(4);
  r.input = s.Json(5);
  r.overlap = s.Text(6);
  r.catch_up = s.Text(7);
  r.max_catch_up = s.Int(8);
  r.paused = s.Int(9) != 0;
  r.next_fire_at = s.Int(10);
  r.last_fired_at = s.Int(11);
  r.last_run_id = s.Text(12);
  r.version = s.Int(13);
  r.created_at = s.Int(14);
  r.updated_at = s.Int(15);
  if (r.overlap != "skip" && r.overlap != "allow" && r.overlap != "cancel_previous") {
    return DataCorruption("schedules", r.id, "overlap", r.overlap);
  }
  if (r.catch_up != "none" && r.catch_up != "latest" && r.catch_up != "all") {
    return DataCorruption("schedules", r.id, "catch_up", r.catch_up);
  }
  return r;
}

void BindSchedule(Statement& q, const ScheduleRecord& r) {
  q.Bind(1, r.id).Bind(2, r.workspace_id).Bind(3, r.workflow_id).Bind(4, r.cron);
  q.Bind(5, r.timezone).BindJson(6, r.input).Bind(7, r.overlap).Bind(8, r.catch_up);
  q.Bind(9, r.max_catch_up).Bind(10, r.paused ? 1 : 0).Bind(11, r.next_fire_at);
  q.Bind(12, r.last_fired_at).Bind(13, r.last_run_id).Bind(14, r.version);
  q.Bind(15, r.created_at).Bind(16, r.updated_at);
}

Result<ScheduleRecord> SelectSchedule(Connection& db, const std::string& id) {
  return sql::SelectById<ScheduleRecord>(db, kScheduleColumns, "schedules", id, ReadSchedule,
                                         "schedule");
}

Status ScheduleChanged() {
  return Status(StatusCode::kAborted, "the schedule changed meanwhile", "state_changed");
}

}  // namespace

Result<ScheduleRecord> SqlStore::CreateSchedule(const ScheduleRecord& s, const AuditEntry& audit,
                                                const std::optional<IdempotencyKey>& key) {
  ScheduleRecord created = s;
  Status status = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    if (key) {
      Result<std::optional<std::string>> existing = sql::FindIdempotent(db, s.workspace_id, *key);
      if (!existing.ok()) {
        return existing.status();
      }
      if (*existing) {
        Result<ScheduleRecord> first = SelectSchedule(db, **existing);
        if (!first.ok() && first.status().code() == StatusCode::kNotFound) {
          return NotFound("schedule " + **existing +
                          ", made under this Idempotency-Key, was deleted since");
        }
        if (!first.ok()) {
          return first.status();
        }
        created = std::move(first).value();
        return Status::Ok();
      }
      if (Status kept = sql::KeepIdempotent(db, s.workspace_id, *key, s.id, s.created_at);
          !kept.ok()) {
        return kept;
      }
    }
    Status inserted = sql::Exec(db,
                                std::string("INSERT INTO schedules(") + kScheduleColumns +
                                    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                    "?13, ?14, ?15, ?16)",
                                [&](Statement& q) { BindSchedule(q, s); });
    return inserted.ok() ? sql::InsertAudit(db, audit) : inserted;
  });
  if (!status.ok()) {
    return status;
  }
  return created;
}

Result<ScheduleRecord> SqlStore::GetSchedule(const std::string& id) {
  return Read([&](Connection& db) { return SelectSchedule(db, id); });
}

Result<SchedulePage> SqlStore::ListSchedules(const std::string& workspace_id,
                                             const std::string& workflow_id,
                                             const std::string& cursor, int limit) {
  std::string sql =
      std::string("SELECT ") + kScheduleColumns + " FROM schedules WHERE workspace_id = ?1";
  if (!cursor.empty()) sql += " AND id < ?2";
  // No index of its own: a workspace's schedules are few, walked by schedules_by_workspace.
  if (!workflow_id.empty()) sql += " AND workflow_id = ?4";
  sql += " ORDER BY id DESC LIMIT ?3";
  Result<std::vector<ScheduleRecord>> rows = Read([&](Connection& db) {
    return sql::QueryAll<ScheduleRecord>(
        db, sql,
        [&](Statement& q) {
          q.Bind(1, workspace_id);
          if (!cursor.empty()) q.Bind(2, cursor);
          q.Bind(3, limit + 1);
          if (!workflow_id.empty()) q.Bind(4, workflow_id);
        },
        ReadSchedule);
  });
  if (!rows.ok()) {
    return rows.status();
  }
  SchedulePage page;
  page.items = std::move(rows).value();
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.resize(limit);
    page.next_cursor = page.items.back().id;
  }
  return page;
}

Result<ScheduleRecord> SqlStore::UpdateSchedule(const ScheduleRecord& s, int64_t expected_version,
                                                const AuditEntry& audit) {
  ScheduleRecord written = s;
  Status status = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<ScheduleRecord> stored = SelectSchedule(db, s.id);
    if (!stored.ok()) {
      return stored.status();
    }
    if (stored->workspace_id != s.workspace_id) {
      return NotFound("schedule " + s.id + " not found");
    }
    if (stored->version != expected_version) {
      return ScheduleChanged();
    }
    written.created_at = stored->created_at;
    written.version = stored->version + 1;
    Status updated = sql::Exec(
        db,
        "UPDATE schedules SET workflow_id = ?3, cron = ?4, timezone = ?5, input = ?6, "
        "overlap = ?7, catch_up = ?8, max_catch_up = ?9, paused = ?10, next_fire_at = ?11, "
        "last_fired_at = ?12, last_run_id = ?13, version = ?14, updated_at = ?16 "
        "WHERE id = ?1 AND workspace_id = ?2",
        [&](Statement& q) { BindSchedule(q, written); });
    return updated.ok() ? sql::InsertAudit(db, audit) : updated;
  });
  if (!status.ok()) {
    return status;
  }
  return written;
}

Status SqlStore::DeleteSchedule(const std::string& workspace_id, const std::string& id,
                                const AuditEntry& audit) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status deleted = sql::Exec(db, "DELETE FROM schedules WHERE id = ?1 AND workspace_id = ?2",
                               [&](Statement& q) { q.Bind(1, id).Bind(2, workspace_id); });
    if (!deleted.ok()) {
      return deleted;
    }
    if (db.Changes() == 0) {
      return NotFound("schedule " + id + " not found");
    }
    return sql::InsertAudit(db, audit);
  });
}

Result<std::vector<ScheduleRecord>> SqlStore::DueSchedules(int64_t now, int limit) {
  return Read([&](Connection& db) {
    return sql::QueryAll<ScheduleRecord>(
        db,
        std::string("SELECT ") + kScheduleColumns +
            " FROM schedules WHERE paused = 0 AND next_fire_at > 0 AND next_fire_at <= ?1 "
            "ORDER BY next_fire_at LIMIT ?2",
        [&](Statement& q) { q.Bind(1, now).Bind(2, limit); }, ReadSchedule);
  });
}

Result<int64_t> SqlStore::EarliestScheduleFire() {
  return Read([&](Connection& db) {
    return sql::QueryOne<int64_t>(
        db,
        "SELECT COALESCE(MIN(next_fire_at), 0) FROM schedules WHERE paused = 0 AND "
        "next_fire_at > 0",
        [](Statement&) {}, [](Statement& row) { return row.Int(0); }, "no schedules");
  });
}

namespace {

// The compare-and-set first: on PostgreSQL the row stays locked until the commit, so a
// second instance's fire of the same tick waits, then finds the version moved.
Status ApplyFire(Connection& db, const ScheduleFire& fire, const std::string& self,
                 std::vector<std::string>& changed) {
  Status consumed = sql::Exec(
      db,
      "UPDATE schedules SET next_fire_at = ?2, last_fired_at = ?3, last_run_id = ?4, "
      "version = version + 1, updated_at = ?5 WHERE id = ?1 AND version = ?6 AND paused = 0",
      [&](Statement& q) {
        q.Bind(1, fire.schedule_id).Bind(2, fire.next_fire_at).Bind(3, fire.last_fired_at);
        q.Bind(4, fire.last_run_id).Bind(5, fire.now).Bind(6, fire.expected_version);
      });
  if (!consumed.ok()) {
    return consumed;
  }
  if (db.Changes() == 0) {
    return ScheduleChanged();
  }
  for (const RunRecord& run : fire.runs) {
    if (Status inserted = sql::InsertRun(db, run, self); !inserted.ok()) {
      return inserted;
    }
    changed.push_back(run.id);
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<RunRecord>> SqlStore::FireSchedule(const ScheduleFire& fire) {
  Status status = WriteSync([&](Connection& db, std::vector<std::string>& changed) {
    return ApplyFire(db, fire, self_, changed);
  });
  if (!status.ok()) {
    return status;
  }
  return fire.runs;
}

void SqlStore::FireSchedulesAsync(std::vector<QueuedFire> fires) {
  std::vector<Queue::Change> changes;
  changes.reserve(fires.size());
  for (QueuedFire& queued : fires) {
    auto shared = std::make_shared<const ScheduleFire>(std::move(queued.fire));
    changes.push_back(
        Queue::Change{[this, shared](Connection& db, std::vector<std::string>& changed) {
                        return ApplyFire(db, *shared, self_, changed);
                      },
                      [shared, done = std::move(queued.done)](Status s) {
                        done(s.ok() ? Result<std::vector<RunRecord>>(shared->runs)
                                    : Result<std::vector<RunRecord>>(s));
                      }});
  }
  queue_.CommitAll(std::move(changes));
}

}  // namespace sw
