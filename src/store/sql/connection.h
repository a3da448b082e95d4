// The database seam of the SQL store: a Connection with a cache of prepared statements
// and a Statement to bind, step and read columns, implemented by each backend
// (store/sql/connection.h, store/postgres/db.h). The store's files write one SQL, the
// common subset of SQLite and PostgreSQL: `?` or `?N` placeholders, upserts with
// ON CONFLICT, RETURNING, row-value comparisons. The little that differs is the
// connection's Dialect.
//
// Errors are Status: a unique or primary-key violation is kAlreadyExists, a full disk
// kResourceExhausted with reason kDiskFull, anything else kInternal.
//
// Not thread-safe: one Connection belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sw::sql {

// What the store's SQL writes differently per database.
struct Dialect {
  // Opens the write transaction of a batch.
  const char* begin;
  // Opens a read of several statements that must see one snapshot (a run and its steps).
  const char* begin_read;
  // Appended to a SELECT inside a write that decides from the rows it reads, so another
  // writer cannot change them until the commit (several instances on one database).
  const char* for_update;
  // The same for a queue's head: rows another writer holds are passed over, so two
  // instances claiming from one queue take different rows.
  const char* for_update_skip_locked;
  // The text of member `key` of the JSON object stored (as text) in `column`.
  std::string (*json_member)(std::string_view column, std::string_view key);
  // The object keys `keys` (none holds a `"`) as the text that json_path_equals binds.
  std::string (*json_path)(const std::vector<std::string>& keys);
  // A condition: the JSON (as text) in `column` holds, at the path bound to
  // `path_param` (json_path's text), the scalar bound as JSON text to `value_param`,
  // of the same JSON type (numbers compare by value: 42 matches 42.0, not "42").
  std::string (*json_path_equals)(std::string_view column, std::string_view path_param,
                                  std::string_view value_param);
  // The name of the function that answers where a string occurs in another (1-based,
  // 0 when it does not): f(haystack, needle).
  const char* position_function;
  // Whether each statement is a round trip to a server (PostgreSQL), not a call into a
  // library (SQLite): then statements that only guard against a rare case cost.
  bool round_trips;
  // Whether a commit makes every other connection read the database afresh (SQLite
  // drops a reader's page cache whenever the database changed): then a short read is
  // cheaper on the writer's own connection, whose cache stays warm, while it is idle.
  bool warm_writer;
};

class Statement {
 public:
  virtual ~Statement() = default;

  // Bind by 1-based index; the statement keeps its own copy of a string.
  Statement& Bind(int i, int64_t v) { return BindInt(i, v); }
  Statement& Bind(int i, int v) { return BindInt(i, v); }
  Statement& Bind(int i, std::string_view v) { return BindText(i, v); }
  Statement& Bind(int i, const char* v) { return BindText(i, v); }
  Statement& Bind(int i, const std::string& v) { return BindText(i, v); }
  // JSON null binds SQL NULL; anything else its compact text.
  Statement& BindJson(int i, const nlohmann::json& v);
  virtual Statement& BindNull(int i) = 0;

  // Steps once: true when a row is ready, false when done.
  virtual Result<bool> Step() = 0;
  // Steps to the end (for writes).
  Status Run();
  // Ends the statement's current execution and clears its bindings.
  virtual void Reset() = 0;

  virtual int64_t Int(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual bool IsNull(int col) const = 0;
  nlohmann::json Json(int col) const;  // SQL NULL -> JSON null

 protected:
  virtual Statement& BindInt(int i, int64_t v) = 0;
  virtual Statement& BindText(int i, std::string_view v) = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;

  virtual const Dialect& dialect() const = 0;
  // Runs `sql` (one or more statements, no parameters) without caching it.
  virtual Status Exec(std::string_view sql) = 0;
  // Runs one statement through the statement cache: for the hot BEGIN, SAVEPOINT,
  // RELEASE and COMMIT of the writer.
  Status ExecCached(const std::string& sql);
  // A cached prepared statement, reset and with bindings cleared.
  virtual Result<Statement*> Prepare(const std::string& sql) = 0;
  // The rows the last write statement changed.
  virtual int64_t Changes() const = 0;
};

// A named savepoint of the writer's transaction, around one write that may fail alone.
// Its statements go through the statement cache.
class Savepoint {
 public:
  explicit Savepoint(std::string_view name);

  // Runs `write` in the savepoint and puts its status in `written`: a failed write's
  // changes are undone and the transaction goes on. Answers the savepoint's own failure
  // (it could not be opened, rolled back to or released): the database rolled the whole
  // transaction back (SQLite does after an I/O error, a full disk or running out of
  // memory in a statement), so a later write would commit alone, outside it. The
  // transaction is then in doubt, and the caller fails it as a whole: for the write's
  // own reason when that passes (IsTransientWriteFailure: a full disk, a lost database),
  // so that the store recovers once it is back.
  Status Run(Connection& db, const std::function<Status()>& write, Status& written) const;

 private:
  const std::string open_, release_, rollback_to_;
};

// `read` (statements on `db`) in one read transaction, so that they see one snapshot
// (a run and its steps, a workflow and its current definition).
template <typename Read>
auto InSnapshot(Connection& db, Read&& read) -> decltype(read()) {
  static const std::string kCommit = "COMMIT";
  db.ExecCached(db.dialect().begin_read);
  auto result = read();
  db.ExecCached(kCommit);
  return result;
}

}  // namespace sw::sql
