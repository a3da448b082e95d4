// The SQLite schema as an ordered list of migrations. `PRAGMA user_version` records
// how many have been applied; Migrate applies the rest, each in its own transaction.
// Append new migrations; never edit a released one.
#pragma once

#include "core/result.h"
#include "store/sqlite/db.h"

namespace sw::sqlite {

Status Migrate(sql::Connection& db);

// The schema version Migrate brings a database to (the number of migrations).
int64_t SchemaVersion();

}  // namespace sw::sqlite
