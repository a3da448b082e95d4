// PostgresStore: the SQL store (store/sql/sql_store.h) on a PostgreSQL database, for
// several instances sharing one database. Its writer connection commits the instance's
// batches (group commit as on SQLite); four more connections read. Every change of a
// run is a compare-and-set on its version in the UPDATE itself, so of two instances'
// writes to one run only one applies (the other answers kAborted); an agent task is
// claimed with FOR UPDATE SKIP LOCKED, so two instances claim different tasks (and
// deliveries of notifications likewise). While the server is out of reach commits fail
// (kUnavailable, not sticky); once it answers again the next commit, or an empty one
// the writer tries every second, makes the store healthy again.
#pragma once

#include <memory>
#include <string>

#include "store/sql/sql_store.h"

namespace sw {

class PostgresStore final : public SqlStore {
 public:
  // Connects to `url` (postgresql://USER@HOST:PORT/DB, any libpq connection URI) and
  // migrates the database to the current schema. `secrets` seals what the store keeps
  // secret (every instance must use the same key).
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                     std::shared_ptr<const SecretBox> secrets);

  // Whether `store` names a PostgreSQL database (a postgresql:// or postgres:// URI).
  static bool IsUrl(const std::string& store);

 private:
  using SqlStore::SqlStore;
};

}  // namespace sw
