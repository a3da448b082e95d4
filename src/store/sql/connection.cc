#include "store/sql/connection.h"

#include "store/store.h"

namespace sw::sql {

Statement& Statement::BindJson(int i, const nlohmann::json& v) {
  if (v.is_null()) {
    return BindNull(i);
  }
  return BindText(i, v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Status Statement::Run() {
  while (true) {
    Result<bool> row = Step();
    if (!row.ok()) {
      return row.status();
    }
    if (!*row) {
      return Status::Ok();
    }
  }
}

Savepoint::Savepoint(std::string_view name)
    : open_("SAVEPOINT " + std::string(name)),
      release_("RELEASE " + std::string(name)),
      rollback_to_("ROLLBACK TO " + std::string(name)) {}

Status Savepoint::Run(Connection& db, const std::function<Status()>& write, Status& written) const {
  written = Status::Ok();
  if (Status opened = db.ExecCached(open_); !opened.ok()) {
    return opened;
  }
  written = write();
  Status undone = written.ok() ? Status::Ok() : db.ExecCached(rollback_to_);
  Status released = db.ExecCached(release_);
  if (undone.ok() && released.ok()) {
    return Status::Ok();
  }
  // A write that ran out of disk or lost the database says best why.
  return IsTransientWriteFailure(written) ? written : !undone.ok() ? undone : released;
}

nlohmann::json Statement::Json(int col) const {
  if (IsNull(col)) {
    return nullptr;
  }
  // Stored by BindJson, so it parses; a corrupt value reads as null rather than throw.
  return nlohmann::json::parse(Text(col), nullptr, /*allow_exceptions=*/false);
}

Status Connection::ExecCached(const std::string& sql) {
  Result<Statement*> st = Prepare(sql);
  if (!st.ok()) {
    return st.status();
  }
  Status s = (*st)->Run();
  (*st)->Reset();
  return s;
}

}  // namespace sw::sql
