#include "store/sqlite/db.h"

#include "store/store.h"

namespace sw::sqlite {

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Statement& Statement::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindJson(int i, const nlohmann::json& v) {
  if (v.is_null()) {
    return BindNull(i);
  }
  return Bind(i, v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Statement& Statement::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Status SqliteError(int rc, std::string_view message) {
  if ((rc & 0xff) == SQLITE_FULL) {
    return Status(StatusCode::kResourceExhausted, "sqlite: " + std::string(message),
                  std::string(kDiskFull));
  }
  return Internal("sqlite: " + std::string(message));
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return SqliteError(rc, sqlite3_errmsg(sqlite3_db_handle(stmt_)));
}

Status Statement::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok()) {
      return row.status();
    }
    if (!*row) {
      return Status::Ok();
    }
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

nlohmann::json Statement::Json(int col) const {
  if (IsNull(col)) {
    return nullptr;
  }
  // Stored by BindJson, so it parses; a corrupt value reads as null rather than throw.
  return nlohmann::json::parse(Text(col), nullptr, /*allow_exceptions=*/false);
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status(StatusCode::kUnavailable, "cannot open " + path + ": " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  cache_.clear();
  sqlite3_close(db_);
}

Status Connection::Exec(std::string_view sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return SqliteError(rc, message);
  }
  return Status::Ok();
}

Status Connection::ExecCached(const std::string& sql) {
  Result<Statement*> st = Prepare(sql);
  if (!st.ok()) {
    return st.status();
  }
  Status s = (*st)->Run();
  (*st)->Reset();
  return s;
}

Result<Statement*> Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return Internal(std::string("sqlite prepare: ") + sqlite3_errmsg(db_) + " in: " + sql);
  }
  auto owned = std::make_unique<Statement>(stmt);
  Statement* raw = owned.get();
  cache_.emplace(sql, std::move(owned));
  return raw;
}

}  // namespace sw::sqlite
