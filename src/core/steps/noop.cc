// noop: its output is `with.value` (expressions rendered).
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class NoopStep final : public StepKind {
 public:
  std::string_view name() const override { return "noop"; }
  StepTraits traits() const override { return {.allowed_in_scripts = true, .pure = true}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    return CheckWithKeys(step, {"value"}, {});
  }
};

}  // namespace

const StepKind& NoopStepKind() {
  static const NoopStep kind;
  return kind;
}

}  // namespace sw
