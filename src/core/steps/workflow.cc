// workflow: starts a child run of `with.workflow` with `with.input` and waits for it;
// output the child's output.
#include "core/ids.h"
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class WorkflowStep final : public StepKind {
 public:
  std::string_view name() const override { return "workflow"; }
  StepTraits traits() const override { return {.starts_child_runs = true}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"workflow", "input"}, {"workflow"}); !s.ok()) {
      return s;
    }
    const nlohmann::json& wf = step.with["workflow"];
    if (!wf.is_string() || !IsValidSlug(wf.get<std::string>())) {
      return DefinitionError("'with.workflow' must be a workflow id", step.id, "with.workflow");
    }
    return Status::Ok();
  }
  Status CheckInWorkflow(const StepDef& step, std::string_view workflow_id) const override {
    if (step.with["workflow"] == workflow_id) {
      return DefinitionError("a workflow cannot start a run of itself", step.id, "with.workflow");
    }
    return Status::Ok();
  }
};

}  // namespace

const StepKind& WorkflowStepKind() {
  static const WorkflowStep kind;
  return kind;
}

}  // namespace sw
