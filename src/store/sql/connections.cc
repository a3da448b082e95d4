// SqlStore's connections and OAuth flow states. See sql_store.h. Every secret is
// sealed by the store's SecretBox before it is bound to a statement and opened after
// it is read, so no secret reaches the database file in the clear.
#include <nlohmann/json.hpp>

#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/sql_store.h"

namespace sw {

using nlohmann::json;
using sql::Connection;
using sql::Statement;

namespace {

constexpr char kConnectionColumns[] =
    "id, workspace_id, name, app, status, error_message, error_at, token_url, client_id, "
    "authorize_url, scopes, client_secret, refresh_token, access_token, expires_at, version, "
    "created_at, updated_at";
constexpr char kOAuthStateColumns[] =
    "state_hash, connection_id, workspace_id, code_verifier, redirect_uri, expires_at, "
    "created_at";

std::string SecretContext(const std::string& id, std::string_view field) {
  return "connection/" + id + "/" + std::string(field);
}

Result<ConnectionRecord> ReadConnection(const Statement& s, const SecretBox& box) {
  ConnectionRecord c;
  c.id = s.Text(0);
  c.workspace_id = s.Text(1);
  c.name = s.Text(2);
  c.app = s.Text(3);
  const std::string status = s.Text(4);
  std::optional<ConnectionStatus> parsed = ParseConnectionStatus(status);
  if (!parsed) {
    return DataCorruption("connections", c.id, "status", status);
  }
  c.status = *parsed;
  c.error_message = s.Text(5);
  c.error_at = s.Int(6);
  c.oauth2.token_url = s.Text(7);
  c.oauth2.client_id = s.Text(8);
  c.oauth2.authorize_url = s.Text(9);
  json scopes = s.Json(10);
  if (!scopes.is_array()) {
    return DataCorruption("connections", c.id, "scopes", s.Text(10));
  }
  for (const json& scope : scopes) {
    c.oauth2.scopes.push_back(scope.is_string() ? scope.get<std::string>() : scope.dump());
  }
  struct Secret {
    int column;
    const char* field;
    std::string* into;
  };
  for (const Secret& secret : {Secret{11, "client_secret", &c.oauth2.client_secret},
                               Secret{12, "refresh_token", &c.oauth2.refresh_token},
                               Secret{13, "access_token", &c.oauth2.access_token}}) {
    Result<std::string> opened = box.Open(s.Text(secret.column), SecretContext(c.id, secret.field));
    if (!opened.ok()) {
      return Status(opened.status().code(),
                    "connection " + c.id + ", " + secret.field + ": " + opened.status().message(),
                    opened.status().reason());
    }
    *secret.into = std::move(opened).value();
  }
  c.oauth2.expires_at = s.Int(14);
  c.version = s.Int(15);
  c.created_at = s.Int(16);
  c.updated_at = s.Int(17);
  return c;
}

// Binds every column of `c` (its secrets sealed) in kConnectionColumns order.
void BindConnection(Statement& q, const ConnectionRecord& c, const SecretBox& box) {
  q.Bind(1, c.id).Bind(2, c.workspace_id).Bind(3, c.name).Bind(4, c.app);
  q.Bind(5, ToString(c.status)).Bind(6, c.error_message).Bind(7, c.error_at);
  q.Bind(8, c.oauth2.token_url).Bind(9, c.oauth2.client_id).Bind(10, c.oauth2.authorize_url);
  q.BindJson(11, json(c.oauth2.scopes));
  q.Bind(12, box.Seal(c.oauth2.client_secret, SecretContext(c.id, "client_secret")));
  q.Bind(13, box.Seal(c.oauth2.refresh_token, SecretContext(c.id, "refresh_token")));
  q.Bind(14, box.Seal(c.oauth2.access_token, SecretContext(c.id, "access_token")));
  q.Bind(15, c.oauth2.expires_at).Bind(16, c.version).Bind(17, c.created_at);
  q.Bind(18, c.updated_at);
}

Result<ConnectionRecord> SelectConnection(Connection& db, const SecretBox& box,
                                          const std::string& where, const std::string& a,
                                          const std::string& b, const std::string& not_found) {
  return sql::QueryOne<ConnectionRecord>(
      db, std::string("SELECT ") + kConnectionColumns + " FROM connections WHERE " + where,
      [&](Statement& q) {
        q.Bind(1, a);
        if (!b.empty()) q.Bind(2, b);
      },
      [&](const Statement& s) { return ReadConnection(s, box); }, not_found);
}

Status NameTaken(const ConnectionRecord& c) {
  return Status(StatusCode::kAlreadyExists, "a connection named '" + c.name + "' already exists",
                ErrorDetail{.reason = "invalid_request", .field = "name"});
}

}  // namespace

Result<ConnectionRecord> SqlStore::CreateConnection(const ConnectionRecord& c,
                                                    const AuditEntry& audit,
                                                    const std::optional<IdempotencyKey>& key) {
  ConnectionRecord created = c;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    if (key) {
      Result<std::optional<std::string>> existing = sql::FindIdempotent(db, c.workspace_id, *key);
      if (!existing.ok()) {
        return existing.status();
      }
      if (*existing) {
        Result<ConnectionRecord> first = SelectConnection(db, *secrets_, "id = ?1", **existing, "",
                                                          "the key's connection was deleted");
        if (!first.ok()) {
          return first.status();
        }
        created = std::move(first).value();
        return Status::Ok();
      }
      if (Status kept = sql::KeepIdempotent(db, c.workspace_id, *key, c.id, c.created_at);
          !kept.ok()) {
        return kept;
      }
    }
    Status inserted = sql::Exec(db,
                                std::string("INSERT INTO connections(") + kConnectionColumns +
                                    ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                [&](Statement& q) { BindConnection(q, c, *secrets_); });
    if (!inserted.ok() && inserted.code() == StatusCode::kAlreadyExists) {
      return NameTaken(c);
    }
    return inserted.ok() ? sql::InsertAudit(db, audit) : inserted;
  });
  if (!s.ok()) {
    return s;
  }
  return created;
}

Result<ConnectionRecord> SqlStore::GetConnection(const std::string& id) {
  return Read([&](Connection& db) {
    return SelectConnection(db, *secrets_, "id = ?1", id, "", "connection " + id + " not found");
  });
}

Result<ConnectionRecord> SqlStore::FindConnectionByName(const std::string& workspace_id,
                                                        const std::string& name) {
  return Read([&](Connection& db) {
    return SelectConnection(db, *secrets_, "workspace_id = ?1 AND name = ?2", workspace_id, name,
                            "connection '" + name + "' not found");
  });
}

Result<ConnectionPage> SqlStore::ListConnections(const std::string& workspace_id,
                                                 const ConnectionFilter& f) {
  std::string sql =
      std::string("SELECT ") + kConnectionColumns + " FROM connections WHERE workspace_id = ?1";
  if (f.status) sql += " AND status = ?2";
  if (!f.cursor.empty()) sql += " AND id < ?3";
  sql += " ORDER BY id DESC LIMIT ?4";
  Result<std::vector<ConnectionRecord>> rows = Read([&](Connection& db) {
    return sql::QueryAll<ConnectionRecord>(
        db, sql,
        [&](Statement& q) {
          q.Bind(1, workspace_id);
          if (f.status) q.Bind(2, ToString(*f.status));
          if (!f.cursor.empty()) q.Bind(3, f.cursor);
          q.Bind(4, f.limit + 1);
        },
        [&](const Statement& s) { return ReadConnection(s, *secrets_); });
  });
  if (!rows.ok()) {
    return rows.status();
  }
  ConnectionPage page;
  page.items = std::move(rows).value();
  if (static_cast<int>(page.items.size()) > f.limit) {
    page.items.resize(f.limit);
    page.next_cursor = page.items.back().id;
  }
  return page;
}

Result<ConnectionRecord> SqlStore::UpdateConnection(const ConnectionWrite& w) {
  ConnectionRecord written = w.connection;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<ConnectionRecord> stored =
        SelectConnection(db, *secrets_, "id = ?1", w.connection.id, "",
                         "connection " + w.connection.id + " not found");
    if (!stored.ok()) {
      return stored.status();
    }
    if (stored->version != w.expected_version) {
      return Status(StatusCode::kAborted, "the connection changed meanwhile", "state_changed");
    }
    written.workspace_id = stored->workspace_id;
    written.created_at = stored->created_at;
    written.version = stored->version + 1;
    Status updated = sql::Exec(
        db,
        "UPDATE connections SET name = ?3, app = ?4, status = ?5, error_message = ?6, "
        "error_at = ?7, token_url = ?8, client_id = ?9, authorize_url = ?10, scopes = ?11, "
        "client_secret = ?12, refresh_token = ?13, access_token = ?14, expires_at = ?15, "
        "version = ?16, updated_at = ?18 WHERE id = ?1 AND workspace_id = ?2",
        [&](Statement& q) { BindConnection(q, written, *secrets_); });
    if (!updated.ok() && updated.code() == StatusCode::kAlreadyExists) {
      return NameTaken(written);
    }
    if (!updated.ok()) {
      return updated;
    }
    if (w.audit) {
      if (Status a = sql::InsertAudit(db, *w.audit); !a.ok()) {
        return a;
      }
    }
    for (const NotificationRecord& n : w.notify) {
      Result<int64_t> queued = sql::InsertNotification(db, n);
      if (!queued.ok()) {
        return queued.status();
      }
      outbox_signal_ = outbox_signal_ || *queued > 0;
    }
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return written;
}

Status SqlStore::DeleteConnection(const std::string& workspace_id, const std::string& id,
                                  const AuditEntry& audit) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status deleted = sql::Exec(db, "DELETE FROM connections WHERE id = ?1 AND workspace_id = ?2",
                               [&](Statement& q) { q.Bind(1, id).Bind(2, workspace_id); });
    if (!deleted.ok()) {
      return deleted;
    }
    if (db.Changes() == 0) {
      return NotFound("connection " + id + " not found");
    }
    Status states = sql::Exec(db, "DELETE FROM oauth_states WHERE connection_id = ?1",
                              [&](Statement& q) { q.Bind(1, id); });
    return states.ok() ? sql::InsertAudit(db, audit) : states;
  });
}

Status SqlStore::ResealSecrets() {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<std::vector<ConnectionRecord>> all = sql::QueryAll<ConnectionRecord>(
        db, std::string("SELECT ") + kConnectionColumns + " FROM connections", [](Statement&) {},
        [&](const Statement& s) { return ReadConnection(s, *secrets_); });
    if (!all.ok()) {
      return all.status();
    }
    for (const ConnectionRecord& c : *all) {
      Status s = sql::Exec(
          db,
          "UPDATE connections SET client_secret = ?12, refresh_token = ?13, access_token = ?14 "
          "WHERE id = ?1",
          [&](Statement& q) { BindConnection(q, c, *secrets_); });
      if (!s.ok()) {
        return s;
      }
    }
    return sql::Exec(db, "DELETE FROM oauth_states", [](Statement&) {});
  });
}

Status SqlStore::CreateOAuthState(const OAuthStateRecord& st) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    return sql::Exec(
        db,
        std::string("INSERT INTO oauth_states(") + kOAuthStateColumns + ") VALUES(?,?,?,?,?,?,?)",
        [&](Statement& q) {
          q.Bind(1, st.state_hash).Bind(2, st.connection_id).Bind(3, st.workspace_id);
          q.Bind(4, secrets_->Seal(st.code_verifier, "oauth_state/" + st.state_hash));
          q.Bind(5, st.redirect_uri).Bind(6, st.expires_at).Bind(7, st.created_at);
        });
  });
}

Result<OAuthStateRecord> SqlStore::TakeOAuthState(const std::string& state_hash, int64_t now) {
  OAuthStateRecord taken;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<OAuthStateRecord> found = sql::QueryOne<OAuthStateRecord>(
        db,
        std::string("SELECT ") + kOAuthStateColumns + " FROM oauth_states WHERE state_hash = ?1",
        [&](Statement& q) { q.Bind(1, state_hash); },
        [&](const Statement& r) -> Result<OAuthStateRecord> {
          OAuthStateRecord st;
          st.state_hash = r.Text(0);
          st.connection_id = r.Text(1);
          st.workspace_id = r.Text(2);
          Result<std::string> verifier = secrets_->Open(r.Text(3), "oauth_state/" + st.state_hash);
          if (!verifier.ok()) {
            return verifier.status();
          }
          st.code_verifier = std::move(verifier).value();
          st.redirect_uri = r.Text(4);
          st.expires_at = r.Int(5);
          st.created_at = r.Int(6);
          return st;
        },
        "this authorization is unknown or was used already");
    if (!found.ok()) {
      return found.status();
    }
    // One use, and expired ones go too.
    Status deleted =
        sql::Exec(db, "DELETE FROM oauth_states WHERE state_hash = ?1 OR expires_at < ?2",
                  [&](Statement& q) { q.Bind(1, state_hash).Bind(2, now); });
    if (!deleted.ok()) {
      return deleted;
    }
    if (found->expires_at < now) {
      return NotFound("this authorization expired; start it again");
    }
    taken = std::move(found).value();
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return taken;
}

Result<std::vector<std::string>> SqlStore::WakeReauthWaits(const std::string& connection_id,
                                                           int64_t now) {
  static const std::string kWake =
      "UPDATE runs SET status = 'running', wait = NULL, wait_kind = '', version = version + 1, "
      "updated_at = ?2, owner = ?3 WHERE wait_kind = 'reauth' AND status = 'waiting'";
  std::vector<std::string> woken;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>& changed) -> Status {
    Result<std::vector<std::string>> ids = sql::QueryAll<std::string>(
        db,
        connection_id.empty()
            ? kWake + " AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.id = " +
                  db.dialect().json_member("runs.wait", "connection_id") +
                  " AND c.status = 'error') RETURNING id"
            : kWake + " AND " + db.dialect().json_member("wait", "connection_id") +
                  " = ?1 RETURNING id",
        [&](Statement& q) {
          if (!connection_id.empty()) q.Bind(1, connection_id);
          q.Bind(2, now).Bind(3, self_);  // woken here, driven here
        },
        [](const Statement& r) { return r.Text(0); });
    if (!ids.ok()) {
      return ids.status();
    }
    woken = std::move(ids).value();
    changed.insert(changed.end(), woken.begin(), woken.end());
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return woken;
}

}  // namespace sw
