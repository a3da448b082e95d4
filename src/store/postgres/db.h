// The PostgreSQL backend of the SQL store's connection (store/sql/connection.h), over
// libpq. The store's SQL comes with SQLite's placeholders (`?`, `?N`); a statement
// numbers them as PostgreSQL's `$N` once, and is prepared on the server the first time
// it runs with a given set of parameter types (an integer is sent as int8, text and
// NULL as unknown, which the server infers from the statement). Values travel as text.
//
// A connection that breaks (the server restarted) is made again before its next
// statement, and one the server closed while it was idle is noticed before a statement
// is sent on it; what was prepared on it is prepared again. The statement that found it
// broken fails with kUnavailable (reason kDatabaseUnavailable). A connection lost
// inside a transaction is not made again until the transaction's owner ends it
// (COMMIT fails: in doubt; ROLLBACK, or a new BEGIN): the statements between would
// otherwise each commit alone on the new connection.
//
// Not thread-safe: one connection belongs to one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sql/connection.h"

namespace sw::postgres {

class PgConnection;

class PgStatement final : public sql::Statement {
 public:
  // `used`: which parameters `sql` uses (a caller may bind a number it skipped).
  PgStatement(PgConnection& conn, std::string sql, std::vector<bool> used);
  ~PgStatement() override;
  PgStatement(const PgStatement&) = delete;
  PgStatement& operator=(const PgStatement&) = delete;

  Statement& BindNull(int i) override;
  Result<bool> Step() override;
  void Reset() override;
  int64_t Int(int col) const override;
  std::string Text(int col) const override;
  bool IsNull(int col) const override;

 protected:
  Statement& BindInt(int i, int64_t v) override;
  Statement& BindText(int i, std::string_view v) override;

 private:
  struct Param {
    std::optional<std::string> value;
    unsigned int type = 0;  // an Oid: 0 (unknown) or int8
  };
  void Set(int i, Param p);
  // Runs the statement with its bindings; the rows wait in result_.
  Status Execute();

  PgConnection& conn_;
  const std::string sql_;  // with $N placeholders
  const std::vector<bool> used_;
  std::vector<Param> params_;
  // The server-side name of this statement per parameter-type signature, valid for
  // the connection's generation `prepared_generation_`.
  std::unordered_map<std::string, std::string> prepared_;
  uint64_t prepared_generation_ = 0;
  PGresult* result_ = nullptr;
  int row_ = -1;  // the current row of result_
};

class PgConnection final : public sql::Connection {
 public:
  // Connects to `url` (a libpq connection URI, postgresql://USER@HOST:PORT/DB).
  // `settings` adds session settings ("-c name=value …") to the usual ones.
  static Result<std::unique_ptr<PgConnection>> Open(const std::string& url,
                                                    const std::string& settings = "");
  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  const sql::Dialect& dialect() const override;
  Status Exec(std::string_view sql) override;
  Result<sql::Statement*> Prepare(const std::string& sql) override;
  int64_t Changes() const override { return changes_; }

 private:
  friend class PgStatement;
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  // The live connection for running `sql`, made again first when it broke (or the
  // server closed it while idle); kUnavailable when it cannot be, or when it broke
  // inside a transaction that `sql` does not end.
  Result<PGconn*> Live(std::string_view sql);
  // The Status of `result` (consumed when it is an error; the caller clears it
  // otherwise) of a statement sent in transaction state `before`.
  Status Check(PGresult* result, std::string_view what, PGTransactionStatusType before);
  std::string NextStatementName() { return "s" + std::to_string(++statements_); }

  PGconn* conn_;
  uint64_t generation_ = 1;  // bumped by each reset: prepared statements are gone
  // The connection broke inside a transaction its owner has not ended yet (COMMIT,
  // ROLLBACK) nor replaced (BEGIN): every other statement fails meanwhile.
  bool lost_transaction_ = false;
  uint64_t statements_ = 0;
  int64_t changes_ = 0;
  std::unordered_map<std::string, std::unique_ptr<PgStatement>> cache_;
};

// `sql` with SQLite's placeholders (`?`, `?N`) numbered as PostgreSQL's `$N`, outside
// quoted strings and identifiers; `used[n - 1]` says whether it uses `$n`.
std::string NumberPlaceholders(std::string_view sql, std::vector<bool>& used);

}  // namespace sw::postgres
