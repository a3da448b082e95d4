// loop: runs its nested `steps` up to `with.max_iterations` times, until `with.until`
// holds; output {iterations, exhausted}. The cursor walks into it.
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class LoopStep final : public StepKind {
 public:
  std::string_view name() const override { return "loop"; }
  StepTraits traits() const override {
    return {.control = ControlFlow::kLoop, .allowed_in_scripts = true, .owns_steps_field = true};
  }
  Status Validate(StepDef& step, const nlohmann::json& item, int depth,
                  NestedStepParser& parser) const override {
    if (Status s = CheckWithKeys(step, {"max_iterations", "until"}, {"max_iterations"}); !s.ok()) {
      return s;
    }
    const nlohmann::json& max = step.with["max_iterations"];
    if (!max.is_number_integer() || max.get<int64_t>() < 1 ||
        max.get<int64_t>() > kMaxLoopIterations) {
      return DefinitionError("'with.max_iterations' must be an integer from 1 to " +
                                 std::to_string(kMaxLoopIterations),
                             step.id, "with.max_iterations");
    }
    step.max_iterations = max.get<int>();
    if (step.with.contains("until")) {
      if (Status s = CheckWithString(step, "until", false); !s.ok()) {
        return s;
      }
      step.until = step.with["until"].get<std::string>();
      if (Status s = ValidateCondition(step.until); !s.ok()) {
        return DefinitionError("invalid expression: " + s.message(), step.id, "with.until");
      }
    }
    auto body = item.find("steps");
    if (body == item.end()) {
      return DefinitionError("a loop needs 'steps'", step.id, "steps");
    }
    Result<std::vector<StepDef>> steps = parser.ParseNested(*body, step.id, "steps", depth);
    if (!steps.ok()) {
      return steps.status();
    }
    step.steps = std::move(steps).value();
    return Status::Ok();
  }
};

}  // namespace

const StepKind& LoopStepKind() {
  static const LoopStep kind;
  return kind;
}

}  // namespace sw
