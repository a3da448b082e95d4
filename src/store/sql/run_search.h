// The selection of runs a RunFilter describes, as SQL: what ListRuns pages through,
// CountRuns counts and CreateOperation fixes as an operation's runs (one query
// builder, so a bulk operation matches exactly what the run list shows).
//
// Not thread-safe; a RunQuery is one caller's.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "store/sql/connection.h"
#include "store/store.h"

namespace sw::sql {

// The SQL of one query over runs and its parameters, numbered in the order they were
// added.
class RunQuery {
 public:
  // "?N" for a new parameter `value`.
  std::string Param(std::variant<int64_t, std::string> value) {
    params_.push_back(std::move(value));
    return "?" + std::to_string(params_.size());
  }
  void Where(const std::string& condition) { sql_ += " AND " + condition; }
  void Append(const std::string& text) { sql_ += text; }
  const std::string& sql() const { return sql_; }

  void Bind(Statement& q) const {
    for (size_t i = 0; i < params_.size(); ++i) {
      const int n = static_cast<int>(i + 1);
      std::visit([&](const auto& v) { q.Bind(n, v); }, params_[i]);
    }
  }

 private:
  std::string sql_;
  std::vector<std::variant<int64_t, std::string>> params_;
};

// Appends " FROM runs WHERE …": the runs of `workspace_id` that `f` matches (below
// its cursor; its limit aside), each value a bound parameter. The caller wrote the SELECT.
void AppendRunSelection(RunQuery& query, const Dialect& dialect, const std::string& workspace_id,
                        const RunFilter& f);

}  // namespace sw::sql
