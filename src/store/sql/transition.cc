#include "store/sql/transition.h"

#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/run_fields.h"

namespace sw::sql {

namespace {

Status UpdateRunRow(Connection& db, const std::string& run_id, const RunRowChange& row) {
  // A new output is indexed for search (store/sql/run_fields.h), or its run is not.
  std::optional<std::vector<RunField>> output_fields;
  if (row.output) output_fields = IndexedFields("output", *row.output);
  std::string sql = "UPDATE runs SET version = ?15, updated_at = ?1";
  if (row.status) sql += ", status = ?2";
  if (row.paused_from) sql += ", paused_from = ?3";
  if (row.pause) sql += ", pause = ?4, pause_reason = ?5";
  if (row.wait) sql += ", wait = ?6, wait_kind = ?7";
  if (row.cancel) sql += ", cancel = ?8";
  if (row.output) sql += output_fields ? ", output = ?9" : ", output = ?9, fields_indexed = 0";
  if (row.error) sql += ", error = ?10";
  if (row.started_at) sql += ", started_at = ?11";
  if (row.finished_at) sql += ", finished_at = ?12";
  if (row.owner) sql += ", owner = ?16";
  if (row.side_rows) sql += ", side_rows = 1";
  sql += " WHERE id = ?13 AND version = ?14";
  Status s = Exec(db, sql, [&](Statement& q) {
    q.Bind(1, row.updated_at);
    if (row.status) q.Bind(2, ToString(*row.status));
    if (row.paused_from) q.Bind(3, ToString(*row.paused_from));
    if (row.pause) q.BindJson(4, *row.pause).Bind(5, row.pause_reason);
    if (row.wait) q.BindJson(6, *row.wait).Bind(7, row.wait_kind);
    if (row.cancel) q.BindJson(8, *row.cancel);
    if (row.output) q.BindJson(9, *row.output);
    if (row.error) q.BindJson(10, *row.error);
    if (row.started_at) q.Bind(11, *row.started_at);
    if (row.finished_at) q.Bind(12, *row.finished_at);
    q.Bind(13, run_id).Bind(14, row.expected_version).Bind(15, row.new_version);
    if (row.owner) q.Bind(16, *row.owner);
  });
  // The head was read locked (FOR UPDATE) where the database has row locks: this holds
  // unless something wrote the run outside a transition.
  if (s.ok() && db.Changes() == 0) {
    return StateChanged();
  }
  if (!s.ok() || !row.output) {
    return s;
  }
  return ReplaceOutputFields(db, run_id, output_fields.value_or(std::vector<RunField>{}));
}

Status CancelStepsInFlight(Connection& db, const TransitionPlan& plan) {
  static const std::string kSql =
      "UPDATE steps SET status = '" + std::string(ToString(StepStatus::kCancelled)) +
      "', error = ?1, finished_at = ?2 WHERE run_id = ?3 AND status IN " +
      SqlList(kStepsInFlight, [](StepStatus s) { return ToString(s); });
  return Exec(db, kSql, [&](Statement& q) {
    q.BindJson(1, *plan.cancel_steps_in_flight).Bind(2, plan.now).Bind(3, plan.run_id);
  });
}

// A compare-and-set on the task's status (and lapsed lease): a lost one is kAborted.
Status UpdateTask(Connection& db, const AgentTaskUpdate& u, int64_t now) {
  std::string sql =
      "UPDATE agent_tasks SET status = ?1, updated_at = ?2, agent_id = CASE WHEN ?1 = 'queued' "
      "THEN '' ELSE agent_id END, lease_expires_at = CASE WHEN ?1 = 'queued' THEN 0 ELSE "
      "lease_expires_at END";
  if (u.attempt > 0) sql += ", attempt = ?3";
  if (u.available_at >= 0) sql += ", available_at = ?4";
  sql += " WHERE id = ?5 AND status = ?6";
  if (u.expect_lease_before > 0) sql += " AND lease_expires_at < ?7";
  Status s = Exec(db, sql, [&](Statement& q) {
    q.Bind(1, u.status).Bind(2, now);
    if (u.attempt > 0) q.Bind(3, u.attempt);
    if (u.available_at >= 0) q.Bind(4, u.available_at);
    q.Bind(5, u.task_id).Bind(6, u.expect_status);
    if (u.expect_lease_before > 0) q.Bind(7, u.expect_lease_before);
  });
  if (s.ok() && db.Changes() == 0) {
    return Status(StatusCode::kAborted, "the agent task changed meanwhile", "state_changed");
  }
  return s;
}

Status DropTimers(Connection& db, const std::string& run_id, TimerDrop drop) {
  if (drop == TimerDrop::kNone) {
    return Status::Ok();
  }
  // A run that goes on keeps its run timeout.
  return Exec(db,
              drop == TimerDrop::kAll ? "DELETE FROM timers WHERE run_id = ?"
                                      : "DELETE FROM timers WHERE run_id = ? AND kind != ?",
              [&](Statement& q) {
                q.Bind(1, run_id);
                if (drop != TimerDrop::kAll) {
                  q.Bind(2, std::string(ToString(TimerKind::kRunTimeout)));
                }
              });
}

Status AddTimer(Connection& db, const TimerRecord& timer) {
  return Exec(
      db,
      "INSERT INTO timers(run_id, kind, path, due_at) VALUES(?, ?, ?, ?) ON CONFLICT(run_id, "
      "kind) DO UPDATE SET path = excluded.path, due_at = excluded.due_at",
      [&](Statement& q) {
        q.Bind(1, timer.run_id).Bind(2, std::string(ToString(timer.kind))).Bind(3, timer.path);
        q.Bind(4, timer.due_at);
      });
}

Status CloseAgentTasks(Connection& db, const TransitionPlan& plan) {
  static const std::string kSql =
      "UPDATE agent_tasks SET status = '" + std::string(kClosedAgentTaskStatus) +
      "', updated_at = ? WHERE run_id = ? AND status IN " +
      SqlList(kOpenAgentTaskStatuses, [](std::string_view s) { return s; });
  return Exec(db, kSql, [&](Statement& q) { q.Bind(1, plan.now).Bind(2, plan.run_id); });
}

Status CloseHumanTasks(Connection& db, const TransitionPlan& plan) {
  // Most runs that end have no open approval or form: a look by the run's index first
  // spares them the two resolutions the update binds.
  static const std::string kOpenSql =
      "SELECT 1 FROM human_tasks WHERE run_id = ? AND status IN " +
      SqlList(kOpenHumanTaskStatuses, [](std::string_view s) { return s; }) + " LIMIT 1";
  Result<std::vector<int64_t>> open = QueryAll<int64_t>(
      db, kOpenSql, [&](Statement& q) { q.Bind(1, plan.run_id); },
      [](const Statement& q) { return q.Int(0); });
  if (!open.ok() || open->empty()) {
    return open.status();
  }
  // What each kind becomes, and its resolution, as core/approval.h and core/form.h read it.
  static const std::string kSql =
      "UPDATE human_tasks SET status = CASE kind WHEN 'approval' THEN ?1 ELSE ?2 END, "
      "resolution = CASE kind WHEN 'approval' THEN ?3 ELSE ?4 END, version = version + 1, "
      "updated_at = ?5 WHERE run_id = ?6 AND status IN " +
      SqlList(kOpenHumanTaskStatuses, [](std::string_view s) { return s; });
  auto resolution = [&](std::string_view status) {
    return nlohmann::json{{"status", status},
                          {"at", plan.now},
                          {"reason", *plan.close_human_tasks},
                          {"proceed", false}};
  };
  return Exec(db, kSql, [&](Statement& q) {
    q.Bind(1, kClosedApprovalStatus).Bind(2, kClosedFormStatus);
    q.BindJson(3, resolution(kClosedApprovalStatus)).BindJson(4, resolution(kClosedFormStatus));
    q.Bind(5, plan.now).Bind(6, plan.run_id);
  });
}

// Creates the task, or changes it as a compare-and-set on its version (kAborted).
Status WriteHumanTask(Connection& db, const HumanTaskWrite& w, int64_t now) {
  HumanTaskRecord t = w.task;
  t.updated_at = now;
  if (w.expected_version == 0) {
    t.version = 1;
    return InsertHumanTask(db, t);
  }
  Status s = Exec(db,
                  "UPDATE human_tasks SET status = ?1, version = ?2, body = ?3, resolution = ?4, "
                  "expires_at = ?5, updated_at = ?6 WHERE id = ?7 AND version = ?8",
                  [&](Statement& q) {
                    q.Bind(1, t.status).Bind(2, w.expected_version + 1).BindJson(3, t.body);
                    q.BindJson(4, t.resolution).Bind(5, t.expires_at).Bind(6, now);
                    q.Bind(7, t.id).Bind(8, w.expected_version);
                  });
  if (s.ok() && db.Changes() == 0) {
    return Status(StatusCode::kAborted, "the " + t.kind + " changed meanwhile", "state_changed");
  }
  return s;
}

Status UseLink(Connection& db, const std::string& hash, int64_t now) {
  Status s = Exec(db, "UPDATE approval_links SET used_at = ? WHERE token_hash = ? AND used_at = 0",
                  [&](Statement& q) { q.Bind(1, now).Bind(2, hash); });
  if (s.ok() && db.Changes() == 0) {
    return Status(StatusCode::kAborted, "the link was used meanwhile", "state_changed");
  }
  return s;
}

// The effects on the run's steps, timers and tasks, in the plan's order.
Status ApplyRunEffects(Connection& db, const TransitionPlan& plan) {
  if (plan.cancel_steps_in_flight) {
    if (Status s = CancelStepsInFlight(db, plan); !s.ok()) {
      return s;
    }
  }
  if (Status s = UpsertSteps(db, plan.run_id, plan.upsert_steps); !s.ok()) {
    return s;
  }
  if (plan.discard_step_result) {
    Status s =
        Exec(db, "UPDATE steps SET result_discarded = 1 WHERE run_id = ? AND path = ?",
             [&](Statement& q) { q.Bind(1, plan.run_id).Bind(2, *plan.discard_step_result); });
    if (!s.ok()) {
      return s;
    }
  }
  if (plan.update_task) {
    if (Status s = UpdateTask(db, *plan.update_task, plan.now); !s.ok()) {
      return s;
    }
  }
  if (Status s = DropTimers(db, plan.run_id, plan.drop_timers); !s.ok()) {
    return s;
  }
  for (const TimerRecord& timer : plan.add_timers) {
    if (Status s = AddTimer(db, timer); !s.ok()) {
      return s;
    }
  }
  // Before the close below: a task written by a change that ends its run closes too.
  if (plan.human_task) {
    if (Status s = WriteHumanTask(db, *plan.human_task, plan.now); !s.ok()) {
      return s;
    }
  }
  if (plan.close_agent_tasks) {
    if (Status s = CloseAgentTasks(db, plan); !s.ok()) {
      return s;
    }
  }
  return plan.close_human_tasks ? CloseHumanTasks(db, plan) : Status::Ok();
}

}  // namespace

Status ApplyPlan(Connection& db, const TransitionPlan& plan) {
  if (Status s = UpdateRunRow(db, plan.run_id, plan.row); !s.ok()) {
    return s;
  }
  if (Status s = ApplyRunEffects(db, plan); !s.ok()) {
    return s;
  }
  if (plan.create_run) {
    if (Status s = InsertRun(db, *plan.create_run, plan.self); !s.ok()) {
      return s;
    }
  }
  if (plan.enqueue_task) {
    if (Status s = InsertTask(db, *plan.enqueue_task); !s.ok()) {
      return s;
    }
  }
  if (plan.consume_event_id) {
    Status s = Exec(db, "DELETE FROM events WHERE id = ?",
                    [&](Statement& q) { q.Bind(1, *plan.consume_event_id); });
    if (!s.ok()) {
      return s;
    }
  }
  if (plan.use_link_hash) {
    if (Status s = UseLink(db, *plan.use_link_hash, plan.now); !s.ok()) {
      return s;
    }
  }
  if (plan.audit) {
    if (Status s = InsertAudit(db, *plan.audit); !s.ok()) {
      return s;
    }
  }
  for (const NotificationRecord& n : plan.notify) {
    if (Result<int64_t> queued = InsertNotification(db, n); !queued.ok()) {
      return queued.status();
    }
  }
  return Status::Ok();
}

Status ApplyTransitionFrom(Connection& db, const RunTransition& t, const RunHead& before,
                           std::string_view self, std::vector<std::string>& changed) {
  Result<TransitionPlan> plan = PlanTransition(t, before, self);
  if (!plan.ok()) {
    return plan.status();
  }
  if (Status s = ApplyPlan(db, *plan); !s.ok()) {
    return s;
  }
  changed.insert(changed.end(), plan->changed_runs.begin(), plan->changed_runs.end());
  return Status::Ok();
}

Result<RunHead> ReadRunHeadLocked(Connection& db, const std::string& run_id) {
  // Read by hand rather than with QueryOne: this is every transition's first statement.
  static const std::string kSql =
      std::string("SELECT ") + kRunHeadColumns + " FROM runs WHERE id = ?";
  static const std::string kLockingSql = kSql + " FOR UPDATE";  // the dialect's for_update
  Result<Statement*> read = db.Prepare(*db.dialect().for_update == '\0' ? kSql : kLockingSql);
  if (!read.ok()) {
    return read.status();
  }
  (*read)->Bind(1, run_id);
  Result<bool> row = (*read)->Step();
  if (!row.ok()) {
    return row.status();
  }
  if (!*row) {
    (*read)->Reset();
    return NotFound("run " + run_id + " not found");
  }
  Result<RunHead> head = ReadRunHead(**read);
  (*read)->Reset();
  return head;
}

Status ApplyTransition(Connection& db, const RunTransition& t, std::string_view self,
                       std::vector<std::string>& changed) {
  Result<RunHead> before = ReadRunHeadLocked(db, t.run_id);
  if (!before.ok()) {
    return before.status();
  }
  return ApplyTransitionFrom(db, t, *before, self, changed);
}

}  // namespace sw::sql
