// The throughput breaker: per workflow, the runs started and step attempts dispatched
// over the last minute (core/workflow_safety.h's DispatchWindow), and whether the
// workflow is held (`paused_safety`). The engine asks Admit before each dispatch, in
// memory: the store is read once per workflow (its hold, when the breaker is first
// needed), never per step. A dispatch that would exceed a limit trips the breaker; the
// engine then records the trip in the store. While held, every run that tries to
// dispatch is noted, so Release can drive them again.
//
// Thread-safe: each WorkflowBreaker guards itself; ThroughputBreakers guards its map.
// Breakers live as long as the ThroughputBreakers that made them (shared with the runs
// being driven).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/workflow_safety.h"
#include "store/store.h"

namespace sw {

// The limits a dispatch is counted against; 0: no limit.
struct ThroughputLimits {
  int64_t max_runs_per_minute = 0;
  int64_t max_steps_per_minute = 0;
};

class WorkflowBreaker {
 public:
  enum class Verdict {
    kDispatch,  // counted; go on
    kHeld,      // the workflow is held: the run waits for Release
    kTrip,      // this dispatch tripped the breaker (one caller per trip): record it
  };

  // `held_for`: the reason of the stored workflow's safety hold; "" when it has none.
  explicit WorkflowBreaker(std::string held_for) : held_for_(std::move(held_for)) {}

  // Before `run_id` dispatches a step attempt at `now` (`starts_run`: its first, so the
  // run starts too). Counts the dispatch when it is made.
  Verdict Admit(const std::string& run_id, bool starts_run, int64_t now,
                const ThroughputLimits& limits);
  // Whether `run_id` may go on without dispatching (a replayed run, a timer): not
  // while held, and then the run is noted for Release.
  bool MayProceed(const std::string& run_id);
  // Holds the workflow for `reason`, decided outside the breaker (the spend cap), and
  // notes `run_id` for Release. Answers false when it was held already.
  bool Hold(std::string_view reason, const std::string& run_id);
  bool Held() const;
  // The reason of the hold (core/workflow_safety.h), or "" when not held.
  std::string HeldFor() const;
  // Ends the hold and starts fresh windows; answers the runs that waited for it.
  std::vector<std::string> Release();
  // Several instances: a count of this breaker's own changes of its hold (a trip, a
  // Hold, a Release), read before the store's hold is.
  uint64_t Epoch() const;
  // Several instances: takes the hold as the store has it (`held_for`, "" for none),
  // read after Epoch() answered `epoch`, unless the hold changed here since (a trip
  // recorded after that read must not be undone by it). Answers the runs to drive
  // again when it ended the hold.
  std::vector<std::string> Sync(const std::string& held_for, uint64_t epoch);
  // Dispatches counted in the window ending at `now` (tests, the bench).
  int64_t StepsInWindow(int64_t now);

 private:
  std::vector<std::string> ReleaseLocked();  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  std::string held_for_;                // guarded by mu_; "" when not held
  uint64_t epoch_ = 0;                  // guarded by mu_
  DispatchWindow runs_;                 // guarded by mu_
  DispatchWindow steps_;                // guarded by mu_
  std::set<std::string> waiting_runs_;  // guarded by mu_
};

class ThroughputBreakers {
 public:
  explicit ThroughputBreakers(Store& store) : store_(store) {}

  // The workflow's breaker; the first call reads the workflow's hold from the store.
  Result<std::shared_ptr<WorkflowBreaker>> For(const std::string& workspace_id,
                                               const std::string& workflow_id);
  // Without reading the store: null when the breaker was not needed yet.
  std::shared_ptr<WorkflowBreaker> Find(const std::string& workspace_id,
                                        const std::string& workflow_id) const;
  struct Entry {
    WorkflowRef workflow;
    std::shared_ptr<WorkflowBreaker> breaker;
  };
  // Every breaker made so far.
  std::vector<Entry> All() const;

 private:
  static std::string Key(const std::string& workspace_id, const std::string& workflow_id) {
    return workspace_id + "/" + workflow_id;
  }

  Store& store_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> by_workflow_;  // guarded by mu_
};

}  // namespace sw
