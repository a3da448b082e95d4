// CommitQueue over a fake backend (no database): who commits a change (the caller in
// place, or the writer thread in a batch), batching under load, chained completions,
// the listener's place, a failed change, a failed commit that stays failed, one that
// passes (and the recovery probe of an idle queue), shutdown.
#include "store/commit_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../engine/wait_until.h"

namespace sw {
namespace {

struct FakeTxn {
  int applied = 0;  // only the committing thread touches it
};

// A backend whose "transaction" applies each change in turn. It can hold the
// committing thread inside a batch (to let changes queue up) and fail its commits.
class FakeBackend {
 public:
  using Queue = CommitQueue<FakeTxn>;

  Queue::Outcome CommitBatch(std::vector<Queue::Change>& batch) {
    {
      std::unique_lock lock(mu_);
      batch_sizes_.push_back(batch.size());
      if (hold_next_) {
        hold_next_ = false;
        held_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return !held_; });
      }
    }
    Queue::Outcome out;
    {
      std::lock_guard lock(mu_);
      out.commit = commit_;
    }
    std::vector<std::string> changed;
    for (Queue::Change& change : batch) {
      changed.clear();
      out.results.push_back(change.apply(txn_, changed));
      if (out.results.back().ok()) {
        out.changed.insert(out.changed.end(), changed.begin(), changed.end());
      }
    }
    return out;
  }

  void HoldNextBatch() {
    std::lock_guard lock(mu_);
    hold_next_ = true;
  }
  bool WaitHeld() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return held_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    held_ = false;
    cv_.notify_all();
  }
  std::vector<size_t> BatchSizes() {
    std::lock_guard lock(mu_);
    return batch_sizes_;
  }
  void FailCommits() { SetCommit(Internal("disk full")); }
  // Commits fail as the SQLite backend's do when the disk is full (not sticky).
  void FillDisk() {
    SetCommit(Status(StatusCode::kResourceExhausted, "sqlite: database or disk is full",
                     std::string(kDiskFull)));
  }
  void FreeDisk() { SetCommit(Status::Ok()); }
  // Commits fail as the PostgreSQL backend's do while the server is away (not sticky).
  void LoseDatabase() {
    SetCommit(Status(StatusCode::kUnavailable, "postgresql: server closed the connection",
                     std::string(kDatabaseUnavailable)));
  }
  void SetCommit(Status s) {
    std::lock_guard lock(mu_);
    commit_ = std::move(s);
  }

 private:
  FakeTxn txn_;
  std::mutex mu_;
  Status commit_;  // guarded by mu_
  std::condition_variable cv_;
  bool hold_next_ = false;           // guarded by mu_
  bool held_ = false;                // guarded by mu_
  std::vector<size_t> batch_sizes_;  // guarded by mu_
};

class CommitQueueTest : public ::testing::Test {
 protected:
  using Queue = FakeBackend::Queue;

  void SetUp() override {
    queue_ = std::make_unique<Queue>(
        [this](std::vector<Queue::Change>& batch) { return backend_.CommitBatch(batch); });
    queue_->SetListener([this](const std::vector<std::string>& ids) {
      std::lock_guard lock(mu_);
      heard_.insert(heard_.end(), ids.begin(), ids.end());
      for (const std::string& id : ids) {
        events_.push_back("listener:" + id);
      }
    });
    queue_->Start();
  }

  void TearDown() override {
    backend_.Release();
    queue_.reset();
  }

  // A change that notes the thread that applied it and the one that completed it.
  struct Seen {
    std::thread::id applied_on;
    std::thread::id done_on;
    Status status;
    bool done = false;
  };
  Queue::Change Noting(std::shared_ptr<Seen> seen, std::string run_id = "run_1",
                       Status result = Status::Ok(), std::function<void()> then = nullptr) {
    return Queue::Change{[seen, run_id, result](FakeTxn& txn, std::vector<std::string>& changed) {
                           seen->applied_on = std::this_thread::get_id();
                           ++txn.applied;
                           changed.push_back(run_id);
                           return result;
                         },
                         [this, seen, run_id, then](Status s) {
                           {
                             std::lock_guard lock(mu_);
                             seen->done_on = std::this_thread::get_id();
                             seen->status = s;
                             seen->done = true;
                             events_.push_back("done:" + run_id);
                             cv_.notify_all();
                           }
                           if (then) {
                             then();
                           }
                         }};
  }

  // A synchronous change that writes nothing.
  Status CommitNothing() {
    return queue_->CommitSync([](FakeTxn&, std::vector<std::string>&) { return Status::Ok(); });
  }

  bool WaitDone(const std::vector<std::shared_ptr<Seen>>& all) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& s : all) {
        if (!s->done) {
          return false;
        }
      }
      return true;
    });
  }

  FakeBackend backend_;
  std::unique_ptr<Queue> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> heard_;   // guarded by mu_
  std::vector<std::string> events_;  // guarded by mu_
};

TEST_F(CommitQueueTest, AnIdleQueueCommitsInPlaceAndCompletesBeforeCommitReturns) {
  auto seen = std::make_shared<Seen>();
  queue_->Commit(Noting(seen));
  ASSERT_TRUE(seen->done);  // no wait: it ran on this thread
  EXPECT_EQ(seen->applied_on, std::this_thread::get_id());
  EXPECT_EQ(seen->done_on, std::this_thread::get_id());
  EXPECT_TRUE(seen->status.ok());
  Status sync = CommitNothing();
  EXPECT_TRUE(sync.ok());
  EXPECT_EQ(backend_.BatchSizes(), (std::vector<size_t>{1, 1}));
  const Store::Stats stats = queue_->GetStats();
  EXPECT_EQ(stats.commits, 2u);
  EXPECT_EQ(stats.writes, 2u);
  EXPECT_EQ(stats.batch_buckets[0], 2u);
}

// A read takes the idle writer on the caller's thread; a change that comes meanwhile
// waits for it and goes to the writer thread. While another thread commits, the read is
// refused at once (the caller reads elsewhere).
TEST_F(CommitQueueTest, ARunsReadTakesTheIdleWriterAndIsRefusedWhileAnotherCommits) {
  auto during = std::make_shared<Seen>();
  std::thread other;
  bool read = queue_->ReadIfIdle([&] {
    other = std::thread([&] { queue_->Commit(Noting(during)); });
    // The change cannot commit in place while the read holds the writer: it is queued.
    ASSERT_TRUE(test::WaitUntil([&] { return queue_->Queued() == 1; }));
    std::lock_guard lock(mu_);
    EXPECT_FALSE(during->done);
  });
  EXPECT_TRUE(read);
  ASSERT_TRUE(WaitDone({during}));
  other.join();
  EXPECT_NE(during->applied_on, std::this_thread::get_id());
  EXPECT_TRUE(during->status.ok());

  backend_.HoldNextBatch();
  auto held = std::make_shared<Seen>();
  std::thread committer([&] { queue_->Commit(Noting(held)); });
  ASSERT_TRUE(backend_.WaitHeld());
  bool ran = false;
  EXPECT_FALSE(queue_->ReadIfIdle([&] { ran = true; }));
  EXPECT_FALSE(ran);
  backend_.Release();
  committer.join();
  EXPECT_TRUE(queue_->ReadIfIdle([&] { ran = true; }));
  EXPECT_TRUE(ran);
}

TEST_F(CommitQueueTest, ChangesQueuedDuringACommitShareTheWritersNextBatch) {
  backend_.HoldNextBatch();
  auto first = std::make_shared<Seen>();
  std::thread committer([&] { queue_->Commit(Noting(first, "run_first")); });
  const std::thread::id committer_id = committer.get_id();
  ASSERT_TRUE(backend_.WaitHeld());
  constexpr int kChanges = 31;
  std::vector<std::shared_ptr<Seen>> queued;
  for (int i = 0; i < kChanges; ++i) {
    queued.push_back(std::make_shared<Seen>());
    queue_->Commit(Noting(queued.back(), "run_" + std::to_string(i)));
  }
  Status sync;
  std::thread waiter([&] { sync = CommitNothing(); });
  // Queued, not committed, while the first commit holds the writer.
  {
    std::lock_guard lock(mu_);
    for (const auto& s : queued) {
      EXPECT_FALSE(s->done);
    }
  }
  backend_.Release();
  committer.join();
  ASSERT_TRUE(WaitDone(queued));
  waiter.join();
  EXPECT_TRUE(sync.ok());
  EXPECT_EQ(first->applied_on, committer_id);
  // The writer thread took them: none on this thread, all on one other thread.
  for (const auto& s : queued) {
    EXPECT_NE(s->applied_on, std::this_thread::get_id());
    EXPECT_EQ(s->applied_on, queued.front()->applied_on);
    EXPECT_TRUE(s->status.ok());
  }
  std::vector<size_t> sizes = backend_.BatchSizes();
  ASSERT_GE(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], 1u);
  size_t after_first = 0;
  for (size_t i = 1; i < sizes.size(); ++i) {
    after_first += sizes[i];
  }
  EXPECT_EQ(after_first, size_t{kChanges + 1});
  // Theirs is one batch; the synchronous change has one of its own, before it or (when
  // it came after the writer took them) after.
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(std::max(sizes[1], sizes[2]), size_t{kChanges});
  EXPECT_EQ(std::min(sizes[1], sizes[2]), 1u);
}

TEST_F(CommitQueueTest, AWaitedForChangeGoesFirstInABatchOfItsOwn) {
  backend_.HoldNextBatch();
  auto first = std::make_shared<Seen>();
  std::thread committer([&] { queue_->Commit(Noting(first, "run_first")); });
  ASSERT_TRUE(backend_.WaitHeld());
  constexpr int kChanges = 40;
  std::vector<std::shared_ptr<Seen>> queued;
  for (int i = 0; i < kChanges; ++i) {
    queued.push_back(std::make_shared<Seen>());
    queue_->Commit(Noting(queued.back(), "run_" + std::to_string(i)));
  }
  int applied_before_sync = -1;
  Status sync;
  std::thread waiter([&] {
    sync = queue_->CommitSync([&](FakeTxn& txn, std::vector<std::string>&) {
      applied_before_sync = txn.applied;
      return Status::Ok();
    });
  });
  ASSERT_TRUE(test::WaitUntil([&] { return queue_->Queued() == size_t{kChanges + 1}; }));
  backend_.Release();
  committer.join();
  waiter.join();
  ASSERT_TRUE(WaitDone(queued));
  EXPECT_TRUE(sync.ok());
  // Queued last, committed first: only the held batch's change was applied before it.
  EXPECT_EQ(applied_before_sync, 1);
  // Alone: none of the engine's work rides with it. The rest follow in the next batch.
  EXPECT_EQ(backend_.BatchSizes(), (std::vector<size_t>{1, 1, size_t{kChanges}}));
  for (const auto& s : queued) {
    EXPECT_TRUE(s->status.ok());
  }
}

// Urgent changes queued behind normal ones are committed first, in batches of their own
// cut at kMaxUrgentBatch; while normal ones wait, the lanes take turns.
TEST_F(CommitQueueTest, UrgentChangesGoFirstInBatchesOfTheirOwnAndTheLanesTakeTurns) {
  backend_.HoldNextBatch();
  auto first = std::make_shared<Seen>();
  std::thread committer([&] { queue_->Commit(Noting(first, "run_first")); });
  ASSERT_TRUE(backend_.WaitHeld());
  constexpr size_t kNormal = 10;
  constexpr size_t kUrgent = commit_queue::kMaxUrgentBatch + 5;
  std::vector<std::shared_ptr<Seen>> all;
  for (size_t i = 0; i < kNormal; ++i) {
    all.push_back(std::make_shared<Seen>());
    queue_->Commit(Noting(all.back(), "normal_" + std::to_string(i)));
  }
  for (size_t i = 0; i < kUrgent; ++i) {
    all.push_back(std::make_shared<Seen>());
    queue_->Commit(Noting(all.back(), "urgent_" + std::to_string(i)), commit_queue::Lane::kUrgent);
  }
  backend_.Release();
  committer.join();
  ASSERT_TRUE(WaitDone(all));
  constexpr size_t kCut = commit_queue::kMaxUrgentBatch;
  EXPECT_EQ(backend_.BatchSizes(), (std::vector<size_t>{1, kCut, kNormal, kUrgent - kCut}));
  std::lock_guard lock(mu_);
  ASSERT_EQ(heard_.size(), 1 + kNormal + kUrgent);
  EXPECT_EQ(heard_[1], "urgent_0");
  EXPECT_EQ(heard_[kCut], "urgent_" + std::to_string(kCut - 1));
  EXPECT_EQ(heard_[kCut + 1], "normal_0");
  EXPECT_EQ(heard_[kCut + kNormal + 1], "urgent_" + std::to_string(kCut));
}

// Controls queued behind starts and the engine's changes are committed first, in
// batches of their own; the lanes take turns, so neither the starts nor the engine's
// progress wait for every control.
TEST_F(CommitQueueTest, ControlsGoBeforeStartsAndTheEnginesChangesAndTheLanesTakeTurns) {
  backend_.HoldNextBatch();
  auto first = std::make_shared<Seen>();
  std::thread committer([&] { queue_->Commit(Noting(first, "run_first")); });
  ASSERT_TRUE(backend_.WaitHeld());
  constexpr size_t kCut = commit_queue::kMaxUrgentBatch;
  constexpr size_t kNormal = 10;
  constexpr size_t kUrgent = kCut + 5;
  constexpr size_t kControl = kCut + 3;
  std::vector<std::shared_ptr<Seen>> all;
  auto queue = [&](const std::string& name, size_t n, commit_queue::Lane lane) {
    for (size_t i = 0; i < n; ++i) {
      all.push_back(std::make_shared<Seen>());
      queue_->Commit(Noting(all.back(), name + std::to_string(i)), lane);
    }
  };
  queue("normal_", kNormal, commit_queue::Lane::kNormal);
  queue("urgent_", kUrgent, commit_queue::Lane::kUrgent);
  queue("control_", kControl, commit_queue::Lane::kControl);
  backend_.Release();
  committer.join();
  ASSERT_TRUE(WaitDone(all));
  // Controls, starts, the last controls, the engine's (whose turn it was over the
  // starts'), the last starts.
  EXPECT_EQ(backend_.BatchSizes(),
            (std::vector<size_t>{1, kCut, kCut, kControl - kCut, kNormal, kUrgent - kCut}));
  std::lock_guard lock(mu_);
  ASSERT_EQ(heard_.size(), 1 + kNormal + kUrgent + kControl);
  EXPECT_EQ(heard_[1], "control_0");
  EXPECT_EQ(heard_[kCut + 1], "urgent_0");
  EXPECT_EQ(heard_[2 * kCut + 1], "control_" + std::to_string(kCut));
  EXPECT_EQ(heard_[kCut + kControl + 1], "normal_0");
  EXPECT_EQ(heard_.back(), "urgent_" + std::to_string(kUrgent - 1));
}

TEST_F(CommitQueueTest, AChainFromInPlaceCompletionsCommitsInPlaceTwiceThenGoesToTheWriter) {
  auto first = std::make_shared<Seen>();
  auto second = std::make_shared<Seen>();
  auto third = std::make_shared<Seen>();
  queue_->Commit(Noting(first, "run_1", Status::Ok(), [&] {
    queue_->Commit(
        Noting(second, "run_1", Status::Ok(), [&] { queue_->Commit(Noting(third, "run_1")); }));
  }));
  ASSERT_TRUE(WaitDone({first, second, third}));
  EXPECT_EQ(first->applied_on, std::this_thread::get_id());
  EXPECT_EQ(second->applied_on, std::this_thread::get_id());
  EXPECT_NE(third->applied_on, std::this_thread::get_id());
  EXPECT_EQ(third->done_on, third->applied_on);
}

TEST_F(CommitQueueTest, OnTheWriterThreadAChainedChangeIsQueuedAndASyncOneCommitsInPlace) {
  backend_.HoldNextBatch();
  auto first = std::make_shared<Seen>();
  std::thread committer([&] { queue_->Commit(Noting(first)); });
  ASSERT_TRUE(backend_.WaitHeld());
  auto on_writer = std::make_shared<Seen>();
  auto chained = std::make_shared<Seen>();
  Status sync_from_writer = Internal("not run");
  bool saw_writer = false;
  queue_->Commit(Noting(on_writer, "run_2", Status::Ok(), [&] {
    saw_writer = queue_->OnWriterThread();
    // The writer cannot wait for itself: a synchronous change commits in place.
    sync_from_writer = CommitNothing();
    queue_->Commit(Noting(chained, "run_3"));
  }));
  backend_.Release();
  committer.join();
  ASSERT_TRUE(WaitDone({on_writer, chained}));
  EXPECT_TRUE(saw_writer);
  EXPECT_FALSE(queue_->OnWriterThread());
  EXPECT_TRUE(sync_from_writer.ok());
  EXPECT_EQ(chained->applied_on, on_writer->applied_on);
}

TEST_F(CommitQueueTest, AFailedChangeFailsAloneAndTheListenerHearsOnlyTheOthersFirst) {
  backend_.HoldNextBatch();
  auto first = std::make_shared<Seen>();
  std::thread committer([&] { queue_->Commit(Noting(first, "run_first")); });
  ASSERT_TRUE(backend_.WaitHeld());
  auto ok = std::make_shared<Seen>();
  auto lost = std::make_shared<Seen>();
  queue_->Commit(Noting(ok, "run_ok"));
  queue_->Commit(Noting(lost, "run_lost", Status(StatusCode::kAborted, "lost")));
  backend_.Release();
  committer.join();
  ASSERT_TRUE(WaitDone({ok, lost}));
  EXPECT_TRUE(ok->status.ok());
  EXPECT_EQ(lost->status.code(), StatusCode::kAborted);
  std::lock_guard lock(mu_);
  EXPECT_EQ(heard_, (std::vector<std::string>{"run_first", "run_ok"}));
  // Each commit's listener call comes before its completions.
  auto at = [&](const std::string& event) {
    return std::find(events_.begin(), events_.end(), event) - events_.begin();
  };
  EXPECT_LT(at("listener:run_first"), at("done:run_first"));
  EXPECT_LT(at("listener:run_ok"), at("done:run_ok"));
  EXPECT_LT(at("listener:run_ok"), at("done:run_lost"));
  EXPECT_LT(at("done:run_lost"), static_cast<long>(events_.size()));
  EXPECT_TRUE(queue_->Healthy());
}

TEST_F(CommitQueueTest, AFailedCommitFailsTheWholeBatchAndEveryLaterChange) {
  backend_.FailCommits();
  auto failed = std::make_shared<Seen>();
  queue_->Commit(Noting(failed));
  ASSERT_TRUE(failed->done);
  EXPECT_EQ(failed->status.code(), StatusCode::kUnavailable);
  EXPECT_NE(failed->status.message().find("disk full"), std::string::npos);
  EXPECT_FALSE(queue_->Healthy());
  auto later = std::make_shared<Seen>();
  queue_->Commit(Noting(later));
  EXPECT_EQ(later->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(later->applied_on, std::thread::id());  // never applied
  EXPECT_EQ(CommitNothing().code(), StatusCode::kUnavailable);
  EXPECT_EQ(backend_.BatchSizes().size(), 1u);
  EXPECT_EQ(queue_->GetStats().commits, 0u);
  std::lock_guard lock(mu_);
  EXPECT_TRUE(heard_.empty());
}

TEST_F(CommitQueueTest, AfterADiskFullEpisodeTheQueueCommitsAgainOnceThereIsSpace) {
  backend_.FillDisk();
  auto failed = std::make_shared<Seen>();
  queue_->Commit(Noting(failed));
  ASSERT_TRUE(failed->done);
  EXPECT_EQ(failed->status.code(), StatusCode::kUnavailable);
  EXPECT_NE(failed->status.message().find("disk is full"), std::string::npos);
  EXPECT_FALSE(queue_->Healthy());
  auto still_full = std::make_shared<Seen>();
  queue_->Commit(Noting(still_full));
  EXPECT_EQ(still_full->status.code(), StatusCode::kUnavailable);
  EXPECT_NE(still_full->applied_on, std::thread::id());  // tried again, not refused
  EXPECT_FALSE(queue_->Healthy());
  backend_.FreeDisk();
  auto after = std::make_shared<Seen>();
  queue_->Commit(Noting(after));
  EXPECT_TRUE(after->status.ok()) << after->status.message();
  EXPECT_TRUE(queue_->Healthy());
  EXPECT_EQ(queue_->GetStats().commits, 1u);
}

TEST_F(CommitQueueTest, WithARecoveryProbeAnIdleQueueIsHealthyAgainOnceTheDatabaseAnswers) {
  queue_->SetRecoveryProbe(std::chrono::milliseconds(5));
  backend_.LoseDatabase();
  auto failed = std::make_shared<Seen>();
  queue_->Commit(Noting(failed));
  ASSERT_TRUE(failed->done);
  EXPECT_EQ(failed->status.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(queue_->Healthy());
  // The probes (empty batches) fail while the database is away.
  auto probed = [&] {
    std::vector<size_t> sizes = backend_.BatchSizes();
    return std::count(sizes.begin(), sizes.end(), 0u);
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (probed() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_GE(probed(), 2);
  EXPECT_FALSE(queue_->Healthy());
  // Back: no change is committed, and the store turns healthy.
  backend_.FreeDisk();
  while (!queue_->Healthy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(queue_->Healthy());
  const auto healthy_after = probed();
  auto after = std::make_shared<Seen>();
  queue_->Commit(Noting(after));
  EXPECT_TRUE(after->status.ok()) << after->status.message();
  // Healthy, the writer stops probing: the next batch is the change's.
  std::vector<size_t> sizes = backend_.BatchSizes();
  EXPECT_EQ(sizes.back(), 1u);
  EXPECT_EQ(probed(), healthy_after);
}

TEST_F(CommitQueueTest, AnotherFailureDuringADiskFullEpisodeIsSticky) {
  backend_.FillDisk();
  queue_->Commit(Noting(std::make_shared<Seen>()));
  backend_.FailCommits();
  queue_->Commit(Noting(std::make_shared<Seen>()));
  backend_.FreeDisk();
  auto later = std::make_shared<Seen>();
  queue_->Commit(Noting(later));
  EXPECT_EQ(later->applied_on, std::thread::id());  // refused: the store stopped writing
  EXPECT_FALSE(queue_->Healthy());
}

TEST_F(CommitQueueTest, AStoppedQueueCommitsWhatIsQueuedAndRefusesNewChanges) {
  backend_.HoldNextBatch();
  auto first = std::make_shared<Seen>();
  std::thread committer([&] { queue_->Commit(Noting(first)); });
  ASSERT_TRUE(backend_.WaitHeld());
  auto queued = std::make_shared<Seen>();
  queue_->Commit(Noting(queued, "run_2"));
  std::thread stopper([&] { queue_->Stop(); });
  backend_.Release();
  committer.join();
  stopper.join();
  EXPECT_TRUE(queued->done);
  EXPECT_TRUE(queued->status.ok());
  auto refused = std::make_shared<Seen>();
  queue_->Commit(Noting(refused));
  EXPECT_EQ(refused->status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(CommitNothing().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sw
