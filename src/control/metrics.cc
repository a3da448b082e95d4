#include "control/metrics.h"

namespace sw {

MetricsSnapshot ServerMetrics::Snapshot() {
  MetricsSnapshot out;
  Result<std::vector<RunStatusCount>> counts = store_.CountRunsByStatus();
  for (RunStatus status : kAllRunStatuses) {
    int64_t n = 0;
    if (counts.ok()) {
      for (const RunStatusCount& c : *counts) {
        if (c.status == status) {
          n = c.count;
        }
      }
    }
    out.runs_by_status.emplace_back(status, n);
  }
  out.store = store_.GetStats();
  out.timer_lag = engine_.GetTimerLag();
  out.active_runs = engine_.ActiveRuns();
  return out;
}

}  // namespace sw
