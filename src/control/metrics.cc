#include "control/metrics.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <set>
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
  out.engine = engine_.counters().Get();
  out.engine_queue = engine_.QueuedWork();
  out.timers_pending = engine_.PendingTimers();
  ReadBreakdown(out);
  return out;
}

void ServerMetrics::ReadBreakdown(MetricsSnapshot& out) {
  std::lock_guard lock(breakdown_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (breakdown_at_.time_since_epoch().count() == 0 ||
      now - breakdown_at_ >= std::chrono::milliseconds(kBreakdownMaxAgeMs)) {
    MetricsSnapshot fresh;
    for (const char* reason : {"throughput_cap", "spend_cap"}) {
      fresh.workflows_held[reason] = 0;
    }
    if (auto holds = store_.CountWorkflowHolds(); holds.ok()) {
      for (const auto& [reason, n] : *holds) {
        fresh.workflows_held[reason] += n;
      }
    }
    if (auto active = store_.CountActiveRuns(); active.ok()) {
      std::map<std::string, int64_t> per_workflow;
      for (const ActiveRunCount& c : *active) {
        per_workflow[c.workflow_id] += c.count;
      }
      // The workflows with the most active runs keep their label.
      std::vector<std::pair<int64_t, std::string>> ranked;
      for (const auto& [wf, n] : per_workflow) {
        ranked.emplace_back(-n, wf);
      }
      std::sort(ranked.begin(), ranked.end());
      std::set<std::string> labelled;
      for (size_t i = 0; i < ranked.size() && i < kMaxWorkflowLabels; ++i) {
        labelled.insert(ranked[i].second);
      }
      for (const ActiveRunCount& c : *active) {
        const std::string label =
            labelled.contains(c.workflow_id) ? c.workflow_id : EngineCounters::kOtherLabel;
        fresh.active_by_workflow[{label, c.status}] += c.count;
        if (c.status == RunStatus::kPaused) {
          fresh.runs_held[c.pause_reason.empty() ? "operator" : c.pause_reason] += c.count;
        } else if (c.status == RunStatus::kWaiting && !c.wait_kind.empty()) {
          fresh.runs_waiting[c.wait_kind] += c.count;
        }
      }
    }
    breakdown_ = std::move(fresh);
    breakdown_at_ = now;
  }
  out.active_by_workflow = breakdown_.active_by_workflow;
  out.runs_held = breakdown_.runs_held;
  out.runs_waiting = breakdown_.runs_waiting;
  out.workflows_held = breakdown_.workflows_held;
}

}  // namespace sw
