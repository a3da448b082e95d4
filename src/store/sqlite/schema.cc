#include "store/sqlite/schema.h"

#include <iterator>
#include <string>

#include "store/sql/migrations.h"

namespace sw::sqlite {

namespace {

// Times are INTEGER milliseconds since the epoch (0 = not set); JSON is TEXT.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE workspaces (
  id TEXT PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE workflows (
  workspace_id TEXT NOT NULL,
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  mode TEXT NOT NULL,
  status TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
CREATE TABLE workflow_versions (
  workspace_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, workflow_id, version)
);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  workflow_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  version INTEGER NOT NULL,
  paused_from TEXT NOT NULL,
  pause TEXT, wait TEXT, cancel TEXT,
  input TEXT, output TEXT, error TEXT, trigger TEXT,
  replay_of TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL DEFAULT 0,
  pause_reason TEXT NOT NULL DEFAULT '',
  wait_kind TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_workspace ON runs (workspace_id, id);
CREATE INDEX runs_by_status ON runs (status);
CREATE TABLE steps (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  path TEXT NOT NULL,
  step_id TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  output TEXT, error TEXT,
  result_discarded INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, path)
) WITHOUT ROWID;
CREATE INDEX steps_by_seq ON steps (run_id, seq);
CREATE TABLE timers (
  run_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, kind)
) WITHOUT ROWID;
CREATE INDEX timers_by_due ON timers (due_at);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  payload TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX events_by_run ON events (run_id, event_type, id);
CREATE TABLE idempotency (
  workspace_id TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  run_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, key)
) WITHOUT ROWID;
CREATE TABLE audit (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  reason TEXT NOT NULL,
  request_id TEXT NOT NULL,
  status_before TEXT NOT NULL,
  status_after TEXT NOT NULL
);
CREATE INDEX audit_by_target ON audit (workspace_id, target, id);
)sql",
    R"sql(
CREATE TABLE sessions (
  hash TEXT PRIMARY KEY,
  token_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
ALTER TABLE steps ADD COLUMN detail TEXT;
ALTER TABLE runs ADD COLUMN parent_run_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN parent_path TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id != '';
CREATE TABLE agent_tasks (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  path TEXT NOT NULL,
  step_id TEXT NOT NULL,
  queue TEXT NOT NULL,
  input TEXT,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  agent_id TEXT NOT NULL DEFAULT '',
  available_at INTEGER NOT NULL,
  lease_expires_at INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX agent_tasks_queued ON agent_tasks (workspace_id, status, queue, available_at);
CREATE INDEX agent_tasks_by_run ON agent_tasks (run_id);
CREATE INDEX agent_tasks_by_lease ON agent_tasks (status, lease_expires_at);
)sql",
    R"sql(
CREATE TABLE human_tasks (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  path TEXT NOT NULL,
  step_id TEXT NOT NULL,
  status TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  resolution TEXT,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  undecided INTEGER GENERATED ALWAYS AS (status IN ('pending', 'open')) VIRTUAL
);
CREATE INDEX human_tasks_inbox ON human_tasks (workspace_id, kind, undecided, id);
CREATE INDEX human_tasks_by_run ON human_tasks (run_id);
CREATE TABLE approval_links (
  token_hash TEXT PRIMARY KEY,
  approval_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  link TEXT NOT NULL,
  subject TEXT,
  created_at INTEGER NOT NULL,
  read_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_by_workspace ON notifications (workspace_id, id);
CREATE INDEX notifications_unread ON notifications (workspace_id, id) WHERE read_at = 0;
CREATE TABLE notification_channels (
  workspace_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  channel TEXT NOT NULL,
  target TEXT NOT NULL,
  format TEXT NOT NULL,
  PRIMARY KEY (workspace_id, position)
) WITHOUT ROWID;
CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  notification_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  target TEXT NOT NULL,
  format TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX deliveries_by_workspace ON deliveries (workspace_id, id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
)sql",
    R"sql(
CREATE TABLE connections (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  app TEXT NOT NULL,
  status TEXT NOT NULL,
  error_message TEXT NOT NULL,
  error_at INTEGER NOT NULL,
  token_url TEXT NOT NULL,
  client_id TEXT NOT NULL,
  authorize_url TEXT NOT NULL,
  scopes TEXT NOT NULL,
  client_secret TEXT NOT NULL,
  refresh_token TEXT NOT NULL,
  access_token TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (workspace_id, name)
);
CREATE INDEX connections_by_workspace ON connections (workspace_id, id);
CREATE TABLE oauth_states (
  state_hash TEXT PRIMARY KEY,
  connection_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  code_verifier TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX runs_by_wait_kind ON runs (wait_kind) WHERE wait_kind != '';
)sql",
    R"sql(
ALTER TABLE workflows ADD COLUMN safety TEXT;
)sql",
    R"sql(
CREATE TABLE billing (
  workspace_id TEXT PRIMARY KEY,
  currency TEXT NOT NULL,
  spend_cap INTEGER,
  soft_threshold_ppm INTEGER NOT NULL,
  prices TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  spend INTEGER NOT NULL,
  near_cap_notified INTEGER NOT NULL,
  capped INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // The instance that drives the run (store/transition_plan.h; one process on SQLite
    // never writes it: the column is here so that the store's SQL is one), and whether
    // the run may have timers or tasks for its end to drop or close (1 for the runs
    // made before: they may).
    R"sql(
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN side_rows INTEGER NOT NULL DEFAULT 1;
)sql",
    // A delivery's claim: which instance's outbox sends its attempt, until when.
    R"sql(
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
)sql",
    // Run search (store/sql/run_search.cc) by creation and end time, error code and
    // actor within a workspace; the end time also serves retention, as does its table of
    // per-workspace limits (NULL: no limit).
    R"sql(
CREATE INDEX runs_by_created ON runs (workspace_id, created_at);
CREATE INDEX runs_by_finished ON runs (workspace_id, finished_at) WHERE finished_at > 0;
CREATE INDEX runs_by_error_code ON runs (workspace_id, json_extract(error, '$.code'));
CREATE INDEX runs_by_actor ON runs (workspace_id, json_extract(trigger, '$.actor'));
CREATE TABLE retention (
  workspace_id TEXT PRIMARY KEY,
  max_age_ms INTEGER,
  max_count INTEGER,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // Schedules (API.md "Schedules"): a cron expression in a zone that starts runs;
    // next_fire_at is the first tick not yet consumed (store/schedule_records.h).
    R"sql(
CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  input TEXT NOT NULL,
  overlap TEXT NOT NULL,
  catch_up TEXT NOT NULL,
  max_catch_up INTEGER NOT NULL,
  paused INTEGER NOT NULL,
  next_fire_at INTEGER NOT NULL,
  last_fired_at INTEGER NOT NULL,
  last_run_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX schedules_by_workspace ON schedules (workspace_id, id);
CREATE INDEX schedules_due ON schedules (paused, next_fire_at);
)sql",
    // Bulk operations (API.md "Bulk controls", store/operation_records.h): a control
    // applied to the runs a filter matched at the start, each run with its own state.
    R"sql(
CREATE TABLE operations (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  action TEXT NOT NULL,
  run_filter TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  status TEXT NOT NULL,
  total INTEGER NOT NULL,
  done INTEGER NOT NULL,
  skipped INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX operations_running ON operations (status, id);
CREATE TABLE operation_runs (
  operation_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  state TEXT NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (operation_id, run_id)
) WITHOUT ROWID;
CREATE INDEX operation_runs_by_state ON operation_runs (operation_id, state, run_id);
)sql",
    // Rerun from a step (API.md "Day-two operations"): the step path a rerun started
    // from, and the steps it copied from the run it reruns rather than executed.
    R"sql(
ALTER TABLE runs ADD COLUMN replay_from_step TEXT NOT NULL DEFAULT '';
ALTER TABLE steps ADD COLUMN copied INTEGER NOT NULL DEFAULT 0;
)sql",
    // Run search by input and output fields (store/sql/run_fields.h): their index, and
    // whether a run is in it (0 for the runs made before: the search reads their JSON,
    // through runs_unindexed). The error code and actor indexes end in the id, the
    // order of the run list, so that a page is read from them without a sort.
    R"sql(
CREATE TABLE run_fields (
  workspace_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  run_id TEXT NOT NULL,
  PRIMARY KEY (workspace_id, field, value, run_id)
) WITHOUT ROWID;
CREATE INDEX run_fields_by_run ON run_fields (run_id);
ALTER TABLE runs ADD COLUMN fields_indexed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_unindexed ON runs (workspace_id, fields_indexed, id) WHERE fields_indexed = 0;
DROP INDEX runs_by_error_code;
DROP INDEX runs_by_actor;
CREATE INDEX runs_by_error_code ON runs (workspace_id, json_extract(error, '$.code'), id);
CREATE INDEX runs_by_actor ON runs (workspace_id, json_extract(trigger, '$.actor'), id);
)sql",
    // Only a failed run has an error code: the index holds those alone, so a run that
    // completes or waits writes one page less (a filter by code implies it is not null).
    R"sql(
DROP INDEX runs_by_error_code;
CREATE INDEX runs_by_error_code ON runs (workspace_id, json_extract(error, '$.code'), id)
  WHERE json_extract(error, '$.code') IS NOT NULL;
)sql",
};

}  // namespace

int64_t SchemaVersion() { return static_cast<int64_t>(std::size(kMigrations)); }

Status Migrate(sql::Connection& db) {
  static constexpr sql::SchemaVersionSql kUserVersion = {
      .read = "PRAGMA user_version",
      .record = [](int64_t version) { return "PRAGMA user_version = " + std::to_string(version); },
  };
  return sql::ApplyMigrations(db, kMigrations, kUserVersion);
}

}  // namespace sw::sqlite
