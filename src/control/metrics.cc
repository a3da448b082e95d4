#include "control/metrics.h"

#include <sodium.h>

#include <map>
#include <string>

namespace sw {

Status ServerMetrics::AuthorizeReader(std::string_view presented) const {
  if (access_.public_access) {
    return Status::Ok();
  }
  if (presented.empty()) {
    return Status(StatusCode::kUnauthenticated, "GET /metrics needs the metrics token",
                  "unauthorized");
  }
  // Lengths differ only for a wrong token; the comparison of equal lengths takes the
  // same time wherever the first difference is.
  const bool matches = !access_.token.empty() && presented.size() == access_.token.size() &&
                       sodium_memcmp(presented.data(), access_.token.data(), presented.size()) == 0;
  if (!matches) {
    return Status(StatusCode::kUnauthenticated,
                  access_.token.empty() ? "This server has no metrics token: /metrics is closed"
                                        : "Invalid metrics token",
                  "unauthorized");
  }
  return Status::Ok();
}

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
  Result<std::vector<std::pair<std::string, int64_t>>> workflows = store_.CountWorkflowsByStatus();
  std::map<std::string, int64_t> by_shown;
  if (workflows.ok()) {
    by_shown.insert(workflows->begin(), workflows->end());
  }
  for (const char* status : {"active", "disabled", "paused_safety"}) {
    out.workflows_by_status.emplace_back(status, by_shown[status]);
  }
  out.store = store_.GetStats();
  out.timer_lag = engine_.GetTimerLag();
  out.active_runs = engine_.ActiveRuns();
  return out;
}

}  // namespace sw
