// CommitQueue: group commit for a store whose writes share one writer (a connection
// held by one thread at a time), like leveldb's writer queue. A backend gives it one
// function, "apply this batch of changes in one transaction and commit it"; the queue
// decides who commits what, when:
//
// - Under load a writer thread takes up to kMaxBatch queued changes and commits them
//   as one batch: one transaction, one fsync for all of them.
// - A change a client waits for (CommitSync: a decision answered over HTTP; a run's
//   create, Lane::kUrgent) goes in a lane of its own, taken before the engine's, in a
//   batch of such changes alone, cut at kMaxUrgentBatch: it waits for the batch being
//   committed, not behind every change queued, nor for the work of a big batch.
// - A control (pause, resume, cancel: Lane::kControl) goes in a lane before that one:
//   under a stream of starts it waits neither for the starts queued before it nor for
//   their work in its batch.
// - The lanes take turns (NextTurnLocked), so none starves: never two batches of
//   controls in a row while another lane waits, nor two of the urgent lane (whatever
//   controls between) while the engine's waits.
// - On an idle store (nothing queued, nobody committing) the thread that asks commits
//   its change in place and runs its completion there: a hand-off to the writer thread
//   and back costs more than the commit's own work.
// - Completions chain: a completion may commit the next change. One chained from an
//   in-place completion is committed in place once more (kMaxInPlaceDepth), then goes
//   to the writer, so no thread's stack grows with a run's length; one chained on the
//   writer thread joins its next batch without any thread being woken.
// - The listener hears each commit's changed runs while the committer still holds the
//   writer (so in commit order), before the completions run.
// - A failed commit fails the whole batch and is sticky: the queue reports unhealthy
//   and refuses every later change rather than guess what was written. A commit that
//   failed for a reason that passes (IsTransientWriteFailure: the disk is full, the
//   database is out of reach; the backend rolled it back) is the exception: the queue
//   reports unhealthy until a later commit succeeds, and keeps trying each batch, so it
//   recovers by itself once there is space or a database again. With a recovery probe
//   (SetRecoveryProbe) the writer also commits an empty batch now and then while no
//   change comes, so an idle store turns healthy again too: for a backend where an
//   empty commit shows the database takes commits (a server that answers), not for one
//   where it shows nothing (SQLite's full disk: an empty commit writes nothing).
//
// Thread-safe. `Txn` is what the backend hands each change (the SQLite backend: its
// writer connection); the queue never touches it. Completions run on the committing
// thread and must not block on anything but the store.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/thread_name.h"
#include "store/store.h"

namespace sw {

namespace commit_queue {

// Largest number of queued changes committed in one transaction.
inline constexpr size_t kMaxBatch = 512;
// Largest batch of the urgent lane (its waiters' latency is the batch's work plus its
// fsync).
inline constexpr size_t kMaxUrgentBatch = 32;

// Which lane a queued change waits in, lowest first.
enum class Lane {
  kNormal,   // the engine's progress: batched as large as kMaxBatch
  kUrgent,   // a client waits for it: before the engine's, in small batches of its own
  kControl,  // a client's control: before all, in small batches of its own
};
inline constexpr size_t kLanes = 3;
// How deep one thread goes in completions of in-place commits before a chained change
// goes to the writer instead (a started run's first step still commits in place).
inline constexpr int kMaxInPlaceDepth = 2;

Status ShuttingDown();
Status StoppedWriting();
Status CommitFailed(const Status& commit);
// Adds a committed batch of `size` changes to `stats`.
void CountBatch(Store::Stats& stats, size_t size);

}  // namespace commit_queue

template <typename Txn>
class CommitQueue {
 public:
  // Applies one change inside the batch's transaction and appends the ids of the runs
  // it changed. A change that fails is rolled back alone.
  using Apply = std::function<Status(Txn&, std::vector<std::string>& changed)>;
  struct Change {
    Apply apply;
    std::function<void(Status)> done;  // after the commit, with the change's outcome
  };
  // What a batch's transaction gave.
  struct Outcome {
    Status commit;                     // not ok: nothing of the batch was written
    std::vector<Status> results;       // one per change, in order
    std::vector<std::string> changed;  // the runs changed by the changes that applied
  };
  // Applies every change of the batch in one transaction and commits it. Called by the
  // thread that holds the writer, one batch at a time.
  using CommitBatchFn = std::function<Outcome(std::vector<Change>& batch)>;
  using Listener = std::function<void(const std::vector<std::string>& run_ids)>;

  explicit CommitQueue(CommitBatchFn commit_batch) : commit_batch_(std::move(commit_batch)) {}
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;
  ~CommitQueue() { Stop(); }

  // Starts the writer thread. REQUIRES: the backend is ready to commit.
  void Start() {
    writer_ = std::thread([this] {
      NameThisThread("sw-writer");
      WriterLoop();
    });
  }
  // Refuses new changes, commits those queued and joins the writer thread.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) {
      writer_.join();
    }
  }

  // Set before the first change: committing threads read it unguarded.
  void SetListener(Listener listener) { listener_ = std::move(listener); }
  // While commits fail for a passing reason, commit an empty batch every `interval` in
  // which no change came (see the top).
  void SetRecoveryProbe(std::chrono::milliseconds interval) { probe_ms_ = interval.count(); }
  bool Healthy() const { return healthy_.load(); }
  // A thread holds the writer or changes wait for it: a change queued now joins a batch.
  bool Busy() {
    std::lock_guard lock(mu_);
    return committing_ || QueuedLocked();
  }
  // Changes waiting for the writer, in every lane.
  size_t Queued() const {
    std::lock_guard lock(mu_);
    return QueuedCountLocked();
  }
  // True on the writer thread (where a change applied now would be in a batch others
  // wait for).
  bool OnWriterThread() const { return tl_writer_of_ == this; }
  Store::Stats GetStats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }
  void CountCompletedSteps(uint64_t n) {
    std::lock_guard lock(stats_mu_);
    stats_.steps_committed += n;
  }

  // Commits `change` in place when the store is idle (its `done` runs before this
  // returns), else queues it for the writer in `lane` (its `done` runs there).
  void Commit(Change change, commit_queue::Lane lane = commit_queue::Lane::kNormal);
  // Queues every change for the writer at once (never in place), so they share its
  // batches: for many changes made together that nobody waits for one by one.
  void CommitAll(std::vector<Change> changes);
  // Commits `apply` and waits for it: in place when the store is idle, else through
  // the writer thread with whatever else is queued. Safe to call from a completion.
  Status CommitSync(Apply apply);
  // Runs `read` on this thread holding the writer, when the store is idle (nothing
  // queued, nobody committing) and answers true; else answers false and runs nothing.
  // For a short read that gains from the writer's own connection; changes that come
  // meanwhile wait for it, as for an in-place commit.
  bool ReadIfIdle(const std::function<void()>& read) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || committing_ || QueuedLocked() || tl_writer_of_ == this) {
        return false;
      }
      committing_ = true;
    }
    read();
    ReleaseWriter();
    return true;
  }

 private:
  // Queues `change` in `lane` and wakes the writer if needed. REQUIRES: mu_ held, not
  // stopping.
  void PushLocked(Change change, commit_queue::Lane lane = commit_queue::Lane::kNormal);
  // Something is queued. REQUIRES: mu_ held.
  bool QueuedLocked() const { return QueuedCountLocked() > 0; }
  size_t QueuedCountLocked() const {
    size_t n = 0;
    for (const std::deque<Change>& lane : lanes_) {
      n += lane.size();
    }
    return n;
  }
  // The lane whose turn it is, after a batch of `last` and, of the two other lanes, one
  // of `last_other`: controls first, but not twice in a row while another lane waits;
  // then the urgent lane, but not twice in a row (controls between) while the normal
  // one waits. REQUIRES: mu_ held, something queued.
  commit_queue::Lane NextTurnLocked(commit_queue::Lane last, commit_queue::Lane last_other) const;
  // Commits `change` alone on this thread, which holds the writer (`committing_`).
  void CommitInPlace(Change change);
  void WriterLoop();
  // Commits `batch`; the caller holds the writer.
  Outcome CommitBatch(std::vector<Change>& batch);
  void ReleaseWriter();
  // Tells the listener; the caller still holds the writer.
  void NotifyListener(const Outcome& outcome);
  static void Complete(std::vector<Change>& batch, const Outcome& outcome);

  // The queue whose writer thread this is (none elsewhere).
  static inline thread_local const CommitQueue* tl_writer_of_ = nullptr;
  // How deep this thread is in completions of in-place commits.
  static inline thread_local int tl_in_place_depth_ = 0;

  const CommitBatchFn commit_batch_;
  std::thread writer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // the queue grew, or committing_ was released
  // guarded by mu_: the changes waiting, one deque per commit_queue::Lane
  std::deque<Change> lanes_[commit_queue::kLanes];
  bool committing_ = false;    // guarded by mu_: a thread holds the writer
  int waiting_to_commit_ = 0;  // guarded by mu_: threads waiting to commit in place
  bool stopping_ = false;      // guarded by mu_
  std::atomic<bool> healthy_{true};
  // Set while commits fail for a passing reason (not sticky); only the writer changes it.
  std::atomic<bool> transient_failure_{false};
  bool sticky_failed_ = false;        // only the thread that holds the writer reads or writes it
  std::atomic<int64_t> probe_ms_{0};  // 0: no recovery probe
  Listener listener_;

  mutable std::mutex stats_mu_;
  Store::Stats stats_;  // guarded by stats_mu_
};

template <typename Txn>
void CommitQueue<Txn>::PushLocked(Change change, commit_queue::Lane lane) {
  lanes_[static_cast<size_t>(lane)].push_back(std::move(change));
  // A committer wakes the writer when it lets go; the writer itself looks before it
  // sleeps.
  if (!committing_ && tl_writer_of_ != this) {
    cv_.notify_all();
  }
}

template <typename Txn>
void CommitQueue<Txn>::Commit(Change change, commit_queue::Lane lane) {
  {
    std::unique_lock lock(mu_);
    if (stopping_) {
      lock.unlock();  // `done` may write again
      change.done(commit_queue::ShuttingDown());
      return;
    }
    if (tl_writer_of_ == this || tl_in_place_depth_ >= commit_queue::kMaxInPlaceDepth ||
        committing_ || QueuedLocked()) {
      // Busy, or chained from a commit's completion (which would recurse): the writer
      // takes it.
      PushLocked(std::move(change), lane);
      return;
    }
    committing_ = true;
  }
  CommitInPlace(std::move(change));
}

template <typename Txn>
void CommitQueue<Txn>::CommitAll(std::vector<Change> changes) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();  // a `done` may write again
    for (Change& change : changes) {
      change.done(commit_queue::ShuttingDown());
    }
    return;
  }
  for (Change& change : changes) {
    PushLocked(std::move(change));
  }
}

template <typename Txn>
void CommitQueue<Txn>::CommitInPlace(Change change) {
  std::vector<Change> batch;
  batch.push_back(std::move(change));
  Outcome outcome = CommitBatch(batch);
  NotifyListener(outcome);
  ReleaseWriter();
  ++tl_in_place_depth_;
  Complete(batch, outcome);
  --tl_in_place_depth_;
}

template <typename Txn>
Status CommitQueue<Txn>::CommitSync(Apply apply) {
  Status out;
  Change change{std::move(apply), [&out](Status s) { out = std::move(s); }};
  {
    std::unique_lock lock(mu_);
    if (stopping_) {
      return commit_queue::ShuttingDown();
    }
    // The writer thread (in a commit's completions) commits its own change in place: it
    // cannot wait for itself. Another thread does too when nothing is queued or being
    // committed: no hand-off to the writer and back.
    const bool on_writer = tl_writer_of_ == this;
    if (!on_writer && (committing_ || QueuedLocked())) {
      // Completed under a lock of its own: the writer completes a whole batch, and
      // taking the queue's mutex for each would contend with everyone queueing.
      std::mutex done_mu;
      std::condition_variable done_cv;
      bool done = false;
      change.done = [&](Status s) {
        std::lock_guard done_lock(done_mu);
        out = std::move(s);
        done = true;
        done_cv.notify_one();
      };
      PushLocked(std::move(change), commit_queue::Lane::kUrgent);
      lock.unlock();
      std::unique_lock done_lock(done_mu);
      done_cv.wait(done_lock, [&] { return done; });
      return out;
    }
    ++waiting_to_commit_;
    cv_.wait(lock, [&] { return !committing_; });
    --waiting_to_commit_;
    committing_ = true;
  }
  CommitInPlace(std::move(change));
  return out;
}

template <typename Txn>
void CommitQueue<Txn>::ReleaseWriter() {
  bool wanted = false;
  {
    std::lock_guard lock(mu_);
    committing_ = false;
    // Waking the writer for nothing costs a context switch per in-place commit.
    wanted = QueuedLocked() || waiting_to_commit_ > 0;
  }
  if (wanted) {
    cv_.notify_all();
  }
}

template <typename Txn>
commit_queue::Lane CommitQueue<Txn>::NextTurnLocked(commit_queue::Lane last,
                                                    commit_queue::Lane last_other) const {
  using commit_queue::Lane;
  auto waits = [this](Lane lane) { return !lanes_[static_cast<size_t>(lane)].empty(); };
  const bool others_wait = waits(Lane::kUrgent) || waits(Lane::kNormal);
  if (waits(Lane::kControl) && (last != Lane::kControl || !others_wait)) {
    return Lane::kControl;
  }
  if (waits(Lane::kUrgent) && (last_other != Lane::kUrgent || !waits(Lane::kNormal))) {
    return Lane::kUrgent;
  }
  return Lane::kNormal;
}

template <typename Txn>
void CommitQueue<Txn>::WriterLoop() {
  tl_writer_of_ = this;
  std::vector<Change> batch;
  // The lanes of the last batch and of the last batch not of controls: lanes take turns
  // (NextTurnLocked), so a stream of starts cannot starve the engine's progress (the runs
  // it started would pile up in memory), nor a stream of controls either.
  commit_queue::Lane last = commit_queue::Lane::kNormal;
  commit_queue::Lane last_other = commit_queue::Lane::kNormal;
  while (true) {
    {
      std::unique_lock lock(mu_);
      auto ready = [&] {
        return (QueuedLocked() && !committing_) || (stopping_ && !QueuedLocked());
      };
      auto probing = [&] { return probe_ms_.load() > 0 && transient_failure_.load(); };
      bool probe = false;
      if (probing()) {
        if (!cv_.wait_for(lock, std::chrono::milliseconds(probe_ms_.load()), ready)) {
          if (committing_) {
            continue;  // another thread's commit tells as much
          }
          probe = true;  // nothing came: commit an empty batch
        }
      } else {
        cv_.wait(lock, [&] { return ready() || probing(); });
        if (!ready()) {
          continue;  // an in-place commit failed for a passing reason: probe from now on
        }
      }
      if (!QueuedLocked() && !probe) {
        return;  // stopping and drained
      }
      if (!probe) {
        last = NextTurnLocked(last, last_other);
        last_other = last == commit_queue::Lane::kControl ? last_other : last;
        std::deque<Change>& lane = lanes_[static_cast<size_t>(last)];
        const size_t limit = last == commit_queue::Lane::kNormal ? commit_queue::kMaxBatch
                                                                 : commit_queue::kMaxUrgentBatch;
        while (!lane.empty() && batch.size() < limit) {
          batch.push_back(std::move(lane.front()));
          lane.pop_front();
        }
      }
      committing_ = true;
    }
    Outcome outcome = CommitBatch(batch);
    NotifyListener(outcome);
    ReleaseWriter();
    // Completions may queue the next changes (an engine chaining a run's steps): they
    // are picked up by the next turn of this loop, batched with whatever else came.
    Complete(batch, outcome);
    batch.clear();
  }
}

template <typename Txn>
typename CommitQueue<Txn>::Outcome CommitQueue<Txn>::CommitBatch(std::vector<Change>& batch) {
  if (!healthy_.load() && !transient_failure_.load()) {
    Outcome refused;
    refused.results.assign(batch.size(), commit_queue::StoppedWriting());
    return refused;
  }
  Outcome outcome = commit_batch_(batch);
  if (!outcome.commit.ok()) {
    // Set before healthy_, which readers check first.
    transient_failure_.store(IsTransientWriteFailure(outcome.commit) && !sticky_failed_);
    sticky_failed_ = sticky_failed_ || !transient_failure_.load();
    healthy_.store(false);
    if (transient_failure_.load() && probe_ms_.load() > 0) {
      // The writer may sleep without a deadline: it probes from now on. Taking mu_ orders
      // this after its last look at the flag.
      { std::lock_guard lock(mu_); }
      cv_.notify_all();
    }
    outcome.results.assign(batch.size(), commit_queue::CommitFailed(outcome.commit));
    outcome.changed.clear();
    return outcome;
  }
  if (transient_failure_.exchange(false)) {
    healthy_.store(true);  // space is back
  }
  std::lock_guard lock(stats_mu_);
  commit_queue::CountBatch(stats_, batch.size());
  return outcome;
}

template <typename Txn>
void CommitQueue<Txn>::NotifyListener(const Outcome& outcome) {
  // Before the completions: watchers only hand off, and a waiting client should not wait
  // for the work the completions chain.
  if (listener_ && !outcome.changed.empty()) {
    listener_(outcome.changed);
  }
}

template <typename Txn>
void CommitQueue<Txn>::Complete(std::vector<Change>& batch, const Outcome& outcome) {
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(outcome.results[i]);
  }
}

}  // namespace sw
