// sleep and sleep_until: park on a wake timer (or complete at once when it is due).
#include "core/duration.h"
#include "core/time_format.h"
#include "engine/steps/step_executor.h"

namespace sw {
namespace {

// Parks until `due` (ms since the epoch), or completes when it is not in the future.
void SleepUntil(const std::shared_ptr<StepContext>& ctx, Result<int64_t> due) {
  if (!due.ok()) {
    ctx->FailRun(StepError(due.status().message(), "invalid_request", ctx->step().id));
    return;
  }
  if (*due <= ctx->services().clock.NowMs()) {
    ctx->Complete(nullptr, CommitPhase::kBeforeWork);
    return;
  }
  ParkRequest park;
  park.kind = WaitKind::kTimer;
  park.until = *due;
  park.timer = {TimerKind::kWake, *due};
  ctx->Park(std::move(park));
}

class SleepExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const nlohmann::json& with) const override {
    Result<std::chrono::milliseconds> d =
        with["duration"].is_string()
            ? ParseDuration(with["duration"].get<std::string>())
            : Result<std::chrono::milliseconds>(InvalidArgument("not a duration string"));
    SleepUntil(ctx, d.ok() ? Result<int64_t>(ctx->services().clock.NowMs() + d->count())
                           : Result<int64_t>(d.status()));
  }
};

class SleepUntilExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const nlohmann::json& with) const override {
    SleepUntil(ctx, with["at"].is_string() ? ParseTime(with["at"].get<std::string>())
                                           : Result<int64_t>(InvalidArgument("not a time string")));
  }
};

}  // namespace

const StepExecutor& SleepStepExecutor() {
  static const SleepExecutor executor;
  return executor;
}

const StepExecutor& SleepUntilStepExecutor() {
  static const SleepUntilExecutor executor;
  return executor;
}

}  // namespace sw
