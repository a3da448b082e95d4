#include "store/sql/migrations.h"

namespace sw::sql {

namespace {

Result<int64_t> AppliedVersion(Connection& db, const SchemaVersionSql& version) {
  Result<Statement*> stmt = db.Prepare(version.read);
  if (!stmt.ok()) {
    return stmt.status();
  }
  Result<bool> row = (*stmt)->Step();
  if (!row.ok()) {
    return row.status();
  }
  if (!*row) {
    (*stmt)->Reset();
    return Status(StatusCode::kInternal, std::string("no schema version from: ") + version.read);
  }
  const int64_t applied = (*stmt)->Int(0);
  (*stmt)->Reset();
  return applied;
}

}  // namespace

Status ApplyMigrations(Connection& db, std::span<const char* const> migrations,
                       const SchemaVersionSql& version) {
  Result<int64_t> applied = AppliedVersion(db, version);
  if (!applied.ok()) {
    return applied.status();
  }
  const int64_t total = static_cast<int64_t>(migrations.size());
  if (*applied > total) {
    return Status(StatusCode::kFailedPrecondition,
                  "the database schema (version " + std::to_string(*applied) +
                      ") is newer than this server understands (" + std::to_string(total) + ")");
  }
  for (int64_t i = *applied; i < total; ++i) {
    const std::string sql = std::string("BEGIN;") + migrations[static_cast<size_t>(i)] +
                            version.record(i + 1) + ";COMMIT;";
    if (Status s = db.Exec(sql); !s.ok()) {
      db.Exec("ROLLBACK");
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace sw::sql
