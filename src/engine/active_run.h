// Engine-private: the in-memory state of a run being driven, and the StepContext the
// engine hands to step executors. Included by the engine's .cc files only.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/cursor.h"
#include "engine/engine.h"

namespace sw {

// Only the chain of tasks driving the run touches these fields (one at a time), except
// `token`, `cancelled` and `drive_again`, which are guarded by Engine::mu_.
struct Engine::ActiveRun {
  explicit ActiveRun(std::string run_id) : id(std::move(run_id)) {}
  std::string id;
  RunRecord run;  // without steps; `version` is the last committed version
  std::shared_ptr<const Definition> definition;
  std::unique_ptr<Cursor> cursor;
  std::vector<ControlEffect> pending_effects;     // control rows not committed yet
  std::map<std::string, int> attempts;            // path -> last attempt in the store
  std::map<std::string, int64_t> started;         // path -> started_at in the store
  std::map<std::string, nlohmann::json> details;  // path -> the step row's detail
  std::set<std::string> interrupted;              // paths in flight when the server stopped
  // Paths that waited on outside work when the run was read: their executor may take it
  // up again (Resume). Noted until the run leaves memory, so a step planned again after
  // a lost race does not start a second child run.
  std::set<std::string> resumable;
  std::set<std::string> timed_out;           // paths whose outside work outlived the step timeout
  bool dispatching = false;                  // still pending: the first commit also starts the run
  bool start_counted = false;                // the breaker counted this run's start
  std::shared_ptr<WorkflowBreaker> breaker;  // its workflow's
  int64_t charge = 0;        // the prices of attempts made since the last commit (micros)
  int charged_attempts = 0;  // how many priced attempts `charge` sums
  int retries = 0;
  std::shared_ptr<CancellationToken> token;  // guarded by Engine::mu_
  bool cancelled = false;                    // guarded by Engine::mu_
  bool drive_again = false;  // guarded by Engine::mu_: a Drive came while this one held it
  // A run StartNew plans before it exists in the store: its first commit is its create.
  struct PendingCreate {
    RunRecord run;
    std::optional<IdempotencyKey> key;
    StartDone done;
  };
  std::unique_ptr<PendingCreate> create;
};

// The context of one step of a driven run: every outcome becomes a commit.
class Engine::RunStepContext final : public StepContext {
 public:
  RunStepContext(Engine& engine, std::shared_ptr<ActiveRun> ar, const StepDef& step,
                 std::string path)
      : engine_(engine), ar_(std::move(ar)), step_(step), path_(std::move(path)) {}

  const StepDef& step() const override { return step_; }
  const std::string& path() const override { return path_; }
  const RunRecord& run() const override { return ar_->run; }
  int attempt() const override;
  int64_t attempt_started_at() const override;
  nlohmann::json& detail() override;
  StepServices services() override { return engine_.Services(&engine_); }

  void Complete(nlohmann::json output, CommitPhase phase,
                std::optional<int64_t> consume_event) override;
  void FailAttempt(nlohmann::json error, nlohmann::json output, CommitPhase phase,
                   int http_status) override;
  void FailRun(nlohmann::json error) override;
  void Park(ParkRequest park) override;
  void StartWork(std::function<void(std::shared_ptr<CancellationToken>)> work) override;
  void Finish(std::function<void()> then) override;
  void WorkStopped() override;
  void EndCancelled(nlohmann::json cancel) override;
  void HoldForReauth(const std::string& connection_id, nlohmann::json attempt_error,
                     CommitPhase phase) override;

 private:
  Engine& engine_;
  std::shared_ptr<ActiveRun> ar_;
  const StepDef& step_;  // owned by ar_->definition
  const std::string path_;
};

// Earlier attempts carry no more than their error, times and outside-work ids.
inline constexpr char kInterruptedMessage[] = "the server stopped during this attempt";

}  // namespace sw
