// ServerMetrics reads what /healthz and /metrics report about the server below the
// API: whether the store still commits, runs by status, the store's commit counters,
// how late timers fire and how many runs the engine holds. The API renders it. It also
// decides who may read /metrics: the holder of the metrics token given at start, or
// anyone when the server was started with --public-metrics.
//
// Thread-safe. Borrows the store and the engine, which outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
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

// Who may read /metrics. Without a token and not public, nobody may: the counts of
// every workspace are the operator's, not any workspace's.
struct MetricsAccess {
  std::string token;  // the metrics token given at start; empty: none
  bool public_access = false;
};

class ServerMetrics {
 public:
  ServerMetrics(Store& store, Engine& engine, MetricsAccess access = {})
      : store_(store), engine_(engine), access_(std::move(access)) {}

  // OK when the bearer secret `presented` ("" when none) may read /metrics, else
  // kUnauthenticated. The token is compared in constant time.
  Status AuthorizeReader(std::string_view presented) const;

  // False once a commit failed (the store stops writing).
  bool Healthy() const { return store_.Healthy(); }
  MetricsSnapshot Snapshot();

 private:
  Store& store_;
  Engine& engine_;
  const MetricsAccess access_;
};

}  // namespace sw
