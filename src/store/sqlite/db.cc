#include "store/sqlite/db.h"

#include "store/sqlite/wal_batching_vfs.h"
#include "store/store.h"

namespace sw::sqlite {

namespace {

// An error of `db`'s last call, as the store's Status (store/sql/connection.h).
Status SqliteError(sqlite3* db, int rc, std::string_view message) {
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  if ((rc & 0xff) == SQLITE_FULL) {
    return Status(StatusCode::kResourceExhausted, "sqlite: " + std::string(message),
                  std::string(kDiskFull));
  }
  if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status(StatusCode::kAlreadyExists, "sqlite: " + std::string(message));
  }
  return Internal("sqlite: " + std::string(message));
}

std::string JsonMember(std::string_view column, std::string_view key) {
  return "json_extract(" + std::string(column) + ", '$." + std::string(key) + "')";
}

std::string JsonPath(const std::vector<std::string>& keys) {
  std::string out = "$";
  for (const std::string& key : keys) {
    out += ".\"" + key + "\"";
  }
  return out;
}

// json_type names integers and reals apart; a filter's 42 matches a stored 42.0.
std::string JsonTypeClass(const std::string& json_type) {
  return "(CASE " + json_type + " WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' ELSE " +
         json_type + " END)";
}

std::string JsonPathEquals(std::string_view column, std::string_view path, std::string_view value) {
  const std::string c(column), p(path), v(value);
  return "(" + JsonTypeClass("json_type(" + c + ", " + p + ")") + " = " +
         JsonTypeClass("json_type(" + v + ")") + " AND json_extract(" + c + ", " + p +
         ") IS json_extract(" + v + ", '$'))";
}

constexpr sql::Dialect kDialect{
    .begin = "BEGIN IMMEDIATE",  // one writer: no FOR UPDATE needed
    .begin_read = "BEGIN",       // WAL: one snapshot from the first read to the end
    .for_update = "",
    .for_update_skip_locked = "",
    .json_member = JsonMember,
    .json_path = JsonPath,
    .json_path_equals = JsonPathEquals,
    .position_function = "instr",
    .round_trips = false,
    .warm_writer = true,
};

}  // namespace

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

sql::Statement& SqliteStatement::BindInt(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

sql::Statement& SqliteStatement::BindText(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

sql::Statement& SqliteStatement::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  sqlite3* db = sqlite3_db_handle(stmt_);
  return SqliteError(db, rc, sqlite3_errmsg(db));
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string SqliteStatement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                 Mode mode) {
  sqlite3* db = nullptr;
  int flags =
      mode == Mode::kRead ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  const char* vfs = mode == Mode::kWriteFullSync ? WalBatchingVfs() : nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status(StatusCode::kUnavailable, "cannot open " + path + ": " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<SqliteConnection>(new SqliteConnection(db));
}

SqliteConnection::~SqliteConnection() {
  cache_.clear();
  sqlite3_close(db_);
}

const sql::Dialect& SqliteConnection::dialect() const { return kDialect; }

void SqliteConnection::SetWalHook(WalHook hook) {
  wal_hook_ = std::move(hook);
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3* db, const char*, int pages) {
        static_cast<SqliteConnection*>(self)->wal_hook_(db, pages);
        return SQLITE_OK;
      },
      this);
}

Status SqliteConnection::Exec(std::string_view sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return SqliteError(db_, rc, message);
  }
  return Status::Ok();
}

Result<sql::Statement*> SqliteConnection::Prepare(const std::string& sql) {
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
  auto owned = std::make_unique<SqliteStatement>(stmt);
  SqliteStatement* raw = owned.get();
  cache_.emplace(sql, std::move(owned));
  return raw;
}

}  // namespace sw::sqlite
