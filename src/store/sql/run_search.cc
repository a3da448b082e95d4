// SqlStore::ListRuns: the runs of a workspace that match a RunFilter, newest first, a
// page at a time. The query is built from the filter's set fields, each value a bound
// parameter (never spliced into the SQL); JSON members are read the dialect's way.
//
// Indexes (store/sqlite/schema.cc, store/postgres/schema.cc): by workspace and id (the
// order and the cursor), created_at, finished_at, error code and actor per workspace,
// and input and output fields in their own table (store/sql/run_fields.h).
#include "store/sql/run_search.h"

#include <algorithm>
#include <variant>

#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/run_fields.h"
#include "store/sql/sql_store.h"

namespace sw {

using sql::Connection;
using sql::QueryAll;
using sql::RunQuery;
using sql::Statement;

namespace {

void AddTimeRange(RunQuery& query, const char* column, const std::optional<int64_t>& after,
                  const std::optional<int64_t>& before) {
  if (after) {
    query.Where(std::string(column) + " >= " + query.Param(*after));
  }
  if (before) {
    query.Where(std::string(column) + " < " + query.Param(*before));
  }
}

// A run whose input or output field holds the value, found in run_fields, or, for the
// runs not indexed there (store/sql/run_fields.h), in its JSON. The first match of a
// query (`cursor` set, empty for none) is a list its runs are read by, and takes the
// page's cursor: given to the outer query too, it leads SQLite to walk every run below
// the cursor instead. The others are checked run by run.
std::string FieldMatch(RunQuery& query, const sql::Dialect& dialect,
                       const std::string& workspace_id, const RunJsonMatch& m,
                       const std::optional<std::string>& cursor) {
  const std::string column = m.field == RunJsonMatch::Field::kInput ? "input" : "output";
  std::string field = column;
  for (const std::string& key : m.keys) {
    field += "." + key;
  }
  const std::string unindexed =
      "fields_indexed = 0 AND " + dialect.json_path_equals(column,
                                                           query.Param(dialect.json_path(m.keys)),
                                                           query.Param(m.value.dump()));
  const std::string indexed =
      "SELECT run_id FROM run_fields WHERE workspace_id = " + query.Param(workspace_id) +
      " AND field = " + query.Param(field) +
      " AND value = " + query.Param(sql::IndexedValue(m.value).value_or(""));
  if (cursor) {
    const std::string below = cursor->empty() ? "" : query.Param(*cursor);
    return "id IN (" + indexed + (below.empty() ? "" : " AND run_id < " + below) +
           " UNION ALL SELECT id FROM runs WHERE workspace_id = " + query.Param(workspace_id) +
           " AND " + unindexed + (below.empty() ? "" : " AND id < " + below) + ")";
  }
  return "(EXISTS (" + indexed + " AND run_id = runs.id) OR (" + unindexed + "))";
}

}  // namespace

namespace sql {

void AppendRunSelection(RunQuery& query, const Dialect& dialect, const std::string& workspace_id,
                        const RunFilter& f) {
  query.Append(" FROM runs WHERE workspace_id = " + query.Param(workspace_id));
  if (f.statuses) {
    // The store's own vocabulary, not user input.
    query.Where("status IN " + sql::SqlList(*f.statuses, [](RunStatus s) { return ToString(s); }));
  }
  if (f.workflow_id) query.Where("workflow_id = " + query.Param(*f.workflow_id));
  if (f.workflow_version) query.Where("workflow_version = " + query.Param(*f.workflow_version));
  if (f.pause_reason) query.Where("pause_reason = " + query.Param(*f.pause_reason));
  if (f.wait_kind) query.Where("wait_kind = " + query.Param(*f.wait_kind));
  if (f.id_contains) {
    query.Where(std::string(dialect.position_function) + "(id, " + query.Param(*f.id_contains) +
                ") > 0");
  }
  if (f.parent_run_id) {
    // `parent_run_id != ''` lets SQLite use the partial index runs_by_parent.
    query.Where("parent_run_id = " + query.Param(*f.parent_run_id) + " AND parent_run_id != ''");
  }
  if (f.run_ids) {
    // The list is padded to a power of two with its last id, so that the statements a
    // connection prepares and caches come in a few sizes, not one per count. An empty
    // list matches no run (and `IN ()` is no SQL PostgreSQL takes).
    const std::vector<std::string>& run_ids = *f.run_ids;
    size_t padded = 1;
    while (padded < run_ids.size()) padded *= 2;
    std::string ids;
    for (size_t i = 0; i < padded && !run_ids.empty(); ++i) {
      ids += (ids.empty() ? "" : ", ") + query.Param(run_ids[std::min(i, run_ids.size() - 1)]);
    }
    query.Where(ids.empty() ? "1 = 0" : "id IN (" + ids + ")");
  }
  AddTimeRange(query, "created_at", f.created_after, f.created_before);
  if (f.finished_after || f.finished_before) {
    AddTimeRange(query, "finished_at", f.finished_after, f.finished_before);
    // Unfinished runs have finished_at 0; this also lets SQLite use the partial index
    // runs_by_finished. After the range: of two lower bounds SQLite starts the index
    // scan at the first it is given, and `> 0` would scan every finished run before it.
    query.Where("finished_at > 0");
  }
  if (f.error_code) {
    query.Where(dialect.json_member("error", "code") + " = " + query.Param(*f.error_code));
  }
  if (f.actor) {
    query.Where(dialect.json_member("trigger", "actor") + " = " + query.Param(*f.actor));
  }
  for (size_t i = 0; i < f.json_matches.size(); ++i) {
    query.Where(FieldMatch(query, dialect, workspace_id, f.json_matches[i],
                           i == 0 ? std::optional<std::string>(f.cursor) : std::nullopt));
  }
  if (!f.cursor.empty() && f.json_matches.empty()) {
    query.Where("id < " + query.Param(f.cursor));
  }
}

}  // namespace sql

Result<int64_t> SqlStore::CountRuns(const std::string& workspace_id, const RunFilter& filter) {
  RunQuery query;
  query.Append("SELECT COUNT(*)");
  sql::AppendRunSelection(query, dialect(), workspace_id, filter);
  return Read([&](Connection& db) -> Result<int64_t> {
    Result<std::vector<int64_t>> rows = QueryAll<int64_t>(
        db, query.sql(), [&](Statement& q) { query.Bind(q); },
        [](const Statement& q) { return q.Int(0); });
    if (!rows.ok()) {
      return rows.status();
    }
    return rows->empty() ? 0 : rows->front();
  });
}

Result<RunPage> SqlStore::ListRuns(const std::string& workspace_id, const RunFilter& filter) {
  constexpr int kMaxPage = 500;
  const int limit = std::clamp(filter.limit, 1, kMaxPage);
  RunQuery query;
  query.Append(std::string("SELECT ") + sql::kRunColumns);
  sql::AppendRunSelection(query, dialect(), workspace_id, filter);
  query.Append(" ORDER BY id DESC LIMIT " + query.Param(int64_t{limit} + 1));
  return Read([&](Connection& db) -> Result<RunPage> {
    Result<std::vector<RunRecord>> rows = QueryAll<RunRecord>(
        db, query.sql(), [&](Statement& q) { query.Bind(q); }, sql::ReadRun);
    if (!rows.ok()) {
      return rows.status();
    }
    RunPage page;
    page.items = std::move(rows).value();
    if (page.items.size() > static_cast<size_t>(limit)) {
      page.items.resize(limit);
      page.next_cursor = page.items.back().id;
    }
    return page;
  });
}

}  // namespace sw
