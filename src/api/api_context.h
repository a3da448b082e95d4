// What the API's handlers work with: the control layer's services (the API reaches
// nothing below control), the API's options, and the HTTP server whose latency
// /metrics reports.
//
// Thread-safe: the services are; the options are read-only; the server is set once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "api/http_server.h"
#include "control/access.h"
#include "control/agent_tasks.h"
#include "control/bulk_operations.h"
#include "control/connections.h"
#include "control/definitions.h"
#include "control/fake_clock.h"
#include "control/human_tasks.h"
#include "control/instances.h"
#include "control/metrics.h"
#include "control/notifications.h"
#include "control/run_watch.h"
#include "control/schedules.h"
#include "control/script_invoker.h"
#include "control/service.h"

namespace sw {

class WorkerPool;

struct ApiOptions {
  size_t max_body_bytes = 1 << 20;
  int max_json_depth = 64;
  int64_t max_wait_ms = 60000;
  int64_t sse_keepalive_ms = 15000;
  std::string ui_dir;  // the web UI's build (web/dist); empty serves none
};

// Borrowed: each outlives the Api.
struct ApiServices {
  ControlService& control;
  AccessService& access;
  AgentTasks& agents;
  HumanTasks& tasks;
  DefinitionReader& definitions;
  ScriptInvoker& scripts;
  ServerMetrics& metrics;
  RunWatch& watch;
  NotificationService& notifications;
  Connections& connections;
  InstancesView& instances;
  Schedules& schedules;
  BulkOperations& bulk;
  FakeClockControl* fake_clock = nullptr;  // set only with --fake-clock (the testing route)
};

struct ApiContext : ApiServices {
  ApiOptions options;
  std::atomic<const HttpServer*> server{nullptr};
  WorkerPool* waiting = nullptr;  // the Api's threads that may wait (RunMayWait); set once
};

// Posts `work` to the API's pool of threads that may wait (RunMayWait).
void PostToWaitingPool(ApiContext& api, std::function<void()> work);

// Runs `work`, which may wait for a commit: at once on this thread while the store's
// writer is idle (an idle store commits in place, in about one fsync), else on the API's
// pool, so that an HTTP I/O thread never waits behind the writer's batches. `work` is
// copied to the heap only for the pool.
template <typename Work>
void RunMayWait(ApiContext& api, Work&& work) {
  if (!api.control.WriterBusy()) {
    work();
    return;
  }
  PostToWaitingPool(api, std::forward<Work>(work));
}

}  // namespace sw
