// SqlStore's timers, buffered events and agent tasks. See sql_store.h.
#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/sql_store.h"
#include "store/transition_plan.h"

namespace sw {

using sql::Connection;
using sql::QueryAll;
using sql::Statement;

namespace {

Result<AgentTaskRecord> SelectTask(Connection& db, const std::string& task_id) {
  return sql::SelectById<AgentTaskRecord>(db, sql::kTaskColumns, "agent_tasks", task_id,
                                          sql::ReadTask, "agent task");
}

// The oldest task of `queues` available at `now`, if any.
Result<std::vector<AgentTaskRecord>> SelectNextTask(Connection& db, const std::string& workspace_id,
                                                    const std::vector<std::string>& queues,
                                                    int64_t now) {
  std::string in = "?";
  for (size_t i = 1; i < queues.size(); ++i) {
    in += ", ?";
  }
  return QueryAll<AgentTaskRecord>(
      db,
      std::string("SELECT ") + sql::kTaskColumns +
          " FROM agent_tasks WHERE workspace_id = ? AND status = 'queued' AND available_at <= ? "
          "AND queue IN (" +
          in + ") ORDER BY available_at, id LIMIT 1" + db.dialect().for_update_skip_locked,
      [&](Statement& q) {
        q.Bind(1, workspace_id).Bind(2, now);
        for (size_t i = 0; i < queues.size(); ++i) {
          q.Bind(static_cast<int>(i) + 3, queues[i]);
        }
      },
      sql::ReadTask);
}

}  // namespace

// --- agent tasks ---

Result<std::optional<AgentTaskRecord>> SqlStore::ClaimAgentTask(
    const std::string& workspace_id, const std::vector<std::string>& queues,
    const std::string& agent_id, int64_t now, int64_t lease_ms) {
  std::optional<AgentTaskRecord> claimed;
  if (queues.empty()) {
    return claimed;
  }
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<std::vector<AgentTaskRecord>> next = SelectNextTask(db, workspace_id, queues, now);
    if (!next.ok() || next->empty()) {
      return next.status();
    }
    AgentTaskRecord task = next->front();
    task.status = "claimed";
    task.agent_id = agent_id;
    task.lease_expires_at = now + lease_ms;
    task.updated_at = now;
    Status up = sql::Exec(db,
                          "UPDATE agent_tasks SET status = 'claimed', agent_id = ?, "
                          "lease_expires_at = ?, updated_at = ? WHERE id = ? AND status = "
                          "'queued'",
                          [&](Statement& q) {
                            q.Bind(1, agent_id).Bind(2, task.lease_expires_at).Bind(3, now);
                            q.Bind(4, task.id);
                          });
    if (up.ok() && db.Changes() == 1) {  // else another instance's, committed meanwhile
      claimed = std::move(task);
    }
    return up;
  });
  if (!s.ok()) {
    return s;
  }
  return claimed;
}

Result<AgentTaskRecord> SqlStore::GetAgentTask(const std::string& task_id) {
  return Read([&](Connection& db) { return SelectTask(db, task_id); });
}

Result<AgentTaskRecord> SqlStore::HeartbeatAgentTask(const std::string& task_id,
                                                     const std::string& agent_id, int64_t now,
                                                     int64_t lease_ms) {
  std::optional<AgentTaskRecord> out;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status up = sql::Exec(db,
                          "UPDATE agent_tasks SET lease_expires_at = ?, updated_at = ? WHERE "
                          "id = ? AND agent_id = ? AND status = 'claimed'",
                          [&](Statement& q) {
                            q.Bind(1, now + lease_ms).Bind(2, now).Bind(3, task_id);
                            q.Bind(4, agent_id);
                          });
    if (!up.ok()) {
      return up;
    }
    Result<AgentTaskRecord> task = SelectTask(db, task_id);
    if (!task.ok()) {
      return task.status();
    }
    out = std::move(task).value();
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return std::move(*out);
}

Status SqlStore::CancelAgentTask(const std::string& task_id, int64_t now) {
  // Closed as an ending run closes its tasks (transition_plan.h).
  static const std::string kSql =
      "UPDATE agent_tasks SET status = '" + std::string(kClosedAgentTaskStatus) +
      "', updated_at = ? WHERE id = ? AND status IN " +
      sql::SqlList(kOpenAgentTaskStatuses, [](std::string_view s) { return s; });
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    return sql::Exec(db, kSql, [&](Statement& q) { q.Bind(1, now).Bind(2, task_id); });
  });
}

Result<std::vector<AgentTaskRecord>> SqlStore::LapsedAgentTasks(int64_t now, int limit) {
  static const std::string kSql = std::string("SELECT ") + sql::kTaskColumns +
                                  " FROM agent_tasks WHERE status = 'claimed' AND "
                                  "lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?";
  return Read([&](Connection& db) {
    return QueryAll<AgentTaskRecord>(
        db, kSql, [&](Statement& q) { q.Bind(1, now).Bind(2, limit); }, sql::ReadTask);
  });
}

// --- timers and events ---

Result<std::vector<TimerRecord>> SqlStore::DueTimers(int64_t due_before, int limit) {
  static const std::string kSql = std::string("SELECT ") + sql::kTimerColumns +
                                  " FROM timers WHERE due_at < ? ORDER BY due_at LIMIT ?";
  return Read([&](Connection& db) {
    return QueryAll<TimerRecord>(
        db, kSql, [&](Statement& q) { q.Bind(1, due_before).Bind(2, limit); }, sql::ReadTimer);
  });
}

Result<std::optional<EventRecord>> SqlStore::FindBufferedEvent(const std::string& run_id,
                                                               const std::string& event_type) {
  static const std::string kSql =
      std::string("SELECT ") + sql::kEventColumns +
      " FROM events WHERE run_id = ? AND event_type = ? ORDER BY id LIMIT 1";
  return Read([&](Connection& db) -> Result<std::optional<EventRecord>> {
    Result<std::vector<EventRecord>> rows = QueryAll<EventRecord>(
        db, kSql, [&](Statement& q) { q.Bind(1, run_id).Bind(2, event_type); }, sql::ReadEvent);
    if (!rows.ok()) {
      return rows.status();
    }
    if (rows->empty()) {
      return std::optional<EventRecord>();
    }
    return std::optional<EventRecord>(std::move(rows->front()));
  });
}

Status SqlStore::BufferEvent(const std::string& run_id, int64_t expected_version,
                             const EventRecord& event) {
  return WriteSync([&](Connection& db, std::vector<std::string>& changed) -> Status {
    Status bumped = sql::Exec(
        db, "UPDATE runs SET version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
        [&](Statement& q) {
          q.Bind(1, event.created_at).Bind(2, run_id).Bind(3, expected_version);
        });
    if (!bumped.ok()) {
      return bumped;
    }
    if (db.Changes() == 0) {
      return StateChanged();
    }
    changed.push_back(run_id);
    return sql::Exec(
        db, "INSERT INTO events(run_id, event_type, payload, created_at) VALUES(?, ?, ?, ?)",
        [&](Statement& q) {
          q.Bind(1, run_id).Bind(2, event.event_type).BindJson(3, event.payload);
          q.Bind(4, event.created_at);
        });
  });
}

}  // namespace sw
