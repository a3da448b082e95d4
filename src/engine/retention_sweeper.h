// RetentionSweeper deletes the finished runs that are past their workspace's retention
// limits (Store::DeleteExpiredRuns), in batches of `batch` runs, each batch one short
// commit of its own: the store's one writer takes other changes between two batches,
// so a large backlog never holds up the hot path for more than one batch. It sweeps
// when poked (the limits changed; the fake clock moved) and at least every `interval_ms`
// of real time; time is the engine's Clock, so `--fake-clock` moves retention too.
//
// Several instances on one store may each sweep: a run deleted by one is gone for the
// other's batch, which deletes what is left (the deletes re-check every run).
//
// Thread-safe. Owns one thread; borrows the store and the clock, which outlive it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "engine/clock.h"
#include "store/store.h"

namespace sw {

struct RetentionOptions {
  int batch = 100;               // runs per commit
  int max_batches = 10'000;      // per sweep; the next sweep goes on
  int64_t interval_ms = 60'000;  // the longest wait between two sweeps (real time)
};

class RetentionSweeper {
 public:
  RetentionSweeper(Store& store, const Clock& clock, RetentionOptions options = {});
  ~RetentionSweeper();
  RetentionSweeper(const RetentionSweeper&) = delete;
  RetentionSweeper& operator=(const RetentionSweeper&) = delete;

  void Start();
  // Ends the sweep under way after its batch; joins the thread.
  void Stop();
  // Sweeps soon (on the sweeper's thread).
  void Poke();

  // One sweep on the caller's thread: batches until none is left (or max_batches).
  // Answers how many runs it deleted.
  Result<int64_t> SweepOnce();

 private:
  void Loop();

  Store& store_;
  const Clock& clock_;
  const RetentionOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace sw
