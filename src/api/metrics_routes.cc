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

// A label value as the exposition format writes it: backslash, quote and newline escaped.
std::string LabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// One metric family: `# TYPE` and a sample per labelled value.
template <typename Map, typename Labels>
std::string Family(const char* name, const char* type, const char* help, const Map& values,
                   Labels labels) {
  std::string out =
      std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  for (const auto& [key, n] : values) {
    out += std::string(name) + "{" + labels(key) + "} " + std::to_string(n) + "\n";
  }
  return out;
}

std::string LabelledMetrics(const MetricsSnapshot& m) {
  auto one = [](const char* label) {
    return
        [label](const std::string& v) { return std::string(label) + "=\"" + LabelValue(v) + "\""; };
  };
  auto workflow_status = [](const std::pair<std::string, RunStatus>& k) {
    return "workflow=\"" + LabelValue(k.first) + "\",status=\"" + std::string(ToString(k.second)) +
           "\"";
  };
  std::string out;
  out += Family("stepwell_runs_ended_total", "counter",
                "Runs that ended here since the start, by workflow and status.",
                m.engine.runs_ended, workflow_status);
  out += Family("stepwell_step_failures_total", "counter",
                "Step attempts that failed since the start, by error code.", m.engine.step_failures,
                one("code"));
  out += Family("stepwell_step_retries_total", "counter",
                "Retries scheduled after a failed attempt, by error code.", m.engine.step_retries,
                one("code"));
  out += Family("stepwell_active_runs_by_workflow", "gauge",
                "Runs not finished, by workflow and status (at most 5 s old).",
                m.active_by_workflow, workflow_status);
  out += Family("stepwell_runs_held", "gauge", "Paused runs by pause reason (at most 5 s old).",
                m.runs_held, one("reason"));
  out += Family("stepwell_runs_waiting", "gauge", "Waiting runs by wait kind (at most 5 s old).",
                m.runs_waiting, one("kind"));
  out += Family("stepwell_workflows_held", "gauge",
                "Workflows held for safety by reason (at most 5 s old).", m.workflows_held,
                one("reason"));
  out +=
      "# HELP stepwell_store_queue_depth Changes waiting for the store's writer.\n"
      "# TYPE stepwell_store_queue_depth gauge\nstepwell_store_queue_depth " +
      std::to_string(m.store.queued) + "\n";
  out +=
      "# HELP stepwell_engine_queue_depth Work waiting for the engine's threads.\n"
      "# TYPE stepwell_engine_queue_depth gauge\nstepwell_engine_queue_depth " +
      std::to_string(m.engine_queue) + "\n";
  out +=
      "# HELP stepwell_timers_pending Timers held in memory.\n"
      "# TYPE stepwell_timers_pending gauge\nstepwell_timers_pending " +
      std::to_string(m.timers_pending) + "\n";
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
  const MetricsSnapshot snapshot = api.metrics.Snapshot();
  r.body = RunAndStoreMetrics(snapshot) + LabelledMetrics(snapshot);
  if (const HttpServer* server = api.server.load(); server != nullptr) {
    r.body += HttpMetrics(server->Latency());
  }
  call.ex->Respond(std::move(r));
}

}  // namespace sw::routes
