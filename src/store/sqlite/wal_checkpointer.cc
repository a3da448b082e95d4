#include "store/sqlite/wal_checkpointer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "core/thread_name.h"

namespace sw::sqlite {

namespace {

// How long the writer must pause before the thread checkpoints again when the last
// checkpoint did not leave every frame copied.
constexpr auto kLookAgainAfter = std::chrono::milliseconds(50);

}  // namespace

// What the thread and the writer's WAL hook share; outlives whichever goes last.
struct WalCheckpointer::Shared {
  explicit Shared(Marks m) : marks(m) {}
  const Marks marks;
  std::mutex mu;
  std::condition_variable cv;
  bool wanted = false;    // guarded by mu: a checkpoint is asked for
  bool stopping = false;  // guarded by mu
  int asked_at = 0;       // guarded by mu: the WAL's pages when one was last asked for
  Counts counts;          // guarded by mu

  // After a commit, on the committing thread, with the WAL's pages.
  void AfterCommit(sqlite3* db, int wal_pages) {
    if (wal_pages >= marks.in_place_pages) {
      // Whatever the thread has not copied yet; from its start again afterwards.
      const int rc =
          sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        spdlog::warn("event=sqlite.checkpoint_failed where=in_place error={}", sqlite3_errstr(rc));
      }
      std::lock_guard lock(mu);
      counts.wal_pages = wal_pages;
      asked_at = 0;
      ++counts.in_place;
      return;
    }
    bool wake = false;
    {
      std::lock_guard lock(mu);
      counts.wal_pages = wal_pages;
      if (wal_pages < marks.background_pages) {
        asked_at = 0;  // the WAL was written from its start again, or is still short
      } else if (asked_at == 0 || wal_pages >= asked_at + marks.step_pages ||
                 wal_pages < asked_at) {
        asked_at = wal_pages;
        wanted = true;
        wake = true;
      }
    }
    if (wake) {
      cv.notify_one();
    }
  }
};

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path,
                                                                Marks marks) {
  Result<std::unique_ptr<SqliteConnection>> conn =
      SqliteConnection::Open(path, SqliteConnection::Mode::kWrite);
  if (!conn.ok()) {
    return conn.status();
  }
  // A connection that has read nothing has not opened the WAL: its checkpoints would
  // do nothing.
  if (Status s = (*conn)->Exec("PRAGMA journal_mode=WAL"); !s.ok()) {
    return s;
  }
  return std::unique_ptr<WalCheckpointer>(
      new WalCheckpointer(std::move(conn).value(), std::make_shared<Shared>(marks)));
}

WalCheckpointer::WalCheckpointer(std::unique_ptr<SqliteConnection> conn,
                                 std::shared_ptr<Shared> shared)
    : conn_(std::move(conn)), shared_(std::move(shared)) {
  thread_ = std::thread([this] {
    NameThisThread("sw-checkpoint");
    Loop();
  });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
  }
  shared_->cv.notify_all();
  thread_.join();
}

void WalCheckpointer::Attach(SqliteConnection& writer) {
  writer.SetWalHook([shared = shared_](sqlite3* db, int pages) { shared->AfterCommit(db, pages); });
}

WalCheckpointer::Counts WalCheckpointer::counts() const {
  std::lock_guard lock(shared_->mu);
  return shared_->counts;
}

void WalCheckpointer::Loop() {
  std::unique_lock lock(shared_->mu);
  // The last checkpoint left frames behind (a reader's snapshot held them, or the writer
  // went on meanwhile): until every frame is copied the WAL cannot be written from its
  // start again, so the thread looks again a little later even if no commit asks.
  bool behind = false;
  while (true) {
    auto asked = [this] { return shared_->wanted || shared_->stopping; };
    if (behind) {
      // Caught up once the writer pauses: beside a busy writer a checkpoint competes
      // with its commits for the disk, and the WAL could not start over anyway.
      const int seen = shared_->counts.wal_pages;
      if (!shared_->cv.wait_for(lock, kLookAgainAfter, asked) &&
          shared_->counts.wal_pages != seen) {
        continue;
      }
    } else {
      shared_->cv.wait(lock, asked);
    }
    if (shared_->stopping) {
      return;
    }
    shared_->wanted = false;
    lock.unlock();
    int wal_frames = 0;
    int copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(conn_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             &wal_frames, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("event=sqlite.checkpoint_failed where=background error={}", sqlite3_errstr(rc));
    }
    lock.lock();
    ++shared_->counts.background;
    const int pages = shared_->counts.wal_pages;
    behind =
        pages >= shared_->marks.background_pages && (copied < wal_frames || pages > wal_frames);
  }
}

}  // namespace sw::sqlite
