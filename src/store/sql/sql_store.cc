#include "store/sql/sql_store.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace sw {

using sql::Connection;

SqlStore::SqlStore(std::unique_ptr<Connection> writer,
                   std::vector<std::unique_ptr<Connection>> readers,
                   std::shared_ptr<const SecretBox> secrets)
    : secrets_(std::move(secrets)),
      writer_conn_(std::move(writer)),
      readers_(std::move(readers)),
      queue_([this](std::vector<Queue::Change>& batch) { return CommitBatch(batch); }) {
  queue_.Start();
}

SqlStore::~SqlStore() {
  // Commits what is queued while the connections are still open.
  queue_.Stop();
}

void SqlStore::WhenQueuedWritesCommitted(std::function<void()> then) {
  if (!queue_.Busy()) {
    then();
    return;
  }
  // An empty change behind them: its batch commits after theirs, or with them.
  std::vector<Queue::Change> marker;
  marker.push_back(
      Queue::Change{[](Connection&, std::vector<std::string>&) { return Status::Ok(); },
                    [then = std::move(then)](Status) { then(); }});
  queue_.CommitAll(std::move(marker));
}

SqlStore::Queue::Outcome SqlStore::CommitBatch(std::vector<Queue::Change>& batch) {
  Queue::Outcome out = ApplyBatchOnce(batch);
  if (out.commit.reason() == kWriteConflict) {
    out = batch.size() > 1 ? CommitOneByOne(batch) : RetryConflicts(batch);
  }
  // A change that carried notifications but rolled back alone costs the outbox a look.
  if (std::exchange(outbox_signal_, false) && out.commit.ok() && outbox_listener_) {
    outbox_listener_();
  }
  return out;
}

SqlStore::Queue::Outcome SqlStore::RetryConflicts(std::vector<Queue::Change>& batch) {
  // Each attempt decides again from what it reads.
  constexpr int kConflictAttempts = 5;
  Queue::Outcome out;
  for (int attempt = 1; attempt <= kConflictAttempts; ++attempt) {
    out = ApplyBatchOnce(batch);
    if (out.commit.reason() != kWriteConflict) {
      break;
    }
    spdlog::warn("event=store.write_conflict attempt={} changes={}", attempt, batch.size());
  }
  return out;
}

SqlStore::Queue::Outcome SqlStore::CommitOneByOne(std::vector<Queue::Change>& batch) {
  // A batch PostgreSQL rolled back to break a deadlock with another instance's writer
  // locked several runs in an order the other did not; a change alone locks its run
  // (rarely two), so its transaction does not take part in such a cycle again.
  Queue::Outcome out;
  out.results.resize(batch.size());
  std::vector<Queue::Change> one(1);
  for (size_t i = 0; i < batch.size(); ++i) {
    one[0].apply = batch[i].apply;
    Queue::Outcome alone = RetryConflicts(one);
    if (!alone.commit.ok()) {
      out.results[i] = commit_queue::CommitFailed(alone.commit);
      continue;
    }
    out.results[i] = alone.results[0];
    out.changed.insert(out.changed.end(), alone.changed.begin(), alone.changed.end());
  }
  return out;
}

SqlStore::Queue::Outcome SqlStore::ApplyBatchOnce(std::vector<Queue::Change>& batch) {
  // A savepoint around each change is not free: where each statement is a round trip it
  // costs two, and SQLite copies each page a savepoint's changes touch to its statement
  // journal (about a tenth of a schedule fire's or a cancel's write, performance.md).
  // Changes rarely fail, so the batch goes first without them, and only when one of its
  // changes fails is it rolled back and applied again with them (a batch of one needs
  // none: its rollback is the change's).
  bool change_failed = false;
  Queue::Outcome out = ApplyBatch(batch, /*savepoints=*/false, &change_failed);
  if (change_failed && batch.size() > 1) {
    out = ApplyBatch(batch, /*savepoints=*/true);
  }
  return out;
}

SqlStore::Queue::Outcome SqlStore::ApplyBatch(std::vector<Queue::Change>& batch, bool savepoints,
                                              bool* change_failed) {
  static const std::string kCommit = "COMMIT";
  static const sql::Savepoint kChange("op");
  Queue::Outcome out;
  out.results.resize(batch.size());
  Connection& db = *writer_conn_;
  const std::string begin = db.dialect().begin;
  out.commit = db.ExecCached(begin);
  std::vector<std::string> change_changed;
  for (size_t i = 0; i < batch.size() && out.commit.ok(); ++i) {
    if (!savepoints) {
      change_changed.clear();
      out.results[i] = batch[i].apply(db, change_changed);
      if (out.results[i].ok()) {
        out.changed.insert(out.changed.end(), change_changed.begin(), change_changed.end());
        continue;
      }
      // Rolled back, with whatever the change wrote before it failed.
      out.changed.clear();
      if (IsTransientWriteFailure(out.results[i])) {
        out.commit = out.results[i];  // the batch fails as a whole (below)
        break;
      }
      *change_failed = true;
      if (batch.size() > 1) {
        out.commit = Status(StatusCode::kAborted, "a change of the batch failed");
        break;
      }
      db.Exec("ROLLBACK");
      return out;
    }
    change_changed.clear();
    Status kept = kChange.Run(
        db, [&] { return batch[i].apply(db, change_changed); }, out.results[i]);
    if (out.results[i].ok()) {
      out.changed.insert(out.changed.end(), change_changed.begin(), change_changed.end());
    }
    // The transaction is in doubt (a failed commit of a later change alone could pass
    // for a success): the batch fails as a whole.
    if (!kept.ok()) {
      out.commit = kept;
    }
  }
  // A change that ran out of disk, lost the database or a deadlock leaves the
  // transaction in doubt: the batch fails as a whole, for that reason, and is rolled back.
  for (const Status& result : out.results) {
    if (out.commit.ok() && IsTransientWriteFailure(result)) {
      out.commit = result;
    }
  }
  if (out.commit.ok()) {
    out.commit = db.ExecCached(kCommit);
  }
  if (!out.commit.ok()) {
    db.Exec("ROLLBACK");
  }
  return out;
}

}  // namespace sw
