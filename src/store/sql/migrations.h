// The migration runner every SQL backend shares: a backend's schema is an ordered list
// of migrations, migration i (from 0) being schema version i + 1, and the database
// records how many it has applied. ApplyMigrations reads that number and applies the
// rest, each with the record of its version in one transaction, so a failure leaves
// the schema at the last version that committed. Where the version is kept differs per
// backend (SQLite's `PRAGMA user_version`, PostgreSQL's `schema_migrations` table): a
// backend says how to read and record it in a SchemaVersionSql.
//
// Not thread-safe: runs on the one connection it is given. Several processes migrating
// one database must be kept apart by the backend (PostgreSQL takes an advisory lock).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"
#include "store/sql/connection.h"

namespace sw::sql {

// How a backend reads and records its schema version.
struct SchemaVersionSql {
  // One statement answering one row whose first column is the applied version
  // (0 on a new database).
  const char* read;
  // The statement, run inside a migration's transaction, that records `version` as
  // applied.
  std::string (*record)(int64_t version);
};

// Applies `migrations` past the database's version, in order. kFailedPrecondition when
// the database is at a version newer than the list (a newer server migrated it).
Status ApplyMigrations(Connection& db, std::span<const char* const> migrations,
                       const SchemaVersionSql& version);

}  // namespace sw::sql
