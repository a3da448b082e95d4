// EngineCounters: what the engine counts for /metrics (api/metrics_routes.cc) beyond the
// store's own figures: step attempts that failed and retries scheduled, by error code,
// and runs that ended, by workflow and status.
//
// Labels are bounded: at most kMaxLabels distinct workflows and kMaxLabels distinct
// codes are kept; the ones after that count under kOtherLabel, so a workspace with many
// workflows (or a step inventing codes) cannot grow the exposition without bound.
//
// Thread-safe; each count is a map lookup under a mutex of its own, taken only when a
// step fails or a run ends.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "core/run_status.h"

namespace sw {

class EngineCounters {
 public:
  static constexpr size_t kMaxLabels = 100;
  static constexpr const char* kOtherLabel = "_other";

  struct Snapshot {
    std::map<std::string, uint64_t> step_failures;                     // by code ("" → "none")
    std::map<std::string, uint64_t> step_retries;                      // by code
    std::map<std::pair<std::string, RunStatus>, uint64_t> runs_ended;  // by workflow, status
  };

  // A step attempt failed with `code`; `retried`: another attempt is scheduled.
  void StepFailed(const std::string& code, bool retried);
  // A run of `workflow_id` ended as `status` (completed, failed or cancelled).
  void RunEnded(const std::string& workflow_id, RunStatus status);

  Snapshot Get() const;

 private:
  // `key` itself while it is known or there is room for it, else kOtherLabel.
  static std::string Bounded(const std::map<std::string, uint64_t>& seen, const std::string& key);

  mutable std::mutex mu_;
  Snapshot counts_;                                // guarded by mu_
  std::map<std::string, uint64_t> workflow_seen_;  // guarded by mu_
};

}  // namespace sw
