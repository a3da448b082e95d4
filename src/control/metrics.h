// ServerMetrics reads what /healthz and /metrics report about the server below the
// API: whether the store still commits, runs by status, the store's commit counters,
// how late timers fire and how many runs the engine holds. The API renders it.
//
// Thread-safe. Borrows the store and the engine, which outlive it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/run_status.h"
#include "engine/engine.h"
#include "store/store.h"

namespace sw {

struct MetricsSnapshot {
  // Every status, in kAllRunStatuses order (0 when the count could not be read).
  std::vector<std::pair<RunStatus, int64_t>> runs_by_status;
  // active, disabled, paused_safety, in that order (0 when the count could not be read).
  std::vector<std::pair<std::string, int64_t>> workflows_by_status;
  Store::Stats store;
  TimerLagStats timer_lag;
  size_t active_runs = 0;
};

class ServerMetrics {
 public:
  ServerMetrics(Store& store, Engine& engine) : store_(store), engine_(engine) {}

  // False once a commit failed (the store stops writing).
  bool Healthy() const { return store_.Healthy(); }
  MetricsSnapshot Snapshot();

 private:
  Store& store_;
  Engine& engine_;
};

}  // namespace sw
