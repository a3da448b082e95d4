// The SQLite backend of the SQL store's connection (store/sql/connection.h): a thin
// RAII layer over the SQLite C API.
//
// Not thread-safe: one connection belongs to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "store/sql/connection.h"

namespace sw::sqlite {

class SqliteStatement final : public sql::Statement {
 public:
  explicit SqliteStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~SqliteStatement() override;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  Statement& BindNull(int i) override;
  Result<bool> Step() override;
  void Reset() override;
  int64_t Int(int col) const override { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const override;
  bool IsNull(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 protected:
  Statement& BindInt(int i, int64_t v) override;
  Statement& BindText(int i, std::string_view v) override;

 private:
  sqlite3_stmt* stmt_;
};

class SqliteConnection final : public sql::Connection {
 public:
  enum class Mode {
    kRead,
    kWrite,
    // Writes, and commits only with synchronous=FULL: its WAL writes are gathered into
    // one per commit (wal_batching_vfs.h). The store's writer.
    kWriteFullSync,
  };
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, Mode mode);
  ~SqliteConnection() override;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  const sql::Dialect& dialect() const override;
  Status Exec(std::string_view sql) override;
  Result<sql::Statement*> Prepare(const std::string& sql) override;
  int64_t Changes() const override { return sqlite3_changes64(db_); }

  // Called after each commit of this connection with the WAL's size in pages, on the
  // committing thread; replaces SQLite's automatic checkpoints (wal_checkpointer.h).
  using WalHook = std::function<void(sqlite3* db, int wal_pages)>;
  void SetWalHook(WalHook hook);
  // For what the SQL layer does not wrap (a checkpoint).
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  WalHook wal_hook_;
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>> cache_;
};

}  // namespace sw::sqlite
