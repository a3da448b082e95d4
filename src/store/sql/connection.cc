#include "store/sql/connection.h"

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
