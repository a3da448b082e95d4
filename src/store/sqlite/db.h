// A thin RAII layer over the SQLite C API: a Connection with a cache of prepared
// statements, and a Statement to bind, step and read columns. Errors are Status.
//
// Not thread-safe: one Connection belongs to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"

namespace sw::sqlite {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bind by 1-based index. Strings are copied by SQLite (SQLITE_TRANSIENT).
  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Statement& Bind(int i, std::string_view v);
  Statement& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Statement& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  // JSON null binds SQL NULL; anything else its compact text.
  Statement& BindJson(int i, const nlohmann::json& v);
  Statement& BindNull(int i);

  // Steps once: true when a row is ready, false when done; errors become kInternal.
  Result<bool> Step();
  // Steps to the end (for writes).
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  nlohmann::json Json(int col) const;  // SQL NULL -> JSON null

 private:
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Exec(std::string_view sql);
  // Runs one statement through the statement cache (no re-parse): for the hot
  // BEGIN/SAVEPOINT/RELEASE/COMMIT of the writer.
  Status ExecCached(const std::string& sql);
  // A cached prepared statement, reset and with bindings cleared.
  Result<Statement*> Prepare(const std::string& sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace sw::sqlite
