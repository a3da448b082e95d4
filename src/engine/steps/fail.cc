// fail: fails the run with the step's message and code.
#include "engine/steps/step_executor.h"

namespace sw {
namespace {

class FailExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const nlohmann::json& with) const override {
    const std::string& id = ctx->step().id;
    nlohmann::json error = {{"message", with.value("message", "step '" + id + "' failed")},
                            {"step_id", id}};
    if (with.contains("code")) {
      error["code"] = with["code"];
    }
    ctx->FailRun(std::move(error));
  }
};

}  // namespace

const StepExecutor& FailStepExecutor() {
  static const FailExecutor executor;
  return executor;
}

}  // namespace sw
