// TimerService fires the durable timers of parked runs. Timers are rows in the store
// with a due time; only those due within kHorizonMs are held in memory (a min-heap),
// so a million parked runs cost disk, not RAM or CPU. It refreshes from the store
// every kRefreshMs, and the engine adds a new near timer directly (Add), so a short
// sleep does not wait for a refresh. Timers that came due while the server was down
// are found by the first refresh and fire at once.
//
// Delivery is at least once: a fired timer stays in the store until the commit that
// acts on it deletes it, so a refresh in between can fire it again. The engine decides
// every fire on the run as stored (DecideTimer), so a second fire changes nothing. An
// added timer beyond the horizon is held only by the store (its next refresh finds it).
//
// Thread-safe. Owns one thread; `fire` runs on it and must only hand work off.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/clock.h"
#include "store/store.h"

namespace sw {

class TimerService {
 public:
  static constexpr int64_t kHorizonMs = 5000;
  static constexpr int64_t kRefreshMs = 1000;
  static constexpr int kMaxLoaded = 10000;  // bound on timers held in memory

  using FireFn = std::function<void(const TimerRecord&)>;
  TimerService(Store& store, const Clock& clock, FireFn fire);
  ~TimerService();

  void Start();
  void Stop();

  // A timer the engine just stored; held in memory if it is near.
  void Add(const TimerRecord& timer);
  // Wakes the thread: the clock moved (fake clock) or a refresh is wanted.
  void Poke();
  // Timers held in memory (due within the loaded window).
  size_t Pending() const;

 private:
  struct Later {
    bool operator()(const TimerRecord& a, const TimerRecord& b) const {
      return a.due_at > b.due_at;
    }
  };
  void Loop();
  void Refresh(int64_t now);

  Store& store_;
  const Clock& clock_;
  FireFn fire_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<TimerRecord, std::vector<TimerRecord>, Later> heap_;  // guarded by mu_
  std::set<std::string> loaded_;  // run_id + "/" + kind held in heap_; guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  bool woken_ = false;            // guarded by mu_: the heap changed
  bool refresh_wanted_ = false;   // guarded by mu_: the clock moved
};

}  // namespace sw
