// SqlStore's retention: each workspace's limits on finished runs, and the deletion of
// the runs past them, a batch at a time. See store.h (DeleteExpiredRuns).
//
// The runs to delete are chosen on a reader, beside the writer (finding the count
// limit's cutoff walks the workspace's newest finished runs); the writer then deletes
// them in one short commit, checking again that each is finished and that its parent
// and children are, and deletes what is theirs.
#include <algorithm>

#include "core/run_status.h"
#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/sql_store.h"

namespace sw {

using sql::Connection;
using sql::QueryAll;
using sql::Statement;

namespace {

struct WorkspaceRetention {
  std::string workspace_id;
  RetentionSettings settings;
};

std::optional<int64_t> OptionalInt(const Statement& q, int col) {
  return q.IsNull(col) ? std::nullopt : std::optional<int64_t>(q.Int(col));
}

const std::string& TerminalList() {
  static const std::string kList = sql::SqlList(
      std::vector<RunStatus>{RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kCancelled},
      [](RunStatus s) { return ToString(s); });
  return kList;
}

// A finished run `runs` (the outer query's row) that may go: no parent and no child of
// it is unfinished. `parent_run_id != ''` lets SQLite use runs_by_parent.
const std::string& Deletable() {
  static const std::string kSql =
      "runs.status IN " + TerminalList() + " AND runs.finished_at > 0" +
      " AND NOT EXISTS (SELECT 1 FROM runs c WHERE c.parent_run_id = runs.id AND"
      " c.parent_run_id != '' AND c.status NOT IN " +
      TerminalList() + ")" +
      " AND NOT EXISTS (SELECT 1 FROM runs p WHERE p.id = runs.parent_run_id AND"
      " p.status NOT IN " +
      TerminalList() + ")";
  return kSql;
}

// "(?first, ..., ?first+n-1)".
std::string Placeholders(int first, int n) {
  std::string out = "(";
  for (int i = 0; i < n; ++i) {
    out += (i ? ",?" : "?") + std::to_string(first + i);
  }
  return out + ")";
}

// Binds `ids` from parameter `first` on, padded to `n` with the last id (so that one
// statement text serves every batch).
void BindIds(Statement& q, int first, int n, const std::vector<std::string>& ids) {
  for (int i = 0; i < n; ++i) {
    q.Bind(first + i, ids[std::min<size_t>(i, ids.size() - 1)]);
  }
}

// The ids of `ws`'s runs past its limits as of `now`, oldest end first, at most `limit`.
Result<std::vector<std::string>> ExpiredRunsOf(Connection& db, const WorkspaceRetention& ws,
                                               int64_t now, int limit) {
  auto read_id = [](const Statement& q) { return q.Text(0); };
  std::optional<std::pair<int64_t, std::string>> cutoff;  // delete up to it, inclusive
  if (ws.settings.max_count) {
    static const std::string kNth =
        "SELECT finished_at, id FROM runs WHERE workspace_id = ?1 AND finished_at > 0 AND status "
        "IN " +
        TerminalList() + " ORDER BY finished_at DESC, id DESC LIMIT 1 OFFSET ?2";
    Result<std::vector<std::pair<int64_t, std::string>>> nth =
        QueryAll<std::pair<int64_t, std::string>>(
            db, kNth,
            [&](Statement& q) {
              q.Bind(1, ws.workspace_id);
              q.Bind(2, *ws.settings.max_count);
            },
            [](const Statement& q) { return std::make_pair(q.Int(0), q.Text(1)); });
    if (!nth.ok()) {
      return nth.status();
    }
    if (!nth->empty()) {
      cutoff = nth->front();
    }
  }
  if (ws.settings.max_age_ms) {
    // Finished before now - max_age: the same as a cutoff just before that time.
    std::pair<int64_t, std::string> by_age{now - *ws.settings.max_age_ms - 1, "\x7f"};
    if (!cutoff || by_age > *cutoff) {
      cutoff = by_age;
    }
  }
  if (!cutoff) {
    return std::vector<std::string>{};
  }
  static const std::string kExpired =
      "SELECT id FROM runs WHERE workspace_id = ?1 AND finished_at > 0 AND (finished_at < ?2 OR "
      "(finished_at = ?2 AND id <= ?3)) AND " +
      Deletable() + " ORDER BY finished_at, id LIMIT ?4";
  return QueryAll<std::string>(
      db, kExpired,
      [&](Statement& q) {
        q.Bind(1, ws.workspace_id);
        q.Bind(2, cutoff->first);
        q.Bind(3, cutoff->second);
        q.Bind(4, limit);
      },
      read_id);
}

// Deletes the runs `ids` (padded to `n`) that may still go, and what is theirs; adds
// the deleted ids to `deleted`.
Status DeleteRuns(Connection& db, const std::vector<std::string>& ids, int n,
                  std::vector<std::string>& deleted) {
  const std::string list = Placeholders(1, n);
  Result<std::vector<std::string>> gone = QueryAll<std::string>(
      db, "DELETE FROM runs WHERE id IN " + list + " AND " + Deletable() + " RETURNING id",
      [&](Statement& q) { BindIds(q, 1, n, ids); }, [](const Statement& q) { return q.Text(0); });
  if (!gone.ok()) {
    return gone.status();
  }
  if (gone->empty()) {
    return Status::Ok();
  }
  static const char* kOwned[] = {
      "DELETE FROM approval_links WHERE approval_id IN (SELECT id FROM human_tasks WHERE run_id "
      "IN ",
      "DELETE FROM human_tasks WHERE run_id IN ",
      "DELETE FROM steps WHERE run_id IN ",
      "DELETE FROM timers WHERE run_id IN ",
      "DELETE FROM events WHERE run_id IN ",
      "DELETE FROM agent_tasks WHERE run_id IN ",
      "DELETE FROM idempotency WHERE run_id IN ",
      "DELETE FROM run_fields WHERE run_id IN ",
  };
  for (const char* owned : kOwned) {
    std::string sql = owned + list;
    if (sql.find("(SELECT") != std::string::npos) {
      sql += ")";
    }
    Status s = sql::Exec(db, sql, [&](Statement& q) { BindIds(q, 1, n, *gone); });
    if (!s.ok()) {
      return s;
    }
  }
  deleted.insert(deleted.end(), gone->begin(), gone->end());
  return Status::Ok();
}

}  // namespace

Result<RetentionSettings> SqlStore::GetRetention(const std::string& workspace_id) {
  return Read([&](Connection& db) -> Result<RetentionSettings> {
    Result<std::vector<RetentionSettings>> rows = QueryAll<RetentionSettings>(
        db, "SELECT max_age_ms, max_count FROM retention WHERE workspace_id = ?",
        [&](Statement& q) { q.Bind(1, workspace_id); },
        [](const Statement& q) {
          return RetentionSettings{OptionalInt(q, 0), OptionalInt(q, 1)};
        });
    if (!rows.ok()) {
      return rows.status();
    }
    return rows->empty() ? RetentionSettings{} : rows->front();
  });
}

Status SqlStore::PutRetention(const std::string& workspace_id, const RetentionSettings& settings,
                              const AuditEntry& audit) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status s = sql::Exec(
        db,
        "INSERT INTO retention(workspace_id, max_age_ms, max_count, updated_at) VALUES(?1, ?2, "
        "?3, ?4) ON CONFLICT (workspace_id) DO UPDATE SET max_age_ms = excluded.max_age_ms, "
        "max_count = excluded.max_count, updated_at = excluded.updated_at",
        [&](Statement& q) {
          q.Bind(1, workspace_id);
          settings.max_age_ms ? q.Bind(2, *settings.max_age_ms) : q.BindNull(2);
          settings.max_count ? q.Bind(3, *settings.max_count) : q.BindNull(3);
          q.Bind(4, audit.at);
        });
    return s.ok() ? sql::InsertAudit(db, audit) : s;
  });
}

Result<RetentionBatch> SqlStore::DeleteExpiredRuns(int64_t now, int limit) {
  limit = std::max(limit, 1);
  Result<std::vector<std::string>> chosen =
      Read([&](Connection& db) -> Result<std::vector<std::string>> {
        Result<std::vector<WorkspaceRetention>> all = QueryAll<WorkspaceRetention>(
            db,
            "SELECT workspace_id, max_age_ms, max_count FROM retention WHERE max_age_ms IS NOT "
            "NULL OR max_count IS NOT NULL ORDER BY workspace_id",
            [](Statement&) {},
            [](const Statement& q) {
              return WorkspaceRetention{q.Text(0), {OptionalInt(q, 1), OptionalInt(q, 2)}};
            });
        if (!all.ok()) {
          return all.status();
        }
        std::vector<std::string> ids;
        for (const WorkspaceRetention& ws : *all) {
          const int left = limit - static_cast<int>(ids.size());
          if (left <= 0) {
            break;
          }
          Result<std::vector<std::string>> expired = ExpiredRunsOf(db, ws, now, left);
          if (!expired.ok()) {
            return expired.status();
          }
          ids.insert(ids.end(), expired->begin(), expired->end());
        }
        return ids;
      });
  if (!chosen.ok()) {
    return chosen.status();
  }
  if (chosen->empty()) {
    return RetentionBatch{};
  }
  std::vector<std::string> deleted;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>& changed) {
    deleted.clear();
    Status d = DeleteRuns(db, *chosen, limit, deleted);
    if (d.ok()) {
      changed.insert(changed.end(), deleted.begin(), deleted.end());
    }
    return d;
  });
  if (!s.ok()) {
    return s;
  }
  return RetentionBatch{static_cast<int64_t>(deleted.size()),
                        static_cast<int>(chosen->size()) == limit};
}

}  // namespace sw
