// Store conformance: group commit: changes queued while a commit is in progress share
// the next one, and each keeps its own outcome; WhenQueuedWritesCommitted waits for
// what was queued before it. See store_conformance.h.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

// Holds the store's writer in the listener after run_blocker's commit (made in place by
// a thread of its own, which the gate then holds), from construction until the gate is
// released; however the test ends, the thread is let go and joined. REQUIRES:
// run_blocker exists at version 1.
class HeldWriter {
 public:
  HeldWriter(Store& store, WriterGate& gate) : gate_(gate) {
    gate_.Arm("run_blocker");
    thread_ = std::thread([&store] {
      RunTransition blocker;
      blocker.run_id = "run_blocker";
      blocker.expected_version = 1;
      blocker.now = kT0;
      store.TransitionRunAsync(std::move(blocker), [](Result<int64_t>) {});
    });
  }
  ~HeldWriter() {
    gate_.Release();
    thread_.join();
  }
  HeldWriter(const HeldWriter&) = delete;
  HeldWriter& operator=(const HeldWriter&) = delete;

 private:
  WriterGate& gate_;
  std::thread thread_;
};

TEST_P(StoreConformanceTest, ConcurrentTransitionsCommitAsOneGroup) {
  constexpr int kRuns = 200;
  constexpr int kThreads = 4;
  std::vector<std::string> ids;
  for (int i = 0; i < kRuns; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "run_%03d", i);
    ids.push_back(id);
  }
  // Created before the others, so its creation's listener call is long over when the
  // gate is armed for it.
  ASSERT_TRUE(store_->CreateRun(NewRun("run_blocker"), std::nullopt).ok());
  {
    std::vector<std::thread> creators;
    for (int t = 0; t < kThreads; ++t) {
      creators.emplace_back([&, t] {
        for (int i = t; i < kRuns; i += kThreads) {
          EXPECT_TRUE(store_->CreateRun(NewRun(ids[i]), std::nullopt).ok());
        }
      });
    }
    for (std::thread& t : creators) {
      t.join();
    }
  }

  // Hold the writer, queue everything, then let it go: the whole queue is one batch.
  HeldWriter held(*store_, gate_);
  ASSERT_TRUE(gate_.WaitEntered());
  const Store::Stats before = store_->GetStats();

  // Shared with the callbacks, which run on the writer thread and could outlive this
  // frame if an assertion below returned early.
  struct Outcomes {
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;  // guarded by mu
    // guarded by mu
    std::vector<Result<int64_t>> results =
        std::vector<Result<int64_t>>(kRuns, Result<int64_t>(int64_t{0}));
    std::optional<Result<int64_t>> stale;  // guarded by mu
  };
  auto out = std::make_shared<Outcomes>();
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < kRuns; i += kThreads) {
        RunTransition tr;
        tr.run_id = ids[i];
        tr.expected_version = 1;
        tr.expected_status = RunStatus::kPending;
        tr.next_status = RunStatus::kRunning;
        tr.upsert_steps = {MakeStep("a", StepStatus::kCompleted)};
        tr.now = kT0 + i;
        store_->TransitionRunAsync(std::move(tr), [out, i](Result<int64_t> r) {
          std::lock_guard lock(out->mu);
          out->results[i] = std::move(r);
          ++out->done;
          out->cv.notify_all();
        });
      }
    });
  }
  for (std::thread& t : senders) {
    t.join();
  }
  // Queued after run_000's transition in the same batch: it loses, and only it rolls back.
  RunTransition stale;
  stale.run_id = ids[0];
  stale.expected_version = 1;
  stale.next_status = RunStatus::kFailed;
  stale.now = kT0;
  store_->TransitionRunAsync(std::move(stale), [out](Result<int64_t> r) {
    std::lock_guard lock(out->mu);
    out->stale = std::move(r);
    ++out->done;
    out->cv.notify_all();
  });
  gate_.Release();
  std::unique_lock lock(out->mu);
  ASSERT_TRUE(
      out->cv.wait_for(lock, std::chrono::seconds(10), [&] { return out->done == kRuns + 1; }));

  for (int i = 0; i < kRuns; ++i) {
    ASSERT_TRUE(out->results[i].ok()) << ids[i] << ": " << out->results[i].status().message();
    EXPECT_EQ(*out->results[i], 2);
  }
  ASSERT_TRUE(out->stale.has_value());
  EXPECT_EQ(out->stale->status().code(), StatusCode::kAborted);
  lock.unlock();

  const Store::Stats after = store_->GetStats();
  EXPECT_EQ(after.writes - before.writes, uint64_t{kRuns + 1});
  EXPECT_EQ(after.commits - before.commits, 1u);
  EXPECT_GE(after.batch_size_max, uint64_t{kRuns + 1});
  EXPECT_LT(after.commits, after.writes);
  EXPECT_EQ(after.steps_committed - before.steps_committed, uint64_t{kRuns});

  const std::set<std::string> changed = Changed();
  for (const std::string& id : ids) {
    EXPECT_TRUE(changed.contains(id)) << id;
    Result<RunRecord> run = store_->GetRun(id, true);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->status, RunStatus::kRunning);
    EXPECT_EQ(run->version, 2);
    EXPECT_EQ(run->steps.size(), 1u);
  }
}

TEST_P(StoreConformanceTest, WhenQueuedWritesCommittedFollowsTheWritesQueuedBefore) {
  for (const char* id : {"run_blocker", "run_a", "run_b", "run_c"}) {
    ASSERT_TRUE(store_->CreateRun(NewRun(id), std::nullopt).ok());
  }
  // Nothing queued: at once, on this thread.
  const std::thread::id here = std::this_thread::get_id();
  std::optional<std::thread::id> called_on;
  store_->WhenQueuedWritesCommitted([&] { called_on = std::this_thread::get_id(); });
  ASSERT_TRUE(called_on.has_value());
  EXPECT_EQ(*called_on, here);

  // The writer held after the blocker's commit; a and b queued, then the call, then c.
  HeldWriter held(*store_, gate_);
  ASSERT_TRUE(gate_.WaitEntered());
  struct Seen {
    std::mutex mu;
    std::condition_variable cv;
    std::set<std::string> committed;               // guarded by mu
    std::optional<std::set<std::string>> at_call;  // guarded by mu: committed when called
  };
  auto seen = std::make_shared<Seen>();
  auto transition = [&](const std::string& id) {
    RunTransition t;
    t.run_id = id;
    t.expected_version = 1;
    t.next_status = RunStatus::kRunning;
    t.now = kT0 + 1;
    store_->TransitionRunAsync(std::move(t), [seen, id](Result<int64_t> r) {
      EXPECT_TRUE(r.ok()) << id;
      std::lock_guard lock(seen->mu);
      seen->committed.insert(id);
      seen->cv.notify_all();
    });
  };
  transition("run_a");
  transition("run_b");
  store_->WhenQueuedWritesCommitted([seen] {
    std::lock_guard lock(seen->mu);
    seen->at_call = seen->committed;
    seen->cv.notify_all();
  });
  transition("run_c");
  {
    std::lock_guard lock(seen->mu);
    EXPECT_FALSE(seen->at_call.has_value());  // the writer is held
  }
  gate_.Release();
  std::unique_lock lock(seen->mu);
  ASSERT_TRUE(seen->cv.wait_for(lock, std::chrono::seconds(10), [&] {
    return seen->at_call.has_value() && seen->committed.size() == 3;
  }));
  EXPECT_EQ(*seen->at_call, (std::set<std::string>{"run_a", "run_b"}));
}

}  // namespace
}  // namespace sw::store_test
