// SqlStore::ListRuns: the runs of a workspace that match a RunFilter, newest first, a
// page at a time. The query is built from the filter's set fields, each value a bound
// parameter (never spliced into the SQL); JSON members are read the dialect's way.
//
// Indexes (store/sqlite/schema.cc, store/postgres/schema.cc): by workspace and id (the
// order and the cursor), created_at, finished_at, error code and actor per workspace.
// Input and output fields are not indexed: they narrow what the other filters found.
#include "store/sql/run_search.h"

#include <algorithm>
#include <variant>

#include "store/sql/query.h"
#include "store/sql/rows.h"
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
    // Unfinished runs have finished_at 0; this also lets SQLite use runs_by_finished.
    query.Where("finished_at > 0");
    AddTimeRange(query, "finished_at", f.finished_after, f.finished_before);
  }
  if (f.error_code) {
    query.Where(dialect.json_member("error", "code") + " = " + query.Param(*f.error_code));
  }
  if (f.actor) {
    query.Where(dialect.json_member("trigger", "actor") + " = " + query.Param(*f.actor));
  }
  for (const RunJsonMatch& m : f.json_matches) {
    const std::string path = query.Param(dialect.json_path(m.keys));
    const std::string value = query.Param(m.value.dump());
    query.Where(dialect.json_path_equals(
        m.field == RunJsonMatch::Field::kInput ? "input" : "output", path, value));
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
  if (!filter.cursor.empty()) {
    query.Where("id < " + query.Param(filter.cursor));
  }
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
