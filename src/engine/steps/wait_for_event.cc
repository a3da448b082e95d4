// wait_for_event: takes an event that came early, else parks until one comes (or the
// wait's timeout fails the run).
#include "core/duration.h"
#include "engine/steps/step_executor.h"

namespace sw {
namespace {

class WaitForEventExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const nlohmann::json& with) const override {
    StepServices services = ctx->services();
    const std::string event_type =
        with["event_type"].is_string() ? with["event_type"].get<std::string>() : "";
    Result<std::optional<EventRecord>> early =
        services.store.FindBufferedEvent(ctx->run().id, event_type);
    if (early.ok() && early->has_value()) {
      ctx->Complete(nlohmann::json{{"payload", (*early)->payload}}, CommitPhase::kBeforeWork,
                    (*early)->id);
      return;
    }
    ParkRequest park;
    park.kind = WaitKind::kEvent;
    park.wait["event_type"] = event_type;
    if (with.contains("timeout") && with["timeout"].is_string()) {
      Result<std::chrono::milliseconds> d = ParseDuration(with["timeout"].get<std::string>());
      if (d.ok()) {
        park.until = services.clock.NowMs() + d->count();
        park.timer = {TimerKind::kEventTimeout, *park.until};
      }
    }
    ctx->Park(std::move(park));
  }
};

}  // namespace

const StepExecutor& WaitForEventStepExecutor() {
  static const WaitForEventExecutor executor;
  return executor;
}

}  // namespace sw
