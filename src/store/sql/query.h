// Query helpers over a sql::Connection: run one cached statement with its bindings,
// map its rows to records. Every statement goes through the connection's cache, so a
// statement is parsed once per connection.
//
// Not thread-safe, like the Connection they use.
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/sql/connection.h"

namespace sw::sql {

// `('a', 'b')`, for an SQL IN: each of `values` as `name(value)` quoted. For the
// store's own vocabularies only (statuses), never user input.
template <typename Values, typename Name>
std::string SqlList(const Values& values, Name&& name) {
  std::string out = "(";
  for (const auto& v : values) {
    out += (out.size() > 1 ? ", '" : "'") + std::string(name(v)) + "'";
  }
  return out + ")";
}

// Runs `sql` once with `bind(Statement&)`; for writes (no rows expected).
template <typename Binder>
Status Exec(Connection& db, const std::string& sql, Binder&& bind) {
  Result<Statement*> st = db.Prepare(sql);
  if (!st.ok()) {
    return st.status();
  }
  bind(**st);
  return (*st)->Run();
}

// Runs a query and maps every row with `read(const Statement&)`, which answers a T or
// a Result<T> (a corrupt row fails the whole query).
template <typename T, typename Binder, typename Reader>
Result<std::vector<T>> QueryAll(Connection& db, const std::string& sql, Binder&& bind,
                                Reader&& read) {
  Result<Statement*> prepared = db.Prepare(sql);
  if (!prepared.ok()) {
    return prepared.status();
  }
  Statement& st = **prepared;
  bind(st);
  std::vector<T> rows;
  Status failed;
  while (failed.ok()) {
    Result<bool> row = st.Step();
    if (!row.ok()) {
      failed = row.status();
    } else if (!*row) {
      break;
    } else if constexpr (std::is_same_v<std::decay_t<decltype(read(st))>, T>) {
      rows.push_back(read(st));
    } else {
      auto record = read(st);
      if (record.ok()) {
        rows.push_back(std::move(record).value());
      } else {
        failed = record.status();
      }
    }
  }
  st.Reset();  // ends the statement's read at once, also after a failure
  if (!failed.ok()) {
    return failed;
  }
  return rows;
}

// The first row, or kNotFound with `not_found`.
template <typename T, typename Binder, typename Reader>
Result<T> QueryOne(Connection& db, const std::string& sql, Binder&& bind, Reader&& read,
                   const std::string& not_found) {
  Result<std::vector<T>> rows =
      QueryAll<T>(db, sql, std::forward<Binder>(bind), std::forward<Reader>(read));
  if (!rows.ok()) {
    return rows.status();
  }
  if (rows->empty()) {
    return NotFound(not_found);
  }
  return std::move(rows->front());
}

// The row of `table` whose column `id` is `id`, selected with `columns` and read with
// `read`, or kNotFound "<what> <id> not found". `suffix` ends the query (a dialect's
// for_update).
template <typename T, typename Reader>
Result<T> SelectById(Connection& db, const char* columns, const char* table, const std::string& id,
                     Reader&& read, const char* what, const char* suffix = "") {
  return QueryOne<T>(
      db, std::string("SELECT ") + columns + " FROM " + table + " WHERE id = ?" + suffix,
      [&](Statement& q) { q.Bind(1, id); }, std::forward<Reader>(read),
      std::string(what) + " " + id + " not found");
}

}  // namespace sw::sql
