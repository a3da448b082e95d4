// ServerMetrics reads what /healthz and /metrics report about the server below the
// API: whether the store still commits, runs by status, the store's commit counters,
// how late timers fire and how many runs the engine holds. The API renders it. It also
// decides who may read /metrics: the holder of the metrics token given at start, or
// anyone when the server was started with --public-metrics.
//
// Thread-safe. Borrows the store and the engine, which outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
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
  EngineCounters::Snapshot engine;
  size_t engine_queue = 0;    // work posted to the engine's threads, not yet taken
  size_t timers_pending = 0;  // timers held in memory
  // Read from the store at most every kBreakdownMaxAgeMs (a scrape is cheap then):
  // runs not finished by workflow (the kMaxWorkflowLabels workflows with the most; the
  // rest under "_other") and status; paused runs by pause reason; waiting runs by wait
  // kind; workflows held for safety by reason (every reason listed, 0 included).
  std::map<std::pair<std::string, RunStatus>, int64_t> active_by_workflow;
  std::map<std::string, int64_t> runs_held;
  std::map<std::string, int64_t> runs_waiting;
  std::map<std::string, int64_t> workflows_held;
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

  static constexpr int64_t kBreakdownMaxAgeMs = 5000;
  static constexpr size_t kMaxWorkflowLabels = 100;

 private:
  // Fills the store-read breakdown of `out`, from the cache while it is fresh.
  void ReadBreakdown(MetricsSnapshot& out);

  Store& store_;
  Engine& engine_;
  const MetricsAccess access_;
  std::mutex breakdown_mu_;
  MetricsSnapshot breakdown_;                           // guarded by breakdown_mu_
  std::chrono::steady_clock::time_point breakdown_at_;  // guarded by breakdown_mu_
};

}  // namespace sw
