// StepExecutor is how a step of one kind executes; StepContext is what it may do with
// the run it executes in. The engine drives durable runs through a StepContext that
// commits every outcome; scripts (kind: script) run on the same executors through a
// synchronous context with no run record (control/script_runner.h). The pure half of
// a step kind, its traits and validation, is its StepKind in core/steps/.
//
// An executor is a stateless singleton (thread-safe). It ends every call by exactly
// one outcome on the context: Complete, FailAttempt, FailRun, Park, HoldForReauth,
// StartWork (whose work later ends with one of the first three, HoldForReauth or
// WorkStopped), or EndCancelled.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/definition.h"
#include "core/lifecycle.h"
#include "engine/cancellation.h"
#include "engine/clock.h"
#include "engine/connection_tokens.h"
#include "engine/engine_options.h"
#include "engine/http_client.h"
#include "engine/id_source.h"
#include "engine/process_runner.h"
#include "store/store.h"

namespace sw {

// What the engine does for executors beyond one step's outcome. Scripts have no runs:
// their context has none of it (a script's kinds never ask).
class RunSpawner {
 public:
  virtual ~RunSpawner() = default;
  // `run` was just committed (pending): drive it.
  virtual void DriveNew(const RunRecord& run) = 0;
  // Cancels `run_id` and its active descendants (deepest first), as asked by `by_run`.
  virtual void CancelRunTree(const std::string& run_id, const std::string& by_run,
                             const std::string& reason) = 0;
  // An agent task was queued in (workspace, queue): long-polling agents may claim it.
  virtual void TaskQueued(const std::string& workspace_id, const std::string& queue) = 0;
};

// The outside world an executor reaches.
struct StepServices {
  Store& store;
  const Clock& clock;
  HttpClient& http;
  ProcessRunner& processes;
  IdSource& ids;
  const EngineOptions& options;
  ConnectionTokens& connections;
  RunSpawner* spawner;  // null in scripts
};

// How a step parks its run (status waiting).
struct ParkRequest {
  WaitKind kind = WaitKind::kTimer;
  nlohmann::json wait = nlohmann::json::object();  // fields beside kind, step_id, path, until
  std::optional<int64_t> until;  // when the wait ends by itself (wait.until); else null
  // A timer committed with the park and then held by the timer service. Its run_id and
  // path are filled in.
  std::optional<std::pair<TimerKind, int64_t>> timer;
  // The step's timeout bounds the outside work (a child run, an agent task): a
  // step_timeout timer at the attempt's start + timeout (and wait.until).
  bool bounded_by_step_timeout = false;
  RunTransition with;           // further changes committed with the park
  std::function<void()> after;  // runs after the commit
};

// The failure of an attempt: {message, code, step_id}.
nlohmann::json StepError(const std::string& message, const std::string& code,
                         const std::string& step_id);

class StepContext {
 public:
  virtual ~StepContext() = default;

  virtual const StepDef& step() const = 0;
  virtual const std::string& path() const = 0;
  // The run, without steps (scripts: only workspace_id and workflow_id are set).
  virtual const RunRecord& run() const = 0;
  virtual int attempt() const = 0;
  virtual int64_t attempt_started_at() const = 0;
  // The step row's detail (an object): ids of the attempt's outside work.
  virtual nlohmann::json& detail() = 0;
  virtual StepServices services() = 0;

  // The step completed with `output`. `consume_event`: the buffered event it took.
  virtual void Complete(nlohmann::json output, CommitPhase phase,
                        std::optional<int64_t> consume_event = std::nullopt) = 0;
  // The attempt failed: another one after the back-off when the retry policy allows
  // (`http_status` for http_error codes), else the run fails.
  virtual void FailAttempt(nlohmann::json error, nlohmann::json output, CommitPhase phase,
                           int http_status = 0) = 0;
  // The step cannot run (bad input, refused): the run fails, no retry.
  virtual void FailRun(nlohmann::json error) = 0;
  virtual void Park(ParkRequest park) = 0;
  // Commits that the attempt started, then runs `work` with the attempt's token. The
  // work ends through Finish.
  virtual void StartWork(std::function<void(std::shared_ptr<CancellationToken>)> work) = 0;
  // Called by the work when it is done (on any thread): `then` runs off that thread,
  // once the attempt's token is let go, and ends with one outcome.
  virtual void Finish(std::function<void()> then) = 0;
  // The work was stopped by its token (a cancel or shutdown): nothing to record.
  virtual void WorkStopped() = 0;
  // The run itself is cancelled (its parent ended while the step waited on a child).
  virtual void EndCancelled(nlohmann::json cancel) = 0;
  // The step's connection needs reauthorization: the run is held before the step's
  // call (paused for reauth; waiting for it in agent mode), and the step runs when the
  // run goes on. `attempt_error`: the error of an attempt that met it after its call
  // (recorded in the step's attempts), or null when no attempt was made.
  virtual void HoldForReauth(const std::string& connection_id, nlohmann::json attempt_error,
                             CommitPhase phase) = 0;
};

class StepExecutor {
 public:
  virtual ~StepExecutor() = default;
  // Starts an attempt with the step's `with`, rendered.
  virtual void Start(const std::shared_ptr<StepContext>& ctx, const nlohmann::json& with) const = 0;
  // The run was driven again while the step waits on outside work started by an earlier
  // attempt (detail() names it): take its result or wait again. False: there is none,
  // start a fresh attempt.
  virtual bool Resume(const std::shared_ptr<StepContext>& /*ctx*/) const { return false; }
  // The attempt's outside work outlived the step's timeout: stop it (the engine then
  // fails the attempt).
  virtual void StopWork(StepContext& /*ctx*/) const {}
};

// The executor of a step kind (engine/steps/registry.cc); null for control kinds.
const StepExecutor* FindStepExecutor(std::string_view kind);

}  // namespace sw
