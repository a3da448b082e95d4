// SqlStore's workspaces, tokens, UI sessions, workflows and the audit log. See
// sql_store.h.
#include "store/sql/billing.h"
#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/sql_store.h"

namespace sw {

using nlohmann::json;
using sql::Connection;
using sql::QueryAll;
using sql::QueryOne;
using sql::Statement;

namespace {

// `SELECT <columns> FROM <table> ` for a WHERE to follow.
std::string SelectFrom(const char* columns, const char* table) {
  return std::string("SELECT ") + columns + " FROM " + table + " ";
}

Result<WorkspaceRecord> SelectWorkspace(Connection& db, const char* column,
                                        const std::string& value) {
  return QueryOne<WorkspaceRecord>(
      db, SelectFrom(sql::kWorkspaceColumns, "workspaces") + "WHERE " + column + " = ?",
      [&](Statement& q) { q.Bind(1, value); }, sql::ReadWorkspace, "workspace not found");
}

Result<WorkflowRecord> SelectWorkflow(Connection& db, const std::string& workspace_id,
                                      const std::string& workflow_id) {
  return QueryOne<WorkflowRecord>(
      db, SelectFrom(sql::kWorkflowColumns, "workflows") + "WHERE workspace_id = ? AND id = ?",
      [&](Statement& q) { q.Bind(1, workspace_id).Bind(2, workflow_id); }, sql::ReadWorkflow,
      "workflow " + workflow_id + " not found");
}

Result<json> SelectDefinition(Connection& db, const std::string& workspace_id,
                              const std::string& workflow_id, int version) {
  return QueryOne<json>(
      db,
      SelectFrom(sql::kDefinitionColumns, "workflow_versions") +
          "WHERE workspace_id = ? AND workflow_id = ? AND version = ?",
      [&](Statement& q) { q.Bind(1, workspace_id).Bind(2, workflow_id).Bind(3, version); },
      sql::ReadDefinition, "definition not found");
}

// Stores `wf` as version `version` and makes it the current one.
Status InsertWorkflowVersion(Connection& db, const WorkflowRecord& wf, int version,
                             int64_t created_at) {
  Status s = sql::Exec(db,
                       "INSERT INTO workflow_versions(workspace_id, workflow_id, version, "
                       "definition, created_at) VALUES(?, ?, ?, ?, ?)",
                       [&](Statement& q) {
                         q.Bind(1, wf.workspace_id).Bind(2, wf.id).Bind(3, version);
                         q.BindJson(4, wf.definition).Bind(5, wf.updated_at);
                       });
  if (!s.ok()) {
    return s;
  }
  return sql::Exec(
      db,
      "INSERT INTO workflows(workspace_id, id, kind, mode, status, version, created_at, "
      "updated_at) VALUES(?, ?, ?, ?, 'active', ?, ?, ?) ON CONFLICT(workspace_id, id) DO "
      "UPDATE SET kind = excluded.kind, mode = excluded.mode, version = excluded.version, "
      "updated_at = excluded.updated_at",
      [&](Statement& q) {
        q.Bind(1, wf.workspace_id).Bind(2, wf.id).Bind(3, wf.kind).Bind(4, wf.mode);
        q.Bind(5, version).Bind(6, created_at).Bind(7, wf.updated_at);
      });
}

// Runs `sql` and answers kNotFound with `not_found` when it changed no row.
template <typename Binder>
Status ExecOnExisting(Connection& db, const std::string& sql, Binder bind,
                      const std::string& not_found) {
  if (Status s = sql::Exec(db, sql, bind); !s.ok()) {
    return s;
  }
  return db.Changes() == 0 ? NotFound(not_found) : Status::Ok();
}

}  // namespace

// --- workspaces, tokens, sessions ---

Result<WorkspaceRecord> SqlStore::CreateWorkspace(const WorkspaceRecord& ws) {
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status inserted =
        sql::Exec(db, "INSERT INTO workspaces(id, slug, created_at) VALUES(?, ?, ?)",
                  [&](Statement& q) { q.Bind(1, ws.id).Bind(2, ws.slug).Bind(3, ws.created_at); });
    if (!inserted.ok() && inserted.code() == StatusCode::kAlreadyExists) {
      return Status(StatusCode::kAlreadyExists, "workspace '" + ws.slug + "' already exists",
                    "already_exists");
    }
    return inserted;
  });
  if (!s.ok()) {
    return s;
  }
  return ws;
}

Result<WorkspaceRecord> SqlStore::FindWorkspaceBySlug(const std::string& slug) {
  return Read([&](Connection& db) { return SelectWorkspace(db, "slug", slug); });
}

Result<WorkspaceRecord> SqlStore::FindWorkspace(const std::string& id) {
  return Read([&](Connection& db) { return SelectWorkspace(db, "id", id); });
}

Status SqlStore::CreateToken(const TokenRecord& t, const std::optional<AuditEntry>& audit) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status s = sql::Exec(db,
                         "INSERT INTO tokens(id, workspace_id, name, role, hash, created_at, "
                         "revoked_at) VALUES(?, ?, ?, ?, ?, ?, 0)",
                         [&](Statement& q) {
                           q.Bind(1, t.id).Bind(2, t.workspace_id).Bind(3, t.name);
                           q.Bind(4, ToString(t.role)).Bind(5, t.hash).Bind(6, t.created_at);
                         });
    if (!s.ok()) {
      return s;
    }
    return audit ? sql::InsertAudit(db, *audit) : Status::Ok();
  });
}

Result<TokenRecord> SqlStore::FindTokenByHash(const std::string& hash) {
  return Read([&](Connection& db) {
    return QueryOne<TokenRecord>(
        db, SelectFrom(sql::kTokenColumns, "tokens") + "WHERE hash = ? AND revoked_at = 0",
        [&](Statement& q) { q.Bind(1, hash); }, sql::ReadToken, "token not found");
  });
}

Result<std::vector<TokenRecord>> SqlStore::ListTokens(const std::string& workspace_id) {
  return Read([&](Connection& db) {
    return QueryAll<TokenRecord>(
        db, SelectFrom(sql::kTokenColumns, "tokens") + "WHERE workspace_id = ? ORDER BY id DESC",
        [&](Statement& q) { q.Bind(1, workspace_id); }, sql::ReadToken);
  });
}

Status SqlStore::RevokeToken(const std::string& workspace_id, const std::string& token_id,
                             int64_t now, const AuditEntry& audit) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status s = ExecOnExisting(
        db, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND workspace_id = ? AND revoked_at = 0",
        [&](Statement& q) { q.Bind(1, now).Bind(2, token_id).Bind(3, workspace_id); },
        "token " + token_id + " not found");
    return s.ok() ? sql::InsertAudit(db, audit) : s;
  });
}

Status SqlStore::CreateSession(const std::string& hash, const std::string& token_id,
                               int64_t expires_at) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    return sql::Exec(db, "INSERT INTO sessions(hash, token_id, expires_at) VALUES(?, ?, ?)",
                     [&](Statement& q) { q.Bind(1, hash).Bind(2, token_id).Bind(3, expires_at); });
  });
}

Result<TokenRecord> SqlStore::FindSessionToken(const std::string& hash, int64_t now) {
  return Read([&](Connection& db) {
    return QueryOne<TokenRecord>(
        db,
        SelectFrom(sql::kTokenColumns, "tokens") +
            "WHERE id = (SELECT token_id FROM sessions WHERE hash = ? AND expires_at > ?) AND "
            "revoked_at = 0",
        [&](Statement& q) { q.Bind(1, hash).Bind(2, now); }, sql::ReadToken, "session not found");
  });
}

Status SqlStore::DeleteSession(const std::string& hash) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    return sql::Exec(db, "DELETE FROM sessions WHERE hash = ?",
                     [&](Statement& q) { q.Bind(1, hash); });
  });
}

// --- workflows ---

Result<PutWorkflowResult> SqlStore::PutWorkflow(const WorkflowRecord& wf, const AuditEntry& audit) {
  PutWorkflowResult out;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<WorkflowRecord> current = SelectWorkflow(db, wf.workspace_id, wf.id);
    if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
      return current.status();
    }
    out.created = !current.ok();
    out.workflow = wf;
    int next_version = 1;
    if (current.ok()) {
      Result<json> def = SelectDefinition(db, wf.workspace_id, wf.id, current->version);
      if (!def.ok() && def.status().code() != StatusCode::kNotFound) {
        return def.status();
      }
      if (def.ok() && *def == wf.definition) {
        out.workflow = *current;
        out.workflow.definition = *def;
        out.changed = false;
        return Status::Ok();
      }
      next_version = current->version + 1;
      out.workflow.created_at = current->created_at;
      out.workflow.status = current->status;
      out.workflow.safety = current->safety;
    }
    out.changed = true;
    out.workflow.version = next_version;
    Status stored = InsertWorkflowVersion(db, wf, next_version, out.workflow.created_at);
    return stored.ok() ? sql::InsertAudit(db, audit) : stored;
  });
  if (!s.ok()) {
    return s;
  }
  return out;
}

Result<WorkflowRecord> SqlStore::GetWorkflow(const std::string& workspace_id,
                                             const std::string& workflow_id, bool with_definition) {
  // On the warm writer: a start reads its workflow (the row alone) just before its create.
  return ReadWarm([&](Connection& db) -> Result<WorkflowRecord> {
    if (!with_definition) {
      return SelectWorkflow(db, workspace_id, workflow_id);
    }
    // The definition of the row's version, from the same snapshot.
    return sql::InSnapshot(db, [&]() -> Result<WorkflowRecord> {
      Result<WorkflowRecord> wf = SelectWorkflow(db, workspace_id, workflow_id);
      if (!wf.ok()) {
        return wf;
      }
      Result<json> def = SelectDefinition(db, workspace_id, workflow_id, wf->version);
      if (!def.ok()) {
        return def.status();
      }
      wf->definition = std::move(def).value();
      return wf;
    });
  });
}

Result<std::vector<WorkflowRecord>> SqlStore::ListWorkflows(const std::string& workspace_id) {
  return Read([&](Connection& db) {
    return QueryAll<WorkflowRecord>(
        db, SelectFrom(sql::kWorkflowColumns, "workflows") + "WHERE workspace_id = ? ORDER BY id",
        [&](Statement& q) { q.Bind(1, workspace_id); }, sql::ReadWorkflow);
  });
}

Result<json> SqlStore::GetDefinition(const std::string& workspace_id,
                                     const std::string& workflow_id, int version) {
  return Read(
      [&](Connection& db) { return SelectDefinition(db, workspace_id, workflow_id, version); });
}

Result<WorkflowRecord> SqlStore::SetWorkflowStatus(const std::string& workspace_id,
                                                   const std::string& workflow_id,
                                                   const std::string& status, int64_t now,
                                                   const AuditEntry& audit) {
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status set = ExecOnExisting(
        db, "UPDATE workflows SET status = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
        [&](Statement& q) {
          q.Bind(1, status).Bind(2, now).Bind(3, workspace_id).Bind(4, workflow_id);
        },
        "workflow " + workflow_id + " not found");
    return set.ok() ? sql::InsertAudit(db, audit) : set;
  });
  if (!s.ok()) {
    return s;
  }
  return GetWorkflow(workspace_id, workflow_id);
}

namespace {

// Writes the trip unless the workflow holds one already: answers whether it did.
Result<bool> TripIn(Connection& db, const WorkflowSafetyTrip& trip) {
  Result<WorkflowRecord> current = SelectWorkflow(db, trip.workspace_id, trip.workflow_id);
  if (!current.ok()) {
    return current.status();
  }
  if (current->safety.is_object()) {
    return false;  // held already: this trip was recorded, or another reason holds
  }
  Status set = sql::Exec(
      db, "UPDATE workflows SET safety = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
      [&](Statement& q) {
        q.BindJson(1, trip.safety).Bind(2, trip.now).Bind(3, trip.workspace_id);
        q.Bind(4, trip.workflow_id);
      });
  if (set.ok()) {
    AuditEntry audit = trip.audit;
    audit.status_before = current->status;
    set = sql::InsertAudit(db, audit);
  }
  Result<int64_t> queued =
      set.ok() ? sql::InsertNotification(db, trip.notify) : Result<int64_t>(set);
  if (!queued.ok()) {
    return queued.status();
  }
  return true;
}

}  // namespace

Result<std::vector<std::pair<std::string, int64_t>>> SqlStore::CountWorkflowsByStatus() {
  return Read([&](Connection& db) {
    return QueryAll<std::pair<std::string, int64_t>>(
        db,
        "SELECT CASE WHEN safety IS NOT NULL THEN 'paused_safety' ELSE status END AS shown, "
        "count(*) FROM workflows GROUP BY shown",
        [](Statement&) {}, [](const Statement& q) { return std::pair(q.Text(0), q.Int(1)); });
  });
}

Result<std::vector<std::pair<std::string, int64_t>>> SqlStore::CountWorkflowHolds() {
  return Read([&](Connection& db) {
    const std::string reason = db.dialect().json_member("safety", "reason");
    return QueryAll<std::pair<std::string, int64_t>>(
        db,
        "SELECT " + reason + ", count(*) FROM workflows WHERE safety IS NOT NULL GROUP BY " +
            reason,
        [](Statement&) {}, [](const Statement& q) { return std::pair(q.Text(0), q.Int(1)); });
  });
}

Result<bool> SqlStore::TripWorkflowSafety(const WorkflowSafetyTrip& trip) {
  bool tripped = false;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<bool> wrote = TripIn(db, trip);
    tripped = wrote.ok() && *wrote;
    outbox_signal_ = outbox_signal_ || tripped;
    return wrote.status();
  });
  if (!s.ok()) {
    return s;
  }
  return tripped;
}

Result<bool> SqlStore::TripSpendCap(const WorkflowSafetyTrip& trip, int64_t price) {
  bool holds = false;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<BillingRecord> billing = sql::SelectBilling(db, trip.workspace_id, trip.now);
    if (!billing.ok()) {
      return billing.status();
    }
    holds = billing->state.Refuses(price);
    if (!holds) {
      return Status::Ok();  // raised meanwhile, or a new period
    }
    billing->state.capped = true;
    if (Status w = sql::WriteBilling(db, *billing); !w.ok()) {
      return w;
    }
    Result<bool> wrote = TripIn(db, trip);
    outbox_signal_ = outbox_signal_ || (wrote.ok() && *wrote);
    return wrote.status();
  });
  if (!s.ok()) {
    return s;
  }
  return holds;
}

Result<WorkflowRecord> SqlStore::ClearWorkflowSafety(const std::string& workspace_id,
                                                     const std::string& workflow_id,
                                                     const std::string& reason, int64_t now,
                                                     const AuditEntry& audit) {
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<WorkflowRecord> current = SelectWorkflow(db, workspace_id, workflow_id);
    if (!current.ok()) {
      return current.status();
    }
    if (!current->safety.is_object() || current->safety.value("reason", "") != reason) {
      const std::string held = current->safety.is_object()
                                   ? " for " + current->safety.value("reason", std::string())
                                   : std::string(" for safety");
      return Status(StatusCode::kFailedPrecondition,
                    "workflow " + workflow_id +
                        (current->safety.is_object() ? " is paused" + held + ", not " + reason
                                                     : " is not paused" + held),
                    "invalid_transition");
    }
    Status set = sql::Exec(
        db, "UPDATE workflows SET safety = NULL, updated_at = ? WHERE workspace_id = ? AND id = ?",
        [&](Statement& q) { q.Bind(1, now).Bind(2, workspace_id).Bind(3, workflow_id); });
    AuditEntry entry = audit;
    entry.status_after = current->status;  // the admin's status shows again
    return set.ok() ? sql::InsertAudit(db, entry) : set;
  });
  if (!s.ok()) {
    return s;
  }
  return GetWorkflow(workspace_id, workflow_id);
}

// --- audit ---

Result<std::vector<AuditEntry>> SqlStore::ListAudit(const std::string& workspace_id,
                                                    const std::string& target,
                                                    const std::string& cursor, int limit) {
  std::string sql = SelectFrom(sql::kAuditColumns, "audit") + "WHERE workspace_id = ?1";
  if (!target.empty()) sql += " AND target = ?2";
  if (!cursor.empty()) sql += " AND id < ?3";
  sql += " ORDER BY id DESC LIMIT ?4";
  return Read([&](Connection& db) {
    return QueryAll<AuditEntry>(
        db, sql,
        [&](Statement& q) {
          q.Bind(1, workspace_id);
          if (!target.empty()) q.Bind(2, target);
          if (!cursor.empty()) q.Bind(3, cursor);
          q.Bind(4, limit);
        },
        sql::ReadAudit);
  });
}

}  // namespace sw
