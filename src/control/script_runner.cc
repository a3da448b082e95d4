#include "control/script_runner.h"

#include <future>

#include "core/cursor.h"
#include "core/expression.h"

namespace sw {

using nlohmann::json;

namespace {

// The outcome of one script step: its output, or the error that ends the script.
struct ScriptOutcome {
  bool ok = false;
  json value;
};

// A step's context in a script: the first outcome is kept, nothing is committed.
class ScriptStepContext final : public StepContext {
 public:
  ScriptStepContext(const StepDef& step, std::string path, const RunRecord& run,
                    StepServices services)
      : step_(step), path_(std::move(path)), run_(run), services_(services) {}

  ScriptOutcome Wait() { return outcome_.get_future().get(); }

  const StepDef& step() const override { return step_; }
  const std::string& path() const override { return path_; }
  const RunRecord& run() const override { return run_; }
  int attempt() const override { return 1; }
  int64_t attempt_started_at() const override { return 0; }
  json& detail() override { return detail_; }
  StepServices services() override { return services_; }

  void Complete(json output, CommitPhase, std::optional<int64_t>) override {
    outcome_.set_value({true, std::move(output)});
  }
  void FailAttempt(json error, json, CommitPhase, int) override { Fail(std::move(error)); }
  void FailRun(json error) override { Fail(std::move(error)); }
  void Park(ParkRequest) override {
    // Validation refuses kinds that park in scripts; a stored definition is validated.
    Fail(StepError("a script cannot wait", "internal", step_.id));
  }
  void StartWork(std::function<void(std::shared_ptr<CancellationToken>)> work) override {
    work(std::make_shared<CancellationToken>());
  }
  void Finish(std::function<void()> then) override { then(); }
  void WorkStopped() override { Fail(StepError("the step was stopped", "cancelled", step_.id)); }
  void EndCancelled(json) override { WorkStopped(); }
  void HoldForReauth(const std::string&, json, CommitPhase) override {
    // A script has no run to hold: it fails with the reason.
    Fail(StepError(kNeedsReauthMessage, kNeedsReauthCode, step_.id));
  }

 private:
  void Fail(json error) { outcome_.set_value({false, std::move(error)}); }

  const StepDef& step_;
  const std::string path_;
  const RunRecord& run_;
  StepServices services_;
  json detail_ = json::object();
  std::promise<ScriptOutcome> outcome_;
};

json Failed(json error) { return json{{"output", nullptr}, {"error", std::move(error)}}; }

}  // namespace

json RunScript(const Definition& def, const json& input, const std::string& workspace_id,
               StepServices services) {
  auto shared = std::shared_ptr<const Definition>(std::shared_ptr<const Definition>{}, &def);
  Cursor cursor(shared, input, json{{"workflow_id", def.id}});
  RunRecord run;
  run.workspace_id = workspace_id;
  run.workflow_id = def.id;
  // Every leaf runs at most once per iteration and loops are bounded, so this ends.
  while (true) {
    CursorAction action = cursor.Next();
    if (action.kind == CursorAction::Kind::kComplete) {
      return json{{"output", action.output}};
    }
    if (action.kind == CursorAction::Kind::kFail) {
      return Failed({{"message", action.error.message()}, {"code", "expression_error"}});
    }
    const StepDef& step = *action.step;
    Result<json> with = RenderTemplate(step.with, cursor.scope());
    if (!with.ok()) {
      return Failed(StepError(with.status().message(), "expression_error", step.id));
    }
    const StepExecutor* executor = FindStepExecutor(step.type());
    SW_CHECK(executor != nullptr);
    auto ctx = std::make_shared<ScriptStepContext>(step, action.path, run, services);
    executor->Start(ctx, *with);
    ScriptOutcome outcome = ctx->Wait();
    if (!outcome.ok) {
      return Failed(std::move(outcome.value));
    }
    cursor.Complete(std::move(outcome.value));
  }
}

}  // namespace sw
