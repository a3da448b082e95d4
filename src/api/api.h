// Api maps HTTP requests to the control layer: routing, authentication (bearer token
// or the UI's session cookie), role checks, JSON in and out, long-polls and the SSE
// stream. It holds no rules of its own: decisions are the control layer's and core's.
//
// Thread-safe; Handle runs on the HTTP server's threads.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "api/http_types.h"
#include "api/static_files.h"
#include "control/run_watch.h"
#include "control/service.h"
#include "engine/agent_queue.h"
#include "engine/worker_pool.h"

namespace sw {

struct ApiOptions {
  size_t max_body_bytes = 1 << 20;
  int max_json_depth = 64;
  int64_t session_ttl_ms = 24LL * 3600 * 1000;
  int64_t max_wait_ms = 60000;
  int64_t sse_keepalive_ms = 15000;
  std::string ui_dir;  // the web UI's build (web/dist); empty serves none
};

class Api {
 public:
  // `manual_clock` is set only with --fake-clock (enables the testing route).
  Api(ControlService& control, Store& store, Engine& engine, AgentQueue& agents, RunWatch& watch,
      const Clock& clock, ManualClock* manual_clock, ApiOptions options);

  void Handle(std::shared_ptr<Exchange> ex);
  // Where /metrics reads the HTTP latency from; set once the server exists.
  // Waits for script invocations in progress (their http steps end when the HTTP
  // client stops) and takes no more. Before the HTTP server and the store go.
  void Stop() { scripts_.Stop(); }
  void SetServer(const HttpServer* server) { server_ = server; }

 private:
  struct Call;  // one request being handled

  void Route(Call& call);
  void RouteRuns(Call& call, const std::vector<std::string>& seg);
  void RouteWorkflows(Call& call, const std::vector<std::string>& seg);
  void RouteTokens(Call& call, const std::vector<std::string>& seg);

  void StartRun(Call& call, const std::string& workflow_id, bool trigger);
  void GetRun(Call& call, const std::string& run_id, const std::string& workflow_id);
  void ListRuns(Call& call);
  void ControlRun(Call& call, const std::string& run_id, RunAction action,
                  const std::string& workflow_id);
  void SendEvent(Call& call, const std::string& run_id);
  void StreamRun(Call& call, const std::string& run_id);
  void Session(Call& call);
  void ClaimTask(Call& call);
  void RouteAgentTask(Call& call, const std::vector<std::string>& seg);
  void Metrics(Call& call);

  nlohmann::json RunBody(const RunRecord& run);

  ControlService& control_;
  Store& store_;
  Engine& engine_;
  AgentQueue& agents_;
  RunWatch& watch_;
  const Clock& clock_;
  ManualClock* manual_clock_;
  ApiOptions options_;
  const HttpServer* server_ = nullptr;
  StaticFiles ui_;
  TokenCache tokens_;
  WorkerPool scripts_{4};  // runs script invocations, which wait for http steps
};

}  // namespace sw
