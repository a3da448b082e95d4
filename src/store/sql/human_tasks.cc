// SqlStore's approvals, forms and magic links. See sql_store.h. Tasks change only
// with their run's transition (transition.cc); here they are read, and links made.
#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/sql_store.h"

namespace sw {

using sql::Connection;
using sql::Statement;

namespace {

// A page cursor: the last item's (undecided, id), as "<0|1>:<id>".
struct TaskCursor {
  int undecided = 0;
  std::string id;
};

std::optional<TaskCursor> ParseTaskCursor(const std::string& cursor) {
  if (cursor.size() < 3 || (cursor[0] != '0' && cursor[0] != '1') || cursor[1] != ':') {
    return std::nullopt;
  }
  return TaskCursor{cursor[0] - '0', cursor.substr(2)};
}

bool IsOpen(const std::string& status) {
  for (std::string_view open : kOpenHumanTaskStatuses) {
    if (open == status) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<HumanTaskRecord> SqlStore::GetHumanTask(const std::string& id) {
  return Read([&](Connection& db) {
    return sql::SelectById<HumanTaskRecord>(db, sql::kHumanTaskColumns, "human_tasks", id,
                                            sql::ReadHumanTask, "task");
  });
}

Result<HumanTaskPage> SqlStore::ListHumanTasks(const std::string& workspace_id,
                                               const HumanTaskFilter& filter) {
  std::optional<TaskCursor> cursor;
  if (!filter.cursor.empty()) {
    cursor = ParseTaskCursor(filter.cursor);
    if (!cursor) {
      return InvalidArgument("'cursor' is not a cursor this list gave out", {.field = "cursor"});
    }
  }
  std::string sql = std::string("SELECT ") + sql::kHumanTaskColumns +
                    " FROM human_tasks WHERE workspace_id = ?1 AND kind = ?2";
  if (filter.status) sql += " AND status = ?3";
  if (filter.run_id) sql += " AND run_id = ?4";
  if (cursor) sql += " AND (undecided, id) < (?5, ?6)";
  sql += " ORDER BY undecided DESC, id DESC LIMIT ?7";
  Result<std::vector<HumanTaskRecord>> rows = Read([&](Connection& db) {
    return sql::QueryAll<HumanTaskRecord>(
        db, sql,
        [&](Statement& q) {
          q.Bind(1, workspace_id).Bind(2, filter.kind);
          if (filter.status) q.Bind(3, *filter.status);
          if (filter.run_id) q.Bind(4, *filter.run_id);
          if (cursor) q.Bind(5, cursor->undecided).Bind(6, cursor->id);
          q.Bind(7, filter.limit + 1);
        },
        sql::ReadHumanTask);
  });
  if (!rows.ok()) {
    return rows.status();
  }
  HumanTaskPage page;
  page.items = std::move(rows).value();
  if (static_cast<int>(page.items.size()) > filter.limit) {
    page.items.resize(filter.limit);
    const HumanTaskRecord& last = page.items.back();
    page.next_cursor = std::string(IsOpen(last.status) ? "1:" : "0:") + last.id;
  }
  return page;
}

Status SqlStore::CreateApprovalLink(const ApprovalLinkRecord& link) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) {
    return sql::Exec(
        db,
        std::string("INSERT INTO approval_links(") + sql::kApprovalLinkColumns +
            ") VALUES(?,?,?,?,?,?,?)",
        [&](Statement& q) {
          q.Bind(1, link.token_hash).Bind(2, link.approval_id).Bind(3, link.workspace_id);
          q.Bind(4, link.recipient).Bind(5, link.expires_at).Bind(6, link.used_at);
          q.Bind(7, link.created_at);
        });
  });
}

Result<ApprovalLinkRecord> SqlStore::FindApprovalLink(const std::string& token_hash) {
  return Read([&](Connection& db) {
    return sql::QueryOne<ApprovalLinkRecord>(
        db,
        std::string("SELECT ") + sql::kApprovalLinkColumns +
            " FROM approval_links WHERE token_hash = ?",
        [&](Statement& q) { q.Bind(1, token_hash); }, sql::ReadApprovalLink, "link not found");
  });
}

}  // namespace sw
