// GET /metrics: the Prometheus text exposition of ServerMetrics' snapshot and the HTTP
// server's request latency, for the holder of the metrics token (ServerMetrics decides).
// A workspace's token, however high its role, is refused with 403.

#include "api/routes.h"

namespace sw::routes {

namespace {

std::string RunAndStoreMetrics(const MetricsSnapshot& m) {
  std::string out = "# HELP stepwell_runs Runs by status.\n# TYPE stepwell_runs gauge\n";
  for (const auto& [status, n] : m.runs_by_status) {
    out += "stepwell_runs{status=\"" + std::string(ToString(status)) + "\"} " + std::to_string(n) +
           "\n";
  }
  out += "# HELP stepwell_workflows Workflows by shown status.\n# TYPE stepwell_workflows gauge\n";
  for (const auto& [status, n] : m.workflows_by_status) {
    out += "stepwell_workflows{status=\"" + status + "\"} " + std::to_string(n) + "\n";
  }
  out += "# TYPE stepwell_steps_committed_total counter\nstepwell_steps_committed_total " +
         std::to_string(m.store.steps_committed) + "\n";
  out += "# TYPE stepwell_store_commits_total counter\nstepwell_store_commits_total " +
         std::to_string(m.store.commits) + "\n";
  out +=
      "# HELP stepwell_commit_batch_size Changes per store transaction.\n"
      "# TYPE stepwell_commit_batch_size histogram\n";
  const char* bounds[] = {"1", "4", "16", "64", "256", "+Inf"};
  uint64_t cumulative = 0;
  for (int i = 0; i < 6; ++i) {
    cumulative += m.store.batch_buckets[i];
    out += "stepwell_commit_batch_size_bucket{le=\"" + std::string(bounds[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += "stepwell_commit_batch_size_sum " + std::to_string(m.store.batch_size_sum) + "\n";
  out += "stepwell_commit_batch_size_count " + std::to_string(m.store.commits) + "\n";
  out +=
      "# HELP stepwell_timer_lag_ms How late timers fired.\n# TYPE stepwell_timer_lag_ms "
      "summary\n";
  out += "stepwell_timer_lag_ms_sum " + std::to_string(m.timer_lag.sum_ms) + "\n";
  out += "stepwell_timer_lag_ms_count " + std::to_string(m.timer_lag.count) + "\n";
  out += "stepwell_timer_lag_ms_max " + std::to_string(m.timer_lag.max_ms) + "\n";
  out += "# TYPE stepwell_active_runs gauge\nstepwell_active_runs " +
         std::to_string(m.active_runs) + "\n";
  return out;
}

std::string HttpMetrics(const HttpLatencyStats& h) {
  std::string out = "# TYPE stepwell_http_request_duration_seconds histogram\n";
  const char* le[] = {"0.0005", "0.001", "0.002", "0.005", "0.01", "0.05", "0.25", "+Inf"};
  uint64_t cumulative = 0;
  for (int i = 0; i < HttpLatencyStats::kBuckets; ++i) {
    cumulative += h.buckets[i];
    out += "stepwell_http_request_duration_seconds_bucket{le=\"" + std::string(le[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += "stepwell_http_request_duration_seconds_sum " + std::to_string(h.sum_seconds) + "\n";
  out += "stepwell_http_request_duration_seconds_count " + std::to_string(h.count) + "\n";
  return out;
}

}  // namespace

void Metrics(ApiContext& api, Call& call) {
  const std::string auth = call.req.Header("authorization");
  const std::string presented = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
  if (Status allowed = api.metrics.AuthorizeReader(presented); !allowed.ok()) {
    const bool workspace_caller =
        presented.empty()
            ? api.access.AuthenticateSession(CookieValue(call.req.Header("cookie"), kSessionCookie))
                  .ok()
            : api.access.AuthenticateToken(presented).ok();
    if (workspace_caller) {
      call.Fail(Status(StatusCode::kPermissionDenied,
                       "A workspace's token cannot read /metrics: it needs the metrics token "
                       "given at start",
                       "forbidden"));
      return;
    }
    call.Fail(allowed);
    return;
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = RunAndStoreMetrics(api.metrics.Snapshot());
  if (const HttpServer* server = api.server.load(); server != nullptr) {
    r.body += HttpMetrics(server->Latency());
  }
  call.ex->Respond(std::move(r));
}

}  // namespace sw::routes
