// SqliteStore: the embedded default Store, the SQL store (store/sql/sql_store.h) on one
// SQLite file in WAL mode with synchronous=FULL, so a commit is on stable storage
// before anyone acts on it. Its one writer connection is the only writer; four
// read-only connections read beside it, as WAL lets them, and a thread checkpoints the
// WAL on a connection of its own (sqlite/wal_checkpointer.h).
#pragma once

#include <memory>
#include <string>

#include "store/sql/sql_store.h"
#include "store/sqlite/wal_checkpointer.h"

namespace sw {

class SqliteStore final : public SqlStore {
 public:
  // Opens (creating if needed) DIR/stepwell.db and migrates it to the current schema.
  // `secrets` seals what the store keeps secret; null: the key of DIR
  // (SecretBox::ForDataDir).
  static Result<std::unique_ptr<SqliteStore>> Open(
      const std::string& data_dir, std::shared_ptr<const SecretBox> secrets = nullptr);

  // Checkpoints the thread and the commits made so far (wal_checkpointer.h).
  sqlite::WalCheckpointer::Counts checkpoints() const { return checkpointer_->counts(); }

 private:
  using SqlStore::SqlStore;

  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;
};

}  // namespace sw
