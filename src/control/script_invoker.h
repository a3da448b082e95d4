// ScriptInvoker runs `kind: script` invocations (ControlService::Invoke) on threads of
// its own. A script waits for its http steps, up to their timeouts: on an HTTP I/O
// thread that wait would hold every connection dealt to the thread.
//
// Thread-safe. Owns kThreads threads. Stop (also run by the destructor) waits for the
// invocations in progress and drops the rest, whose `done` never runs: stop it before
// the HTTP client and the store go, after the HTTP server stopped taking requests.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "control/service.h"
#include "core/result.h"
#include "engine/worker_pool.h"

namespace sw {

class ScriptInvoker {
 public:
  static constexpr int kThreads = 4;

  explicit ScriptInvoker(ControlService& control) : control_(control) {}

  // `done` runs on one of the invoker's threads with what ControlService::Invoke answers.
  using Done = std::function<void(Result<nlohmann::json>)>;
  void Invoke(const RequestContext& ctx, const std::string& workflow_id, nlohmann::json input,
              Done done);
  // Other work that waits on something outside (a token endpoint) and so must not run
  // on an HTTP I/O thread either.
  void RunBlocking(std::function<void()> task) { pool_.Post(std::move(task)); }
  void Stop() { pool_.Stop(); }

 private:
  ControlService& control_;
  WorkerPool pool_{kThreads, "sw-script"};
};

}  // namespace sw
