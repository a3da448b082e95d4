#include "store/sql/run_fields.h"

#include <cmath>

#include "store/sql/query.h"

namespace sw::sql {

using nlohmann::json;

namespace {

bool Addressable(const std::string& key) {
  return !key.empty() && key.find_first_of(".\"") == std::string::npos;
}

// Adds the members of the object `doc` at `path`; false when over the limits.
bool Collect(const json& doc, const std::string& path, size_t depth, std::vector<RunField>& out) {
  for (const auto& [key, value] : doc.items()) {
    if (!Addressable(key) || value.is_array()) {
      continue;
    }
    if (depth + 1 > kMaxIndexedDepth) {
      return false;
    }
    const std::string field = path + "." + key;
    if (value.is_object()) {
      if (!Collect(value, field, depth + 1, out)) {
        return false;
      }
      continue;
    }
    std::optional<std::string> v = IndexedValue(value);
    if (!v || out.size() == kMaxIndexedFields) {
      return false;
    }
    out.push_back({field, std::move(*v)});
  }
  return true;
}

}  // namespace

std::optional<std::string> IndexedValue(const json& scalar) {
  switch (scalar.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return scalar.get<bool>() ? "b:true" : "b:false";
    case json::value_t::string: {
      const std::string& s = scalar.get_ref<const std::string&>();
      if (s.size() > kMaxIndexedValueBytes) {
        return std::nullopt;
      }
      return "s:" + s;
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "n:" + scalar.dump();
    case json::value_t::number_float: {
      // An integral double is written as the integer it equals: 42.0 finds 42.
      const double d = scalar.get<double>();
      constexpr double kInt64Bound = 9223372036854775808.0;  // 2^63
      if (std::isfinite(d) && std::trunc(d) == d && d > -kInt64Bound && d < kInt64Bound) {
        return "n:" + std::to_string(static_cast<int64_t>(d));
      }
      return "n:" + scalar.dump();
    }
    default:
      return std::nullopt;
  }
}

std::optional<std::vector<RunField>> IndexedFields(std::string_view prefix, const json& doc) {
  std::vector<RunField> out;
  if (doc.is_object() && !Collect(doc, std::string(prefix), 0, out)) {
    return std::nullopt;
  }
  return out;
}

namespace {

// Binds the fields from parameter `first` on: field, value, field, value, …
void BindFields(Statement& q, int first, const std::vector<RunField>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    q.Bind(first + static_cast<int>(2 * i), fields[i].field);
    q.Bind(first + static_cast<int>(2 * i) + 1, fields[i].value);
  }
}

// "?5, ?6": the parameters of the i-th field when they start at `first`.
std::string FieldParams(int first, size_t i) {
  const int n = first + static_cast<int>(2 * i);
  return "?" + std::to_string(n) + ", ?" + std::to_string(n + 1);
}

}  // namespace

Status InsertRunFields(Connection& db, const std::string& workspace_id, const std::string& run_id,
                       const std::vector<RunField>& fields) {
  if (fields.empty()) {
    return Status::Ok();
  }
  std::string sql = "INSERT INTO run_fields(workspace_id, field, value, run_id) VALUES";
  for (size_t i = 0; i < fields.size(); ++i) {
    sql += (i == 0 ? "(?1, " : ", (?1, ") + FieldParams(3, i) + ", ?2)";
  }
  return Exec(db, sql, [&](Statement& q) {
    q.Bind(1, workspace_id).Bind(2, run_id);
    BindFields(q, 3, fields);
  });
}

Status ReplaceOutputFields(Connection& db, const std::string& run_id,
                           const std::vector<RunField>& fields) {
  Status dropped = Exec(db, "DELETE FROM run_fields WHERE run_id = ?1 AND field LIKE 'output.%'",
                        [&](Statement& q) { q.Bind(1, run_id); });
  if (!dropped.ok() || fields.empty()) {
    return dropped;
  }
  // The workspace comes from the run's row, in the same statement.
  std::string sql =
      "INSERT INTO run_fields(workspace_id, field, value, run_id) SELECT r.workspace_id, "
      "f.field, f.value, r.id FROM runs r, (SELECT ?2 AS field, ?3 AS value";
  for (size_t i = 1; i < fields.size(); ++i) {
    sql += " UNION ALL SELECT " + FieldParams(2, i);
  }
  sql += ") f WHERE r.id = ?1";
  return Exec(db, sql, [&](Statement& q) {
    q.Bind(1, run_id);
    BindFields(q, 2, fields);
  });
}

}  // namespace sw::sql
