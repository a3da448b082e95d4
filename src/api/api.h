// Api answers HTTP requests from the control layer. Its route table (api.cc) maps a
// method and a path to a handler (routes.h) and says which role each needs; Api finds
// the route, authenticates (a bearer token, or the web UI's session cookie), checks
// the role, and answers 404 for a path no route has and 405 for a path routed only for
// other methods. Paths outside /api/ that no route has are the web UI's build.
// It holds no rules of its own: decisions are the control layer's and core's.
//
// Thread-safe; Handle runs on the HTTP server's threads. Borrows the services, which
// outlive it.
#pragma once

#include <memory>
#include <vector>

#include "api/api_context.h"
#include "api/call.h"
#include "api/http_server.h"
#include "api/http_types.h"
#include "api/router.h"
#include "api/static_files.h"
#include "engine/worker_pool.h"

namespace sw {

// The route table: the contract's endpoints (../shared/API.md) and those docs/api.md
// adds, each with the least role it needs (nullopt: public, no token is read). The
// testing clock's route only with `fake_clock`.
std::vector<Route> ApiRoutes(bool fake_clock);

class Api {
 public:
  Api(ApiServices services, ApiOptions options);

  void Handle(std::shared_ptr<Exchange> ex);
  // Where /metrics reads the HTTP latency from; set once the server exists.
  void SetServer(const HttpServer* server) { api_.server.store(server); }
  // Waits for the handlers running on the pool and drops those not started: after the
  // HTTP server stopped, before the services go.
  void Stop() { waiting_.Stop(); }

  // Handlers that wait for a commit at once, at most (a burst of them overlaps in one
  // group commit, as when each had an I/O thread of its own).
  static constexpr int kWaitingThreads = 32;

 private:
  void Dispatch(Call& call);
  // Runs the route's handler where Route::answers_without_waiting says; takes `call`
  // over.
  void Run(const Route& route, Call& call);
  // Sets the caller's principal; false when it answered 401 or 403.
  bool Authenticate(Call& call);
  void ServeUi(Call& call);

  ApiContext api_;
  Router router_;
  StaticFiles ui_;
  WorkerPool waiting_{kWaitingThreads, "sw-api"};
};

}  // namespace sw
