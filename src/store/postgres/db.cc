#include "store/postgres/db.h"

#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "store/store.h"

namespace sw::postgres {

namespace {

constexpr unsigned int kInt8Oid = 20;
constexpr unsigned int kTextOid = 25;

std::string JsonMember(std::string_view column, std::string_view key) {
  return "(" + std::string(column) + "::json ->> '" + std::string(key) + "')";
}

// A text[] literal: {"a","b"}, each element quoted with its `"` and `\` escaped.
std::string JsonPath(const std::vector<std::string>& keys) {
  std::string out = "{";
  for (const std::string& key : keys) {
    out += out.size() > 1 ? ",\"" : "\"";
    for (char c : key) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// jsonb equality compares type and value (numbers numerically).
std::string JsonPathEquals(std::string_view column, std::string_view path, std::string_view value) {
  return "((" + std::string(column) + "::jsonb #> " + std::string(path) +
         "::text[]) = " + std::string(value) + "::jsonb)";
}

constexpr sql::Dialect kDialect{
    .begin = "BEGIN",
    // READ COMMITTED, the default, takes a new snapshot per statement.
    .begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    .for_update = " FOR UPDATE",
    .for_update_skip_locked = " FOR UPDATE SKIP LOCKED",
    .json_member = JsonMember,
    .json_path = JsonPath,
    .json_path_equals = JsonPathEquals,
    .position_function = "strpos",
    .round_trips = true,
    .warm_writer = false,
};

// Whether `sql` ends the transaction a lost connection took (or starts a new one).
bool EndsTransaction(std::string_view sql) {
  return sql == "COMMIT" || sql == "ROLLBACK" || sql.starts_with("BEGIN");
}

Status Unavailable(std::string_view message) {
  return Status(StatusCode::kUnavailable, "postgresql: " + std::string(message),
                std::string(kDatabaseUnavailable));
}

// The Status of a failed statement, by its SQLSTATE.
Status StatementError(const PGresult* result, PGconn* conn) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  const std::string_view code = state != nullptr ? state : "";
  if (PQstatus(conn) == CONNECTION_BAD || code.starts_with("08") || code == "57P01" ||
      code == "57P02" || code == "57P03") {
    return Unavailable(message);  // connection lost, server shutting down or starting
  }
  if (code == "40P01" || code == "40001") {
    return Status(StatusCode::kAborted, "postgresql: " + message, std::string(kWriteConflict));
  }
  if (code == "23505") {
    return Status(StatusCode::kAlreadyExists, "postgresql: " + message);
  }
  if (code == "53100") {
    return Status(StatusCode::kResourceExhausted, "postgresql: " + message, std::string(kDiskFull));
  }
  return Internal("postgresql: " + message);
}

}  // namespace

std::string NumberPlaceholders(std::string_view sql, std::vector<bool>& used) {
  std::string out;
  out.reserve(sql.size() + 16);
  used.clear();
  char quote = 0;  // inside '…' or "…"
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      quote = c == quote ? 0 : quote;  // a doubled quote closes and reopens: same result
      out += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      continue;
    }
    if (c != '?') {
      out += c;
      continue;
    }
    size_t end = i + 1;
    while (end < sql.size() && sql[end] >= '0' && sql[end] <= '9') {
      ++end;
    }
    // SQLite's rule: `?N` is parameter N; a bare `?` is one more than the largest yet.
    const int n = end > i + 1 ? std::atoi(std::string(sql.substr(i + 1, end - i - 1)).c_str())
                              : static_cast<int>(used.size()) + 1;
    if (n > static_cast<int>(used.size())) {
      used.resize(static_cast<size_t>(n));
    }
    used[static_cast<size_t>(n - 1)] = true;
    out += "$" + std::to_string(n);
    i = end - 1;
  }
  return out;
}

PgStatement::PgStatement(PgConnection& conn, std::string sql, std::vector<bool> used)
    : conn_(conn), sql_(std::move(sql)), used_(std::move(used)), params_(used_.size()) {}

PgStatement::~PgStatement() { PQclear(result_); }

void PgStatement::Set(int i, Param p) {
  if (i >= 1 && static_cast<size_t>(i) <= params_.size()) {  // else a number it lacks
    params_[static_cast<size_t>(i - 1)] = std::move(p);
  }
}

sql::Statement& PgStatement::BindInt(int i, int64_t v) {
  Set(i, Param{std::to_string(v), kInt8Oid});
  return *this;
}

sql::Statement& PgStatement::BindText(int i, std::string_view v) {
  Set(i, Param{std::string(v), 0});
  return *this;
}

sql::Statement& PgStatement::BindNull(int i) {
  Set(i, Param{});
  return *this;
}

Status PgStatement::Execute() {
  Result<PGconn*> live = conn_.Live(sql_);
  if (!live.ok()) {
    return live.status();
  }
  std::string signature;
  std::vector<unsigned int> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Param& p = params_[i];
    signature += p.type == kInt8Oid ? 'i' : 't';
    // A number the SQL skips (bound or not) needs a type the server cannot infer.
    types.push_back(used_[i] ? p.type : kTextOid);
    values.push_back(p.value ? p.value->c_str() : nullptr);
    lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
  }
  const PGTransactionStatusType before = PQtransactionStatus(*live);
  if (prepared_generation_ != conn_.generation_) {
    prepared_.clear();
    prepared_generation_ = conn_.generation_;
  }
  auto it = prepared_.find(signature);
  if (it == prepared_.end()) {
    std::string name = conn_.NextStatementName();
    PGresult* prepared =
        PQprepare(*live, name.c_str(), sql_.c_str(), static_cast<int>(types.size()), types.data());
    if (Status s = conn_.Check(prepared, sql_, before); !s.ok()) {
      return s;
    }
    PQclear(prepared);
    it = prepared_.emplace(signature, std::move(name)).first;
  }
  result_ = PQexecPrepared(*live, it->second.c_str(), static_cast<int>(values.size()),
                           values.data(), lengths.data(), nullptr, 0);
  if (Status s = conn_.Check(result_, sql_, before); !s.ok()) {
    result_ = nullptr;
    return s;
  }
  const char* tuples = PQcmdTuples(result_);
  conn_.changes_ = tuples[0] != '\0' ? std::strtoll(tuples, nullptr, 10) : 0;
  return Status::Ok();
}

Result<bool> PgStatement::Step() {
  if (result_ == nullptr) {
    if (Status s = Execute(); !s.ok()) {
      return s;
    }
  }
  ++row_;
  return row_ < PQntuples(result_);
}

void PgStatement::Reset() {
  PQclear(result_);
  result_ = nullptr;
  row_ = -1;
  for (Param& p : params_) {
    p = Param{};
  }
}

int64_t PgStatement::Int(int col) const {
  const char* v = PQgetvalue(result_, row_, col);
  if (v[0] == 't' || v[0] == 'f') {
    return v[0] == 't' ? 1 : 0;  // a boolean expression
  }
  return std::strtoll(v, nullptr, 10);
}

std::string PgStatement::Text(int col) const {
  return std::string(PQgetvalue(result_, row_, col),
                     static_cast<size_t>(PQgetlength(result_, row_, col)));
}

bool PgStatement::IsNull(int col) const { return PQgetisnull(result_, row_, col) != 0; }

Result<std::unique_ptr<PgConnection>> PgConnection::Open(const std::string& url,
                                                         const std::string& settings) {
  // Session settings go with the connection string, so that a reconnect (PQreset) keeps
  // them: quiet NOTICEs (an index that exists), times in UTC for whoever reads them, and
  // a transaction left open by a process that froze (SIGSTOP, a VM paused) ends after
  // 10 s, so its row locks do not stop the other instances for longer.
  const std::string options =
      "-c client_min_messages=warning -c TimeZone=UTC "
      "-c idle_in_transaction_session_timeout=10000 " +
      settings;
  const char* keywords[] = {"dbname", "options", nullptr};
  const char* values[] = {url.c_str(), options.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    PQfinish(conn);
    while (!message.empty() && message.back() == '\n') {
      message.pop_back();
    }
    return Unavailable("cannot connect: " + message);
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() {
  cache_.clear();
  PQfinish(conn_);
}

const sql::Dialect& PgConnection::dialect() const { return kDialect; }

Result<PGconn*> PgConnection::Live(std::string_view sql) {
  if (lost_transaction_) {
    if (!EndsTransaction(sql)) {
      return Unavailable("the connection was lost inside a transaction");
    }
    lost_transaction_ = false;
    // A lost COMMIT is in doubt, so it fails; a ROLLBACK or a new BEGIN goes on, on a
    // connection made again.
    if (sql == "COMMIT") {
      return Unavailable("the connection was lost before the transaction committed");
    }
  }
  if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE) {
    // The server may have closed an idle connection (it restarted): see it now, without
    // sending anything, rather than fail this statement for it.
    pollfd fd{PQsocket(conn_), POLLIN, 0};
    if (::poll(&fd, 1, 0) > 0) {
      PQconsumeInput(conn_);
    }
  }
  if (PQstatus(conn_) == CONNECTION_OK) {
    return conn_;
  }
  PQreset(conn_);
  ++generation_;
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable(std::string("cannot reconnect: ") + PQerrorMessage(conn_));
  }
  return conn_;
}

Status PgConnection::Check(PGresult* result, std::string_view what,
                           PGTransactionStatusType before) {
  const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    return Status::Ok();
  }
  // A connection lost inside a transaction took the transaction with it: until its
  // owner ends it, no statement may run on a new connection, where it would commit
  // alone, outside the transaction it belongs to.
  if (PQstatus(conn_) == CONNECTION_BAD && before != PQTRANS_IDLE) {
    lost_transaction_ = true;
  }
  Status s = StatementError(result, conn_);
  PQclear(result);
  if (s.code() == StatusCode::kInternal) {
    return Internal(s.message() + " in: " + std::string(what));
  }
  return s;
}

Status PgConnection::Exec(std::string_view sql) {
  Result<PGconn*> live = Live(sql);
  if (!live.ok()) {
    return live.status();
  }
  const PGTransactionStatusType before = PQtransactionStatus(*live);
  PGresult* result = PQexec(*live, std::string(sql).c_str());
  if (Status s = Check(result, sql, before); !s.ok()) {
    return s;
  }
  PQclear(result);
  return Status::Ok();
}

Result<sql::Statement*> PgConnection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  std::vector<bool> used;
  std::string numbered = NumberPlaceholders(sql, used);
  auto owned = std::make_unique<PgStatement>(*this, std::move(numbered), std::move(used));
  PgStatement* raw = owned.get();
  cache_.emplace(sql, std::move(owned));
  return raw;
}

}  // namespace sw::postgres
