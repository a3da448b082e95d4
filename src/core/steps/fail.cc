// fail: fails the run with `with.message` and `with.code`; never retried.
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class FailStep final : public StepKind {
 public:
  std::string_view name() const override { return "fail"; }
  StepTraits traits() const override { return {.allowed_in_scripts = true}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"message", "code"}, {}); !s.ok()) {
      return s;
    }
    if (Status s = CheckWithString(step, "message", false); !s.ok()) {
      return s;
    }
    return CheckWithString(step, "code", false);
  }
};

}  // namespace

const StepKind& FailStepKind() {
  static const FailStep kind;
  return kind;
}

}  // namespace sw
