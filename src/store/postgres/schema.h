// The PostgreSQL schema as an ordered list of migrations; the table schema_migrations
// records which have been applied. Migrate applies the rest, each in its own
// transaction, under an advisory lock so instances starting together migrate once.
// Append new migrations; never edit a released one.
#pragma once

#include "core/result.h"
#include "store/sql/connection.h"

namespace sw::postgres {

Status Migrate(sql::Connection& db);

}  // namespace sw::postgres
