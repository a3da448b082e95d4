// shell: runs `with.argv` (never through a shell), contained by the ProcessRunner; a
// non-zero exit fails the attempt, a cancel kills everything the attempt started.
#include <cstdlib>

#include "engine/steps/step_executor.h"

namespace sw {
namespace {

using nlohmann::json;

std::shared_ptr<ProcessSpec> MakeSpec(const StepDef& step, const json& with,
                                      const EngineOptions& options) {
  auto spec = std::make_shared<ProcessSpec>();
  for (const json& arg : with["argv"]) {
    spec->argv.push_back(arg.is_string() ? arg.get<std::string>() : arg.dump());
  }
  // The environment is an allowlist: PATH, then what the step names.
  const char* path_env = std::getenv("PATH");
  spec->env["PATH"] = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  if (with.contains("env") && with["env"].is_object()) {
    for (const auto& [name, value] : with["env"].items()) {
      spec->env[name] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  spec->cwd = with.value("cwd", "");
  spec->timeout_ms = step.timeout ? step.timeout->count() : options.default_shell_timeout_ms;
  spec->max_output_bytes = options.shell_output_bytes;
  spec->kill_grace_ms = options.shell_kill_grace_ms;
  return spec;
}

void OnExit(const std::shared_ptr<StepContext>& ctx, const Result<ProcessResult>& r) {
  const std::string& id = ctx->step().id;
  if (!r.ok() && r.status().code() == StatusCode::kCancelled) {
    ctx->WorkStopped();
    return;
  }
  if (!r.ok()) {
    ctx->FailAttempt(StepError(r.status().message(), r.status().reason(), id), nullptr,
                     CommitPhase::kResult);
    return;
  }
  json output = {{"exit_code", r->exit_code},
                 {"stdout", r->stdout_text},
                 {"stderr", r->stderr_text},
                 {"stdout_truncated", r->stdout_truncated},
                 {"stderr_truncated", r->stderr_truncated}};
  if (r->exit_code != 0) {
    const std::string message = r->signal != 0 ? "killed by signal " + std::to_string(r->signal)
                                               : "exited with code " + std::to_string(r->exit_code);
    ctx->FailAttempt(StepError(message, "exit_code", id), std::move(output), CommitPhase::kResult);
    return;
  }
  ctx->Complete(std::move(output), CommitPhase::kResult);
}

class ShellExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const json& with) const override {
    const EngineOptions& options = ctx->services().options;
    if (!options.allow_shell) {
      ctx->FailRun(StepError("shell steps run only on a server started with --allow-shell",
                             "shell_not_allowed", ctx->step().id));
      return;
    }
    std::shared_ptr<ProcessSpec> spec = MakeSpec(ctx->step(), with, options);
    ctx->StartWork([ctx, spec](std::shared_ptr<CancellationToken> token) {
      ctx->services().processes.Run(
          std::move(*spec), std::move(token), [ctx](Result<ProcessResult> r) {
            auto shared = std::make_shared<Result<ProcessResult>>(std::move(r));
            ctx->Finish([ctx, shared] { OnExit(ctx, *shared); });
          });
    });
  }
};

}  // namespace

const StepExecutor& ShellStepExecutor() {
  static const ShellExecutor executor;
  return executor;
}

}  // namespace sw
