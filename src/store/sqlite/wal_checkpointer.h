// WalCheckpointer: copies the WAL's pages into the database file on a thread and a
// connection of its own, so that a commit does not pay for it.
//
// SQLite's automatic checkpoint runs on the connection that commits, right after the
// commit that takes the WAL past its mark: every ~4,000 pages one commit's caller waited
// ~20 ms more (a schedule tick's fires, a request's answer). Here the writer's WAL hook
// (AfterCommit, on the committing thread) wakes the thread once the WAL holds
// Marks::background_pages pages, and again each Marks::step_pages more; the thread
// checkpoints (PASSIVE: it never blocks the writer or a reader, and copies what no
// reader still needs). When frames are left (the writer went on, or a reader's snapshot
// held them) it checkpoints again once the writer has paused for a moment. Once every
// frame is copied, the writer's next transaction writes the WAL from its start again, as
// after an automatic checkpoint. Under a load that never lets the thread catch up, the
// commit that takes the WAL to Marks::in_place_pages checkpoints in place, as SQLite's
// automatic checkpoint did, copying only what the thread had not: the WAL stays within
// its pre-allocated size (sqlite_store.cc).
//
// A checkpoint changes nothing a reader sees, and a crash in the middle of one is
// recovered from the WAL as SQLite always does.
//
// Thread-safe. AfterCommit may be called after the checkpointer is destroyed (by the
// writer connection's last commits): it then only checkpoints in place at the mark.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "store/sqlite/db.h"

namespace sw::sqlite {

class WalCheckpointer {
 public:
  struct Marks {
    int background_pages = 1000;  // the thread starts checkpointing
    int step_pages = 1000;        // and again each time the WAL grew this much
    int in_place_pages = 4000;    // the committing connection checkpoints itself
  };
  struct Counts {
    int64_t background = 0;  // checkpoints the thread made
    int64_t in_place = 0;    // checkpoints a commit made
    int wal_pages = 0;       // the WAL's pages after the last commit
  };

  // Starts the thread, with a connection of its own on the database at `path`.
  static Result<std::unique_ptr<WalCheckpointer>> Start(const std::string& path, Marks marks);
  // Stops and joins the thread.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Makes `writer`'s commits drive the checkpoints (replacing SQLite's automatic ones).
  void Attach(SqliteConnection& writer);
  Counts counts() const;

 private:
  struct Shared;
  WalCheckpointer(std::unique_ptr<SqliteConnection> conn, std::shared_ptr<Shared> shared);
  void Loop();

  std::unique_ptr<SqliteConnection> conn_;  // used only by the thread
  std::shared_ptr<Shared> shared_;          // with the writer's WAL hook
  std::thread thread_;
};

}  // namespace sw::sqlite
