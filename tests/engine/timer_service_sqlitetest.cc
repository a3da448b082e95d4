// TimerService over a real SqliteStore in a temporary directory, with a ManualClock.
// Timers come from the store (rows written through TransitionRun, as the engine writes
// them) and from Add (the engine's shortcut for a timer it just stored). A fired timer
// is deleted from the store before the fire is recorded, as the engine's wake-up
// commit deletes it (see Retire).
//
// No test waits for time to pass. A test moves the clock and pokes the service, then
// waits for a fire it expects (bounded), or settles the service to check that nothing
// fired: Settle() adds two barrier timers due now and waits for both. Timers fire in due
// order on the service's one thread, so once the second barrier has fired, the batch
// the first one was in has fired completely; anything due by now has fired, and
// anything not fired was not due.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/timer_service.h"
#include "store/sqlite/sqlite_store.h"

namespace sw {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr char kBarrierPrefix[] = "barrier-";
// Bounds waits for a fire, so a broken build fails instead of hanging.
constexpr auto kWaitLimit = std::chrono::seconds(5);

// Records every fire, in order. Thread-safe: the service fires on its own thread.
class FireLog {
 public:
  void Record(const TimerRecord& timer) {
    {
      std::lock_guard lock(mu_);
      fired_.push_back(timer);
    }
    cv_.notify_all();
  }

  // Waits until `run_id` has fired `times` times (bounded).
  bool WaitFor(const std::string& run_id, size_t times = 1) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWaitLimit, [&] { return CountLocked(run_id) >= times; });
  }

  // The fires of timers other than barriers, in order.
  std::vector<TimerRecord> Fired() {
    std::lock_guard lock(mu_);
    std::vector<TimerRecord> out;
    for (const TimerRecord& t : fired_) {
      if (t.run_id.rfind(kBarrierPrefix, 0) != 0) {
        out.push_back(t);
      }
    }
    return out;
  }

  size_t Count() {
    std::lock_guard lock(mu_);
    return fired_.size();
  }

  // Waits until `n` timers have fired in all (bounded).
  bool WaitForCount(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWaitLimit, [&] { return fired_.size() >= n; });
  }

 private:
  size_t CountLocked(const std::string& run_id) const {
    size_t n = 0;
    for (const TimerRecord& t : fired_) {
      n += t.run_id == run_id ? 1 : 0;
    }
    return n;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TimerRecord> fired_;  // guarded by mu_
};

std::vector<std::string> RunIds(const std::vector<TimerRecord>& timers) {
  std::vector<std::string> ids;
  for (const TimerRecord& t : timers) {
    ids.push_back(t.run_id);
  }
  return ids;
}

class TimerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw_timers_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
    // Not started: a test stores what should be there at start first.
    service_ = std::make_unique<TimerService>(*store_, clock_, [this](const TimerRecord& t) {
      Retire(t);
      log_.Record(t);
    });
  }

  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A waiting run `run_id` with one timer in the store, as the engine parks a run.
  void StoreTimer(const std::string& run_id, int64_t due_at) {
    RunRecord run;
    run.id = run_id;
    run.workspace_id = "ws_1";
    run.workflow_id = "wf";
    run.workflow_version = 1;
    run.created_at = run.updated_at = kStartMs;
    Result<CreateRunResult> created = store_->CreateRun(run, std::nullopt);
    ASSERT_TRUE(created.ok()) << created.status().message();
    RunTransition t;
    t.run_id = run_id;
    t.expected_version = created->run.version;
    t.next_status = RunStatus::kWaiting;
    t.now = clock_.NowMs();
    t.add_timers.push_back(Timer(run_id, due_at));
    Result<int64_t> committed = store_->TransitionRun(std::move(t));
    ASSERT_TRUE(committed.ok()) << committed.status().message();
  }

  // Deletes the run's timers from the store, as the commit of its wake-up or cancel does.
  void DeleteTimers(const std::string& run_id) {
    Result<RunRecord> run = store_->GetRun(run_id, false);
    ASSERT_TRUE(run.ok()) << run.status().message();
    RunTransition t;
    t.run_id = run_id;
    t.expected_version = run->version;
    t.clear_timers = true;
    t.now = clock_.NowMs();
    Result<int64_t> committed = store_->TransitionRun(std::move(t));
    ASSERT_TRUE(committed.ok()) << committed.status().message();
  }

  // On the service's thread, for a fired timer that is in the store. The engine hands
  // its wake-up commit off (and tolerates the timer firing again until that commit
  // deletes it); committing here, before the service goes on, keeps a later refresh
  // from finding a timer that has already fired, so a test can count fires exactly.
  void Retire(const TimerRecord& timer) {
    if (store_->GetRun(timer.run_id, false).ok()) {
      DeleteTimers(timer.run_id);
    }
  }

  static TimerRecord Timer(const std::string& run_id, int64_t due_at) {
    return TimerRecord{run_id, TimerKind::kWake, "nap", due_at};
  }

  void AdvanceAndPoke(int64_t ms) {
    clock_.Advance(ms);
    service_->Poke();
  }

  // Returns once everything due by now has fired (see the top of this file).
  void Settle() {
    for (int i = 0; i < 2; ++i) {
      const std::string id = kBarrierPrefix + std::to_string(++barriers_);
      service_->Add(Timer(id, clock_.NowMs()));
      ASSERT_TRUE(log_.WaitFor(id)) << "barrier " << id << " did not fire";
    }
  }

  std::string dir_;
  ManualClock clock_{kStartMs};
  std::unique_ptr<SqliteStore> store_;
  FireLog log_;
  std::unique_ptr<TimerService> service_;
  int barriers_ = 0;
};

TEST_F(TimerServiceTest, TimerFiresWhenTheClockReachesItsDueTime) {
  service_->Start();
  StoreTimer("run-1", kStartMs + 10 * kMinute);
  service_->Add(Timer("run-1", kStartMs + 10 * kMinute));
  Settle();
  EXPECT_TRUE(log_.Fired().empty());

  AdvanceAndPoke(10 * kMinute - 1);
  Settle();
  EXPECT_TRUE(log_.Fired().empty()) << "fired 1 ms early";

  AdvanceAndPoke(1);
  ASSERT_TRUE(log_.WaitFor("run-1"));
  std::vector<TimerRecord> fired = log_.Fired();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].run_id, "run-1");
  EXPECT_EQ(fired[0].kind, TimerKind::kWake);
  EXPECT_EQ(fired[0].path, "nap");
  EXPECT_EQ(fired[0].due_at, kStartMs + 10 * kMinute);
}

TEST_F(TimerServiceTest, StoredTimerThatCameDueBeforeStartFiresAtOnce) {
  StoreTimer("run-late", kStartMs - kHour);
  service_->Start();  // no clock move, no poke: the first refresh finds it
  ASSERT_TRUE(log_.WaitFor("run-late"));
  EXPECT_EQ(log_.Fired()[0].due_at, kStartMs - kHour);
}

TEST_F(TimerServiceTest, StoredTimerBeyondTheHorizonFiresWhenTheClockComesNear) {
  StoreTimer("run-far", kStartMs + kHour);
  service_->Start();
  Settle();
  AdvanceAndPoke(kHour - TimerService::kHorizonMs - 1);
  Settle();
  EXPECT_TRUE(log_.Fired().empty());

  AdvanceAndPoke(TimerService::kHorizonMs + 1);
  ASSERT_TRUE(log_.WaitFor("run-far"));
  EXPECT_EQ(RunIds(log_.Fired()), std::vector<std::string>{"run-far"});
}

TEST_F(TimerServiceTest, TimerStoredWhileRunningIsFoundByThePeriodicRefresh) {
  service_->Start();
  Settle();
  // Stored without Add or Poke: only the refresh every kRefreshMs (of the clock) finds it.
  StoreTimer("run-quiet", kStartMs + 2 * TimerService::kRefreshMs);
  clock_.Advance(2 * TimerService::kRefreshMs);
  ASSERT_TRUE(log_.WaitFor("run-quiet"));
}

TEST_F(TimerServiceTest, DueTimersFireInDueOrder) {
  StoreTimer("run-stored", kStartMs + 20);
  service_->Start();
  service_->Add(Timer("run-third", kStartMs + 30));
  service_->Add(Timer("run-first", kStartMs + 10));
  AdvanceAndPoke(kMinute);
  ASSERT_TRUE(log_.WaitFor("run-third"));
  Settle();
  EXPECT_EQ(RunIds(log_.Fired()),
            (std::vector<std::string>{"run-first", "run-stored", "run-third"}));
}

TEST_F(TimerServiceTest, TimerBothStoredAndAddedFiresOnce) {
  StoreTimer("run-1", kStartMs + kMinute);
  service_->Start();
  // The engine stores a timer and adds it; the service may already hold it.
  service_->Add(Timer("run-1", kStartMs + kMinute));
  AdvanceAndPoke(kMinute);
  ASSERT_TRUE(log_.WaitFor("run-1"));
  AdvanceAndPoke(TimerService::kRefreshMs);
  Settle();
  EXPECT_EQ(log_.Fired().size(), 1u);
}

TEST_F(TimerServiceTest, TimerDeletedFromTheStoreBeforeItCameNearNeverFires) {
  StoreTimer("run-cancelled", kStartMs + kHour);
  StoreTimer("run-kept", kStartMs + kHour);
  service_->Start();
  DeleteTimers("run-cancelled");  // e.g. the run was cancelled while it slept
  AdvanceAndPoke(2 * kHour);
  ASSERT_TRUE(log_.WaitFor("run-kept"));
  Settle();
  EXPECT_EQ(RunIds(log_.Fired()), std::vector<std::string>{"run-kept"});
}

TEST_F(TimerServiceTest, TimersBeyondTheMemoryBoundFireAtALaterRefresh) {
  service_->Start();
  for (int i = 0; i < TimerService::kMaxLoaded; ++i) {
    service_->Add(Timer("run-" + std::to_string(i), kStartMs + 1));
  }
  // Memory is full: this one is left in the store for a later refresh.
  StoreTimer("run-extra", kStartMs + 1);
  service_->Add(Timer("run-extra", kStartMs + 1));
  AdvanceAndPoke(1);
  ASSERT_TRUE(log_.WaitForCount(TimerService::kMaxLoaded));
  EXPECT_EQ(log_.Count(), static_cast<size_t>(TimerService::kMaxLoaded));
  service_->Poke();
  ASSERT_TRUE(log_.WaitFor("run-extra"));
  EXPECT_EQ(log_.Count(), static_cast<size_t>(TimerService::kMaxLoaded) + 1);
}

TEST_F(TimerServiceTest, NothingFiresAfterStop) {
  service_->Start();
  service_->Add(Timer("run-1", kStartMs + 1));
  service_->Stop();  // joins the thread
  AdvanceAndPoke(kMinute);
  EXPECT_EQ(log_.Count(), 0u);
  service_->Stop();  // a second Stop (and the destructor's) does nothing
}

}  // namespace
}  // namespace sw
