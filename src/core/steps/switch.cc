// switch: runs the steps of the first case whose `when` holds, else `default`; output
// the chosen branch's last output (null when no branch ran). The cursor walks into it.
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class SwitchStep final : public StepKind {
 public:
  std::string_view name() const override { return "switch"; }
  StepTraits traits() const override {
    return {.control = ControlFlow::kSwitch, .allowed_in_scripts = true};
  }
  Status Validate(StepDef& step, const nlohmann::json&, int depth,
                  NestedStepParser& parser) const override {
    // `with` holds conditions and nested steps, each validated below with the field (and
    // the nested step) at fault; no blanket template check.
    if (Status s = CheckWithKeys(step, {"cases", "default"}, {"cases"}, /*templates=*/false);
        !s.ok()) {
      return s;
    }
    const nlohmann::json& cases = step.with["cases"];
    if (!cases.is_array() || cases.empty()) {
      return DefinitionError("'with.cases' must be a non-empty list", step.id, "with.cases");
    }
    for (size_t i = 0; i < cases.size(); ++i) {
      Result<SwitchCase> c =
          ParseCase(step, cases[i], "with.cases[" + std::to_string(i) + "]", depth, parser);
      if (!c.ok()) {
        return c.status();
      }
      step.cases.push_back(std::move(c).value());
    }
    if (step.with.contains("default")) {
      Result<std::vector<StepDef>> steps =
          parser.ParseNested(step.with["default"], step.id, "with.default", depth);
      if (!steps.ok()) {
        return steps.status();
      }
      step.default_steps = std::move(steps).value();
    }
    // Nested steps live in `cases`/`default_steps`; keep `with` small for templating.
    step.with = nlohmann::json::object();
    return Status::Ok();
  }

 private:
  static Result<SwitchCase> ParseCase(const StepDef& step, const nlohmann::json& c,
                                      const std::string& field, int depth,
                                      NestedStepParser& parser) {
    if (!c.is_object() || !c.contains("when") || !c["when"].is_string() || !c.contains("steps")) {
      return DefinitionError("each case needs 'when' (a string) and 'steps'", step.id, field);
    }
    for (const auto& [key, value] : c.items()) {
      if (key != "when" && key != "steps") {
        return DefinitionError("unknown field '" + key + "'", step.id, field + "." + key);
      }
    }
    SwitchCase sc;
    sc.when = c["when"].get<std::string>();
    if (Status s = ValidateCondition(sc.when); !s.ok()) {
      return DefinitionError("invalid expression: " + s.message(), step.id, field + ".when");
    }
    Result<std::vector<StepDef>> steps =
        parser.ParseNested(c["steps"], step.id, field + ".steps", depth);
    if (!steps.ok()) {
      return steps.status();
    }
    sc.steps = std::move(steps).value();
    return sc;
  }
};

}  // namespace

const StepKind& SwitchStepKind() {
  static const SwitchStep kind;
  return kind;
}

}  // namespace sw
