// noop: completes with `with.value`.
#include "engine/steps/step_executor.h"

namespace sw {
namespace {

class NoopExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const nlohmann::json& with) const override {
    ctx->Complete(with.value("value", nlohmann::json()), CommitPhase::kBeforeWork);
  }
};

}  // namespace

const StepExecutor& NoopStepExecutor() {
  static const NoopExecutor executor;
  return executor;
}

}  // namespace sw
